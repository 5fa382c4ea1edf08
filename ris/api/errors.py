"""Domain refusals as HTTP answers, and the error bodies the schema documents.

Every error body is a JSON object: {"detail": "...", "code": "..."} for a
refusal of the whole request, or one list of messages per field at fault
({"patient": ["..."], "requested_procedures": [{"scheduled_steps": [...]}]}),
with "non_field_errors" for what belongs to no one field.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    schema,
)
from rest_framework.permissions import AllowAny
from rest_framework.views import exception_handler as drf_exception_handler

from ris.dicom import statuses
from ris.dicom.errors import DicomError
from ris.scheduling.services import SchedulingConflict

# Django's codes for a value that another row already has.
UNIQUE_CODES = {"unique", "unique_together"}

# DICOM statuses that mean the same as an HTTP status; any other refusal is a 400.
HTTP_STATUS_FOR = {
    statuses.NO_SUCH_SOP_INSTANCE: status.HTTP_404_NOT_FOUND,
    statuses.NOT_AUTHORIZED: status.HTTP_403_FORBIDDEN,
    statuses.DUPLICATE_SOP_INSTANCE: status.HTTP_409_CONFLICT,
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, after translating the domain's refusals into DRF exceptions."""
    response = drf_exception_handler(_translated(exc), context)
    if response is not None and not isinstance(response.data, dict):
        response.data = {"non_field_errors": response.data}
    return response


def _translated(exc: Exception) -> Exception:
    if isinstance(exc, SchedulingConflict):
        return Conflict(exc.comment)
    if isinstance(exc, DicomError):
        http_status = HTTP_STATUS_FOR.get(exc.status, status.HTTP_400_BAD_REQUEST)
        error = exceptions.APIException(exc.comment)
        error.status_code = http_status
        return error
    if isinstance(exc, DjangoValidationError):
        if _codes(exc) & UNIQUE_CODES:
            return Conflict(" ".join(exc.messages))
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(_field_messages(exc))
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, IntegrityError):
        # A unique constraint that a concurrent request won: the row now exists.
        return Conflict("The request conflicts with a record written at the same time.")
    return exc


def _field_messages(exc: DjangoValidationError) -> dict:
    return {
        ("non_field_errors" if field == "__all__" else field): messages
        for field, messages in exc.message_dict.items()
    }


def _codes(exc: DjangoValidationError) -> set[str]:
    errors = exc.error_dict.values() if hasattr(exc, "error_dict") else [exc.error_list]
    return {error.code for error_list in errors for error in error_list if error.code}


class ErrorSerializer(serializers.Serializer):
    """A refusal: "detail" says why; a 400 names the fields at fault instead."""

    detail = serializers.CharField(required=False)

    class Meta:
        ref_name = "ApiError"


ERROR_DESCRIPTIONS = {
    400: "Invalid input: one list of messages per field at fault.",
    401: "No or an invalid token.",
    403: "The client may not do this (a read-only client writing).",
    404: "No such object.",
    409: "The request conflicts with the object's current state.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation (401 and 403 always apply)."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in sorted({401, 403, *codes})
    }


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@authentication_classes([])
@schema(None)
def not_found(request, *args, **kwargs):
    """A path under /api/v1/ that names no endpoint."""
    raise exceptions.NotFound()


class ApiErrorsMixin:
    """Views with the domain's refusals translated (a mixin, since the project's
    REST_FRAMEWORK settings keep DRF's default handler for other views)."""

    def get_exception_handler(self):
        return exception_handler
