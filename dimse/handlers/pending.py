"""C-FIND pending responses sent on a short path (PS3.7 9.3.2.2 and 6.3.1,
PS3.8 9.3.5).

pynetdicom sends each response by building its command set as a pydicom data
set and encoding it twice (once to learn the group length), then the
identifier, each in P-DATA-TF PDUs of their own: for a worklist answer that
was half of the DICOM service's CPU. The command set of a pending C-FIND
response is six elements that differ only in the status, so it is packed
once per query here, and a response goes out as one P-DATA-TF PDU with two
PDVs, command then identifier, when it fits the peer's maximum PDU length,
encoded here too (dimse.reactor.PackedData). The final response goes
through pynetdicom's C-FIND service class, whose send the association's
DIMSE provider packs too (dimse.reactor.WaitingDIMSEProvider.send_msg).
"""

from pydicom import Dataset
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.dsutils import encode

from dimse.commands import (
    COMMAND,
    DATA,
    DATA_SET_PRESENT,
    LAST,
    PDV_HEADER,
    RESPONSE_COMMAND_FIELDS,
    response_command_set,
)
from dimse.reactor import REQUESTS_IN_SERVICE, PackedData
from ris.dicom.statuses import PENDING, PENDING_UNSUPPORTED_KEYS
from ris.dicom.wire import EncodedDataset, WireEncoding

# While the process serves one request, its pending responses go out after
# the first and then every STREAM_EVERY (PendingResponses).
STREAM_EVERY = 4


class PendingResponses:
    """Sends the pending responses of one C-FIND request.

    The association's DUL keeps them for one write (dimse.reactor.InlineDUL).
    While this is the only request the process is serving, what it kept is
    sent once the first response is made, and then every STREAM_EVERY: the
    modality works on the first responses (DCMTK's findscu writes each to a
    file, in about half the time the service takes to make one) while the
    rest are made, and has few left to work on after the last. Otherwise all
    go in one write at the end: with other requests waiting for the CPU,
    the extra writes and the peer's extra wake-ups cost throughput
    (docs/benchmarks.md).
    """

    def __init__(self, event):
        self.dul = event.assoc.dul
        self.context_id = event.context.context_id
        self.encoding = WireEncoding.of(event.context.transfer_syntax)
        self.max_pdu = event.assoc.dimse.maximum_pdu_size
        self.sent = 0
        request = event.request
        command_field = RESPONSE_COMMAND_FIELDS[C_FIND]
        self.commands = {
            status: response_command_set(
                command_field,
                request.AffectedSOPClassUID,
                request.MessageID,
                status,
                DATA_SET_PRESENT,
            )
            for status in (PENDING, PENDING_UNSUPPORTED_KEYS)
        }

    def send(self, status: int, identifier: Dataset | EncodedDataset) -> None:
        """Give one pending response (0xFF00 or 0xFF01) to the DUL to send, in order."""
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
        self.sent += 1
        if (self.sent == 1 or self.sent % STREAM_EVERY == 0) and REQUESTS_IN_SERVICE.value <= 1:
            self.dul.send_kept()

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
