"""The DICOM service process (pynetdicom) over the RIS domain.

It imports ``ris``; nothing in ``ris`` imports it.
"""
