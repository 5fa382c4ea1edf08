"""The three roles of the web UI, as Django groups with the permissions they mean.

- scheduler: books, moves and cancels exams, links unmatched MPPS, requests
  cancellation of workitems;
- technologist: sees the day and marks patients arrived;
- administrator: reference data (stations, procedure and protocol codes),
  remote AEs, users and API clients in the Django admin, and the audit trail.

A user may hold several roles. Superusers may do everything.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

SCHEDULER = "scheduler"
TECHNOLOGIST = "technologist"
ADMINISTRATOR = "administrator"

_SEE_THE_DAY = [
    "scheduling.view_patient",
    "scheduling.view_order",
    "scheduling.view_scheduledprocedurestep",
    "scheduling.view_station",
    "scheduling.view_procedurecode",
    "mpps.view_performedprocedurestep",
    "ups.view_workitem",
]

ROLE_PERMISSIONS = {
    SCHEDULER: [
        *_SEE_THE_DAY,
        "scheduling.add_patient",
        "scheduling.change_patient",
        "scheduling.add_order",
        "scheduling.change_order",
        "scheduling.change_scheduledprocedurestep",
        "scheduling.mark_arrived",
        "mpps.change_performedprocedurestep",
        "ups.change_workitem",
    ],
    TECHNOLOGIST: [*_SEE_THE_DAY, "scheduling.mark_arrived"],
    ADMINISTRATOR: [
        *_SEE_THE_DAY,
        *(
            f"{app}.{action}_{model}"
            for app, model in [
                ("scheduling", "station"),
                ("scheduling", "procedurecode"),
                ("scheduling", "protocolcode"),
                ("nodes", "remoteae"),
                ("auth", "user"),
                ("auth", "group"),
                ("api", "apiclient"),
            ]
            for action in ("add", "change", "delete", "view")
        ),
        "audit.view_auditevent",
    ],
}


def roles_ensure(**_signal_arguments) -> None:
    """Create or update the role groups (run after every migrate)."""
    # Permissions are made per app after its migrations: make them all now, so
    # that every permission a role names exists whatever the app order.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    with transaction.atomic():
        for role, names in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=role)
            group.permissions.set([_permission(name) for name in names])


def _permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def user_assign_roles(user: User, roles: list[str]) -> None:
    """Give a user exactly these roles; administrators may open the Django admin."""
    unknown = set(roles) - set(ROLE_PERMISSIONS)
    if unknown:
        raise ValueError(f"Unknown roles: {', '.join(sorted(unknown))}")
    user.groups.set(Group.objects.filter(name__in=roles))
    user.is_staff = ADMINISTRATOR in roles or user.is_superuser
    user.save(update_fields=["is_staff"])
