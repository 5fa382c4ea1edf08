"""Pure DICOM helpers: value representations, person names, UIDs.

Nothing here writes to the database or opens a socket.
"""
