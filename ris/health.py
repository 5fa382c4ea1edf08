"""Is the RIS serving? The health check, and a 503 while the database is away.

The health check (/health/) is the one page without login: load balancers and
monitoring probe it. It shows no data, only whether the database answers.

Without the database nothing the web or the API could answer is true, so an
error reaching it becomes 503 Service Unavailable with a Retry-After, not a
500 and a stack trace; the next request tries the database again.
"""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse

LOGGER = logging.getLogger("ris")

RETRY_AFTER_SECONDS = 10
# The database cannot be reached: refused, lost, or no pooled connection in time.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
MACHINE_READABLE_PREFIXES = ("/api/", "/dicomweb/", "/health/")


def health(request):
    """200 {"status": "ok"} when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        LOGGER.warning("Health check: the database does not answer (%s)", error)
        return unavailable(request)
    return JsonResponse({"status": "ok"})


def unavailable(request) -> HttpResponse:
    message = "The RIS cannot reach its database; try again shortly."
    if request.path.startswith(MACHINE_READABLE_PREFIXES):
        response = JsonResponse(
            {"status": "unavailable", "detail": message, "code": "database_unavailable"},
            status=503,
        )
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Answers 503 when a view fails because the database cannot be reached
    (connection refused or lost), rather than 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            LOGGER.error(
                "%s %s: the database is unavailable (%s)", request.method, request.path, exception
            )
            return unavailable(request)
        return None
