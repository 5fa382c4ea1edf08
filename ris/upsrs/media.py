"""application/dicom+json (PS3.18 Annex F.2) for DRF: parser, renderer, negotiation.

The parser hands the view the JSON as it came; `dataset_from_json` turns it
into a pydicom Dataset (pydicom implements the DICOM JSON model: PN objects,
null values, InlineBinary). The renderer writes whatever JSON the view made,
so DRF's own errors (401, 403, 406, 415) come out as JSON too.
"""

import json
import re

from pydicom import Dataset
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

DICOM_JSON = "application/dicom+json"


class DicomJSONParser(BaseParser):
    """A request body in application/dicom+json (PS3.18 Table 11.1.3-1)."""

    media_type = DICOM_JSON

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        if not body.strip():
            return None
        try:
            text = body.decode("utf-8")
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError) as error:
            raise ParseError(f"The body is not JSON in UTF-8: {error}") from None
        if "\x00" in json.dumps(data, ensure_ascii=False):
            # No DICOM value holds NUL, and PostgreSQL cannot store one.
            raise ParseError("The body has a NUL character in a value.")
        return data


class DicomJSONRenderer(BaseRenderer):
    """application/dicom+json, the UPS-RS default media type, in UTF-8 (F.2)."""

    media_type = DICOM_JSON
    format = "json"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class PlainJSONRenderer(DicomJSONRenderer):
    """The same JSON for a client that asks for application/json (many QIDO
    clients do); the media type the standard names stays the default."""

    media_type = "application/json"


class AcceptParameterNegotiation(DefaultContentNegotiation):
    """The `accept` query parameter (PS3.18 Table 11.1.2-1) stands for the
    Accept header when a client cannot set headers (a link in a browser)."""

    def get_accept_list(self, request):
        accept = request.query_params.get("accept")
        if accept:
            # An unencoded "+" (application/dicom+json) arrives as a space.
            accept = re.sub(r"(?<=\w) (?=\w)", "+", accept)
            return [token.strip() for token in accept.split(",") if token.strip()]
        return super().get_accept_list(request)


class BodyError(ValueError):
    """A body that is not one DICOM JSON data set."""


def dataset_from_json(data, *, required: bool = True) -> Dataset | None:
    """The one data set of a request body: a DICOM JSON object, or an array
    holding exactly one (PS3.18 11.4: the body is a single workitem)."""
    if data is None:
        if required:
            raise BodyError("The request needs a body: one DICOM JSON data set")
        return None
    if isinstance(data, list):
        if len(data) != 1:
            raise BodyError(f"The body holds {len(data)} data sets; one is expected")
        data = data[0]
    if not isinstance(data, dict):
        raise BodyError("The body is not a DICOM JSON object")
    try:
        return Dataset.from_json(data)
    except Exception as error:  # pydicom raises many kinds for a malformed model
        raise BodyError(f"The body is not valid DICOM JSON: {error}") from None


def dataset_to_json(dataset: Dataset) -> dict:
    """One data set in the DICOM JSON model, keys in ascending tag order (F.2)."""
    as_json = dataset.to_json_dict()
    return dict(sorted(as_json.items()))
