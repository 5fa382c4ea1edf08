"""Command sets of DIMSE responses, packed as bytes (PS3.7 6.3.1, Annex E).

pynetdicom builds a response's command set as a pydicom data set and encodes
it twice (once to learn its group length). The responses the service sends
most are a few fixed elements that differ in a status or a message ID: a
C-FIND's pending responses (dimse.handlers.pending) and its final one, and a
C-ECHO's. They are packed here, always in Implicit VR Little Endian, as a
command set is (PS3.7 6.3.1).
"""

import struct

from pynetdicom.dimse_primitives import C_ECHO, C_FIND

# (0000,0100) Command Field of each response packed here (PS3.7 Tables 9.3-2, 9.3-13).
RESPONSE_COMMAND_FIELDS = {C_FIND: 0x8020, C_ECHO: 0x8030}
# (0000,0800) Command Data Set Type: "no data set" is 0101H, any other value one follows.
DATA_SET_PRESENT, NO_DATA_SET = 0x0001, 0x0101

# PDV message control headers (PS3.8 E.2): command or data, last fragment or not.
DATA, COMMAND, LAST = 0x00, 0x01, 0x02
PDV_HEADER = 6  # item length (4), presentation context ID (1), control header (1)


def response_command_set(
    command_field: int, sop_class_uid: str, message_id: int, status: int, data_set_type: int
) -> bytes:
    """A response's command set: Affected SOP Class UID, Command Field, Message
    ID Being Responded To, Command Data Set Type and Status, in that (tag) order."""
    uid = sop_class_uid.encode("ascii")
    uid += b"\0" * (len(uid) % 2)
    elements = (
        struct.pack("<HHL", 0x0000, 0x0002, len(uid))
        + uid
        + struct.pack("<HHLH", 0x0000, 0x0100, 2, command_field)
        + struct.pack("<HHLH", 0x0000, 0x0120, 2, message_id)
        + struct.pack("<HHLH", 0x0000, 0x0800, 2, data_set_type)
        + struct.pack("<HHLH", 0x0000, 0x0900, 2, status)
    )
    return struct.pack("<HHLL", 0x0000, 0x0000, 4, len(elements)) + elements


def packed_response(primitive) -> bytes | None:
    """The command set of a C-FIND or C-ECHO response with no data set and
    no error comment or offending element; None for anything else, which
    pynetdicom encodes."""
    command_field = RESPONSE_COMMAND_FIELDS.get(type(primitive))
    if (
        command_field is None
        or primitive.MessageIDBeingRespondedTo is None
        or primitive.AffectedSOPClassUID is None
        or primitive.Status is None
        or getattr(primitive, "Identifier", None) is not None
        or getattr(primitive, "OffendingElement", None) is not None
        or primitive.ErrorComment is not None
    ):
        return None
    return response_command_set(
        command_field,
        primitive.AffectedSOPClassUID,
        primitive.MessageIDBeingRespondedTo,
        primitive.Status,
        NO_DATA_SET,
    )
