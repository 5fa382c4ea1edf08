"""Who may do what: every signed-in user reads; HIS clients with "may write"
and staff users write."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class CanWrite(BasePermission):
    """Unsafe methods only for a writing API client, or for a staff user (who uses
    the browsable API with a session)."""

    message = "This client may only read."

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        if user.is_staff:
            return True
        client = getattr(user, "api_client", None)
        return bool(client and client.can_write)
