"""Clients for the tests: a pynetdicom SCU and DCMTK's findscu, on loopback."""

import shutil
import subprocess
from pathlib import Path

from pydicom import Dataset, dcmread
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind, Verification

RIS_AE_TITLE = "RIS"


def scu(calling_ae_title: str = "MODALITY") -> AE:
    ae = AE(ae_title=calling_ae_title)
    ae.add_requested_context(Verification)
    ae.add_requested_context(ModalityWorklistInformationFind)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


def associate(address, calling_ae_title="MODALITY", called_ae_title=RIS_AE_TITLE):
    host, port = address
    return scu(calling_ae_title).associate(host, port, ae_title=called_ae_title)


def mwl_find(address, identifier: Dataset, calling_ae_title="MODALITY"):
    """All responses of one worklist query on a new association: [(status, identifier)]."""
    assoc = associate(address, calling_ae_title)
    assert assoc.is_established, "association was not accepted"
    try:
        return [
            (int(status.Status), response, status)
            for status, response in assoc.send_c_find(identifier, ModalityWorklistInformationFind)
        ]
    finally:
        assoc.release()


def matches(responses) -> list[Dataset]:
    """The identifiers of the pending responses, after checking the query succeeded."""
    final_status = responses[-1][0]
    assert final_status == 0x0000, f"final status 0x{final_status:04X}"
    return [response for status, response, _ in responses if status in (0xFF00, 0xFF01)]


FINDSCU = shutil.which("findscu")


def findscu(address, keys: list[str], folder: Path, *extra: str) -> list[Dataset]:
    """DCMTK's findscu -W with the given -k keys; the responses it wrote to files."""
    host, port = address
    folder.mkdir(parents=True, exist_ok=True)
    command = [FINDSCU, "-W", "-aet", "MODALITY", "-aec", RIS_AE_TITLE, "-X", "-od", str(folder)]
    for key in keys:
        command += ["-k", key]
    result = subprocess.run(
        [*command, *extra, host, str(port)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [dcmread(path) for path in sorted(folder.glob("rsp*.dcm"))]
