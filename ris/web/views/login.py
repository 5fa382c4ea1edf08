"""Logging in, with failed attempts counted: a user name, or an address, that
fails too often is refused for a while, whatever the password (guessing
passwords online takes many attempts; a person mistyping takes a few).

The counts live in Django's cache: per process with the default local-memory
cache, shared between processes with a shared one (CACHES).
"""

import logging

from django.conf import settings
from django.contrib.auth.views import LoginView
from django.core.cache import cache

LOGGER = logging.getLogger("ris.web")


class ThrottledLoginView(LoginView):
    def post(self, request, *args, **kwargs):
        if _refused(request):
            LOGGER.warning(
                "Login refused for %r from %s: too many failed attempts",
                _user_name(request),
                _address(request),
            )
            minutes = max(1, round(settings.RIS_LOGIN_LOCKOUT_SECONDS / 60))
            context = self.get_context_data(
                form=self.get_form(), locked_out=True, lockout_minutes=minutes
            )
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        for key, _ in _counters(self.request):
            cache.add(key, 0, timeout=settings.RIS_LOGIN_LOCKOUT_SECONDS)
            cache.incr(key)
        return super().form_invalid(form)

    def form_valid(self, form):
        cache.delete(_counters(self.request)[0][0])  # the user's own count, not the address's
        return super().form_valid(form)


def _refused(request) -> bool:
    return any(cache.get(key, 0) >= most for key, most in _counters(request))


def _counters(request) -> list[tuple[str, int]]:
    """(cache key, most failures allowed) for the user name and for the address."""
    return [
        (f"login-failures:user:{_user_name(request)}", settings.RIS_LOGIN_FAILURES_PER_USER),
        (f"login-failures:address:{_address(request)}", settings.RIS_LOGIN_FAILURES_PER_ADDRESS),
    ]


def _user_name(request) -> str:
    return request.POST.get("username", "").strip().lower()[:150]


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")
