"""C-FIND pending responses sent on a short path (PS3.7 9.3.2.2 and 6.3.1,
PS3.8 9.3.5).

pynetdicom sends each response by building its command set as a pydicom data
set and encoding it twice (once to learn the group length), then the
identifier, each in P-DATA-TF PDUs of their own: for a worklist answer that
was half of the DICOM service's CPU. The command set of a pending C-FIND
response is six elements that differ only in the status, so it is packed
once per query here, and a response goes out as one P-DATA-TF PDU with two
PDVs, command then identifier, when it fits the peer's maximum PDU length,
encoded here too (dimse.reactor.PackedData). The final response (success,
cancel, failure) still goes through pynetdicom.
"""

import struct

from pydicom import Dataset
from pynetdicom.dsutils import encode

from dimse.reactor import PackedData
from ris.dicom.statuses import PENDING, PENDING_UNSUPPORTED_KEYS
from ris.dicom.wire import EncodedDataset, WireEncoding

C_FIND_RSP = 0x8020
DATA_SET_PRESENT = 0x0001  # any value but 0x0101 (PS3.7 Table E.1-1)

# PDV message control headers (PS3.8 E.2): command or data, last fragment or not.
DATA, COMMAND, LAST = 0x00, 0x01, 0x02
PDV_HEADER = 6  # item length (4), presentation context ID (1), control header (1)


def command_set(sop_class_uid: str, message_id: int, status: int) -> bytes:
    """The command set of a C-FIND-RSP with a data set, in Implicit VR Little
    Endian (PS3.7 6.3.1, Table 9.3-2)."""
    uid = sop_class_uid.encode("ascii")
    uid += b"\0" * (len(uid) % 2)
    elements = (
        struct.pack("<HHL", 0x0000, 0x0002, len(uid))
        + uid
        + struct.pack("<HHLH", 0x0000, 0x0100, 2, C_FIND_RSP)
        + struct.pack("<HHLH", 0x0000, 0x0120, 2, message_id)
        + struct.pack("<HHLH", 0x0000, 0x0800, 2, DATA_SET_PRESENT)
        + struct.pack("<HHLH", 0x0000, 0x0900, 2, status)
    )
    return struct.pack("<HHLL", 0x0000, 0x0000, 4, len(elements)) + elements


class PendingResponses:
    """Sends the pending responses of one C-FIND request."""

    def __init__(self, event):
        self.dul = event.assoc.dul
        self.context_id = event.context.context_id
        self.encoding = WireEncoding.of(event.context.transfer_syntax)
        self.max_pdu = event.assoc.dimse.maximum_pdu_size
        request = event.request
        self.commands = {
            status: command_set(request.AffectedSOPClassUID, request.MessageID, status)
            for status in (PENDING, PENDING_UNSUPPORTED_KEYS)
        }

    def send(self, status: int, identifier: Dataset | EncodedDataset) -> None:
        """Queue one pending response (0xFF00 or 0xFF01) for the DUL to send, in order."""
        command = self.commands[status]
        if isinstance(identifier, EncodedDataset):
            if identifier.encoding != self.encoding:
                raise ValueError("The response was encoded for another transfer syntax")
            data = identifier.data
        else:
            encoding = self.encoding
            data = encode(
                identifier, encoding.implicit_vr, encoding.little_endian, encoding.deflated
            )
        if not data:
            raise ValueError("The response identifier could not be encoded")
        for pdvs in self._pdus(command, data):
            self.dul.send_pdu(PackedData.of(pdvs))

    def _pdus(self, command: bytes, data: bytes):
        """The PDVs of each P-DATA-TF PDU: both in one when they fit, else each
        message part in fragments of at most the peer's maximum length."""
        if not self.max_pdu or 2 * PDV_HEADER + len(command) + len(data) <= self.max_pdu:
            yield [
                [self.context_id, bytes([COMMAND | LAST]) + command],
                [self.context_id, bytes([DATA | LAST]) + data],
            ]
            return
        for kind, part in ((COMMAND, command), (DATA, data)):
            size = self.max_pdu - PDV_HEADER
            fragments = [part[offset : offset + size] for offset in range(0, len(part), size)]
            for number, fragment in enumerate(fragments, start=1):
                header = kind | (LAST if number == len(fragments) else 0)
                yield [[self.context_id, bytes([header]) + fragment]]
