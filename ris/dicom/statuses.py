"""The DIMSE statuses the RIS sends and reads (PS3.7 Annex C, PS3.4), by name.

One table for every door: the domain raises DicomError with these, the DICOM
handlers and the dispatcher read them. A test checks each against
pynetdicom's status tables.
"""

SUCCESS = 0x0000

# C-FIND (PS3.4 K.4.1.1.4, C.4.1.1.4)
PENDING = 0xFF00
PENDING_UNSUPPORTED_KEYS = 0xFF01
CANCEL = 0xFE00
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
# An implementation-chosen "unable to process" (0xCxxx) for a registered AE
# that is not allowed the worklist.
WORKLIST_NOT_AUTHORIZED = 0xC124
SOP_CLASS_NOT_SUPPORTED = 0x0122

# N-services (PS3.7 C.4, 10.1)
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
INVALID_SOP_INSTANCE = 0x0117
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
NOT_AUTHORIZED = 0x0124
DUPLICATE_INVOCATION = 0x0210
RESOURCE_LIMITATION = 0x0213

# Error ID (0000,0903) with PROCESSING_FAILURE: PS3.4 Table F.7.2-2, an MPPS
# that is COMPLETED or DISCONTINUED "may no longer be updated".
MPPS_MAY_NO_LONGER_BE_UPDATED = 0xA710
