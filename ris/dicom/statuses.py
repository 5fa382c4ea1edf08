"""The DIMSE statuses the RIS sends and reads (PS3.7 Annex C, PS3.4), by name.

One table for every door: the domain raises DicomError with these, the DICOM
handlers and the dispatcher read them. A test checks each against
pynetdicom's status tables.
"""

SUCCESS = 0x0000
OPTIONAL_ATTRIBUTES_NOT_SUPPORTED = 0x0001  # warning: N-GET, N-SET (PS3.7 C.4.2)

# C-FIND (PS3.4 K.4.1.1.4, C.4.1.1.4)
PENDING = 0xFF00
PENDING_UNSUPPORTED_KEYS = 0xFF01
CANCEL = 0xFE00
IDENTIFIER_DOES_NOT_MATCH = 0xA900
OUT_OF_RESOURCES = 0xA700  # Refused: also what the RIS answers while its database is away
UNABLE_TO_PROCESS = 0xC000
# An implementation-chosen "unable to process" (0xCxxx) for a registered AE
# that may not query the worklist (MWL or UPS) it asks.
FIND_NOT_AUTHORIZED = 0xC124
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
RESOURCE_LIMITATION = 0x0213  # also what the RIS answers while its database is away

# Error ID (0000,0903) with PROCESSING_FAILURE: PS3.4 Table F.7.2-2, an MPPS
# that is COMPLETED or DISCONTINUED "may no longer be updated".
MPPS_MAY_NO_LONGER_BE_UPDATED = 0xA710

# Unified Procedure Step (PS3.4 CC.2)
UPS_ALREADY_CANCELED = 0xB304  # warning: already in the requested state CANCELED
UPS_ALREADY_COMPLETED = 0xB306  # warning: already in the requested state COMPLETED
UPS_MAY_NO_LONGER_BE_UPDATED = 0xC300
UPS_WRONG_TRANSACTION_UID = 0xC301
UPS_ALREADY_IN_PROGRESS = 0xC302
UPS_MAY_ONLY_BECOME_SCHEDULED_BY_N_CREATE = 0xC303
UPS_FINAL_STATE_REQUIREMENTS_NOT_MET = 0xC304
UPS_NO_SUCH_INSTANCE = 0xC307
UPS_UNKNOWN_RECEIVING_AE = 0xC308
UPS_NOT_SCHEDULED = 0xC309
UPS_NOT_IN_PROGRESS = 0xC310
UPS_ALREADY_COMPLETED_CANNOT_CANCEL = 0xC311
UPS_PERFORMER_CANNOT_BE_CONTACTED = 0xC312
UPS_ACTION_NOT_APPROPRIATE = 0xC314
NO_SUCH_ACTION = 0x0123
INVALID_ARGUMENT_VALUE = 0x0115


def is_warning(status: int) -> bool:
    """PS3.7 C.1.3 and pynetdicom's categories: 0x0001, 0x0107, 0x0116 and 0xBxxx."""
    return status in (0x0001, 0x0107, 0x0116) or 0xB000 <= status <= 0xBFFF
