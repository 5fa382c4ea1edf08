"""The lock that orders global subscriptions against new workitems and
per-workitem subscriptions (PS3.4 CC.2.3).

Without it, under PostgreSQL's READ COMMITTED, a workitem created while an AE
subscribes globally could be missed by both (each transaction blind to the
other's row), and one created while an AE unsubscribes globally could take a
Deletion Lock after "release all". Creating a workitem and subscribing to one
take the lock shared (they go on side by side); global subscribe, unsubscribe
and suspend take it exclusive. It is a transaction-level advisory lock, freed
at commit or rollback. SQLite needs none: its IMMEDIATE transactions run one
at a time.
"""

from django.db import connection

# Any constant key, the same in every process: "UPS" in ASCII.
LOCK_KEY = 0x555053


def global_subscriptions(*, exclusive: bool) -> None:
    """Take the lock for the rest of the current transaction."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
