"""Who may do what over REST and UPS-RS.

A HIS client, by its token: it reads, and writes if it "may write". A person
signed in to the web UI (the browsable API, with a session): what the
permissions of their roles allow (ris.web.roles), so the API gives nobody more
than the screens do; a user with no role gets nothing.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class ClientOrRole(BasePermission):
    """Each view names the permissions a person needs, as `role_permissions =
    (to read, to write)`, e.g. ("scheduling.view_order", "scheduling.change_order")."""

    def has_permission(self, request, view):
        user = request.user
        if not user.is_authenticated:
            return False
        client = getattr(user, "api_client", None)
        if client is not None:
            self.message = "This client may only read."
            return request.method in SAFE_METHODS or client.can_write
        self.message = "Your roles do not allow this."
        read, write = getattr(view, "role_permissions", (None, None))
        needed = [read] if request.method in SAFE_METHODS else [read, write]
        # A view that names none is for HIS clients only (superusers aside).
        return user.is_superuser or (None not in needed and user.has_perms(needed))
