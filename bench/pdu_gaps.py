"""How long a DICOM server takes to answer each kind of PDU, as the wire sees it.

Reads a capture of loopback traffic (`tcpdump -i lo -w F 'tcp port PORT'`,
while clients talk to the server on PORT) and, for each connection, times
each gap from the client's last segment before the server speaks to the
server's first segment after it, labelled by the PDU the client sent: the
server's own time for the exchange, without the client's process start.
Prints the median and 90th percentile of each kind.

    tcpdump -i lo -nn -w /tmp/ris.pcap 'tcp port 11112' &
    ... run findscu / echoscu against port 11112 ...
    .venv/bin/python bench/pdu_gaps.py /tmp/ris.pcap 11112

Needs tcpdump (to read the capture). A client that writes a PDU in pieces
(DCMTK: header, then body) is timed from the last piece.
"""

import argparse
import re
import statistics
import subprocess
from collections import defaultdict

PDU_NAMES = {
    0x01: "A-ASSOCIATE-RQ -> AC/RJ",
    0x04: "P-DATA-TF -> response",
    0x05: "A-RELEASE-RQ -> RP",
}
HEADER = re.compile(r"(\d+\.\d+) IP (\S+) > (\S+): .*length (\d+)")


def segments(capture: str, port: int):
    """(time, client?, connection, payload) of each segment that carries data."""
    dump = subprocess.run(
        ["tcpdump", "-r", capture, "-nn", "-tt", "-x", f"tcp port {port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    packet = None
    for line in [*dump.splitlines(), ""]:
        if line.startswith("\t") and packet is not None:
            packet[-1] += "".join(line.split(":", 1)[1].split())
            continue
        if packet is not None and packet[3] > 0:
            yield _segment(packet, port)
        match = HEADER.match(line)
        packet = [float(match[1]), match[2], match[3], int(match[4]), ""] if match else None


def _segment(packet, port: int):
    seconds, source, destination, _, hex_bytes = packet
    data = bytes.fromhex(hex_bytes)
    ip_header = (data[0] & 0x0F) * 4
    tcp_header = (data[ip_header + 12] >> 4) * 4
    from_client = destination.endswith(f".{port}")
    connection = source if from_client else destination
    return seconds, from_client, connection, data[ip_header + tcp_header :]


def gaps(capture: str, port: int) -> dict[str, list[float]]:
    """Milliseconds from the client's PDU to the server's answer, by the PDU's kind."""
    by_kind, last = defaultdict(list), {}
    for seconds, from_client, connection, payload in segments(capture, port):
        previous = last.get(connection)
        if from_client:
            # The first segment of a PDU carries its type; later pieces keep it.
            starts_pdu = previous is None or not previous[1] or previous[3]
            kind = payload[0] if starts_pdu and payload[:1] else previous[2]
            complete = len(payload) >= 6 and len(payload) == 6 + int.from_bytes(payload[2:6])
            last[connection] = (seconds, True, kind, complete or not starts_pdu)
        elif previous is not None and previous[1]:
            by_kind[PDU_NAMES.get(previous[2], f"PDU type {previous[2]:#04x}")].append(
                (seconds - previous[0]) * 1000
            )
            last[connection] = (seconds, False, None, True)
    return by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("capture")
    parser.add_argument("port", type=int)
    args = parser.parse_args()
    for kind, milliseconds in sorted(gaps(args.capture, args.port).items()):
        ordered = sorted(milliseconds)
        print(
            f"{kind:28s} n={len(ordered):5d}  median {statistics.median(ordered):.3f} ms  "
            f"p90 {ordered[int(len(ordered) * 0.9)]:.3f} ms"
        )


if __name__ == "__main__":
    main()
