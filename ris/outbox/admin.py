"""The admin: a read-only view of the queues, with the two things an operator may do.

"Retry now" when a destination is back (or a dead message should go after
all); "give up" when a message at the head of a queue will never get through
and holds back the messages behind it.
"""

import json

from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars
from django.utils.html import format_html

from ris.outbox.models import OutboundMessage
from ris.outbox.services import outbox_give_up, outbox_retry_now


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "channel",
        "destination",
        "state",
        "attempts",
        "next_attempt_at",
        "error",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["state", "channel", "destination"]
    search_fields = ["destination", "last_error"]
    actions = ["retry_now", "give_up"]
    fields = [
        ("channel", "destination"),
        ("state", "attempts"),
        ("next_attempt_at", "claimed_until"),
        "last_error",
        ("created_at", "delivered_at"),
        "payload_json",
    ]
    readonly_fields = [
        name for row in fields for name in (row if isinstance(row, tuple) else (row,))
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Giving up keeps the record of what was not delivered; deleting would not.
        return False

    def has_operate_permission(self, request):
        return request.user.has_perm("outbox.change_outboundmessage")

    @admin.display(description="last error")
    def error(self, message):
        return truncatechars(message.last_error, 80)

    @admin.display(description="payload")
    def payload_json(self, message):
        return format_html("<pre>{}</pre>", json.dumps(message.payload, indent=2))

    @admin.action(description="Retry now", permissions=["operate"])
    def retry_now(self, request, queryset):
        count = outbox_retry_now(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) will be tried now.", messages.SUCCESS)

    @admin.action(description="Give up (mark dead)", permissions=["operate"])
    def give_up(self, request, queryset):
        reason = f"Given up by {request.user.get_username()} in the admin."
        count = outbox_give_up(message_ids=queryset.values_list("pk", flat=True), reason=reason)
        self.message_user(request, f"{count} pending message(s) given up.", messages.WARNING)
