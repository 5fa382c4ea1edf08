"""Worklist clients light enough to run fifty on the same machine as the service.

A pynetdicom client is two threads that poll with 1 ms sleeps; fifty of them
on the service's two cores measure mostly themselves. These clients are
coroutines on one asyncio loop, speaking the few PDUs a worklist query needs
(PS3.8 9.3: A-ASSOCIATE-RQ, P-DATA-TF, A-RELEASE-RQ) and reading only the
status of each response (PS3.7 9.3.2.2). For benchmarks only: they check
nothing the service does not have to get right for them to finish.
"""

import asyncio
import struct
import time

from pydicom import Dataset
from pynetdicom.dsutils import encode

APPLICATION_CONTEXT = b"1.2.840.10008.3.1.1.1"
IMPLICIT_VR_LITTLE_ENDIAN = b"1.2.840.10008.1.2"
MWL_FIND = "1.2.840.10008.5.1.4.31"
IMPLEMENTATION_CLASS_UID = b"1.2.826.0.1.3680043.10.1234.1"
CONTEXT_ID = 1
PENDING = (0xFF00, 0xFF01)


def _item(kind: int, value: bytes) -> bytes:
    return struct.pack(">BxH", kind, len(value)) + value


def associate_request(called: str, calling: str) -> bytes:
    """A-ASSOCIATE-RQ for the worklist in Implicit VR Little Endian (PS3.8 9.3.2)."""
    context = struct.pack(">B3x", CONTEXT_ID)
    context += _item(0x30, MWL_FIND.encode()) + _item(0x40, IMPLICIT_VR_LITTLE_ENDIAN)
    user = _item(0x51, struct.pack(">L", 0)) + _item(0x52, IMPLEMENTATION_CLASS_UID)
    body = struct.pack(">H2x16s16s32x", 1, called.ljust(16).encode(), calling.ljust(16).encode())
    body += _item(0x10, APPLICATION_CONTEXT) + _item(0x20, context) + _item(0x50, user)
    return struct.pack(">BxL", 0x01, len(body)) + body


def _element(group: int, element: int, value: bytes) -> bytes:
    return struct.pack("<HHL", group, element, len(value)) + value


def find_request(message_id: int, identifier: Dataset) -> bytes:
    """One P-DATA-TF with a C-FIND-RQ command set and its identifier (PS3.7 9.3.2.1)."""
    uid = MWL_FIND.encode() + b"\0" * (len(MWL_FIND) % 2)
    elements = (
        _element(0, 0x0002, uid)
        + _element(0, 0x0100, struct.pack("<H", 0x0020))
        + _element(0, 0x0110, struct.pack("<H", message_id))
        + _element(0, 0x0700, struct.pack("<H", 0))
        + _element(0, 0x0800, struct.pack("<H", 0x0001))
    )
    command = _element(0, 0x0000, struct.pack("<L", len(elements))) + elements
    data = encode(identifier, True, True)
    pdvs = b"".join(
        struct.pack(">LBB", len(part) + 2, CONTEXT_ID, header) + part
        for header, part in ((0x03, command), (0x02, data))
    )
    return struct.pack(">BxL", 0x04, len(pdvs)) + pdvs


RELEASE_REQUEST = struct.pack(">BxLL", 0x05, 4, 0)


def command_status(command: bytes) -> int | None:
    """Status (0000,0900) of an Implicit VR Little Endian command set."""
    offset = 0
    while offset + 8 <= len(command):
        group, element, length = struct.unpack_from("<HHL", command, offset)
        if (group, element) == (0, 0x0900):
            return struct.unpack_from("<H", command, offset + 8)[0]
        offset += 8 + length
    return None


class Association:
    """One association on the event loop: queries one after another."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.message_id = reader, writer, 0

    @classmethod
    async def open(cls, host: str, port: int, called: str, calling: str) -> "Association":
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(associate_request(called, calling))
        kind, _ = await cls._read_pdu(reader)
        if kind != 0x02:
            writer.close()
            raise ConnectionRefusedError(f"association not accepted (PDU type {kind:#x})")
        return cls(reader, writer)

    async def find(self, identifier: Dataset) -> tuple[float, int, int]:
        """Seconds, matches and the final status of one C-FIND."""
        self.message_id += 1
        began = time.perf_counter()
        self.writer.write(find_request(self.message_id, identifier))
        matches, command = 0, b""
        while True:
            kind, body = await self._read_pdu(self.reader)
            if kind != 0x04:
                raise ConnectionError(f"PDU type {kind:#x} in the middle of a C-FIND")
            offset = 0
            while offset < len(body):
                length, _, header = struct.unpack_from(">LBB", body, offset)
                fragment = body[offset + 6 : offset + 4 + length]
                offset += 4 + length
                if not header & 0x01:
                    continue  # a data set fragment: only statuses are read here
                command += fragment
                if header & 0x02:
                    status, command = command_status(command), b""
                    if status in PENDING:
                        matches += 1
                    else:
                        return time.perf_counter() - began, matches, status

    async def release(self) -> None:
        self.writer.write(RELEASE_REQUEST)
        await self._read_pdu(self.reader)
        self.writer.close()
        await self.writer.wait_closed()

    @staticmethod
    async def _read_pdu(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        kind, length = struct.unpack(">BxL", await reader.readexactly(6))
        return kind, await reader.readexactly(length)
