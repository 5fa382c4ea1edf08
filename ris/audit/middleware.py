"""Every change made while serving a request is recorded as its user's."""

from ris.audit.context import acting_as


class AuditActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_as(request):
            return self.get_response(request)
