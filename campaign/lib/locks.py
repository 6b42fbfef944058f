"""The one advisory lock helper: a named PostgreSQL advisory lock held until the current transaction ends.

Every job that must not run twice at once, or must not overlap another (the signature rollup and its nightly
recount, the letter approvals and their recount, the offline reports and theirs), takes its lock here.
"""

from __future__ import annotations

from django.db import OperationalError, connection, transaction


def advisory_lock(name: str, *, shared: bool = False, wait: bool | float = True) -> bool:
    """Take the lock `name` until the current transaction ends; call inside `transaction.atomic()`.

    `wait=True` waits as long as it takes; `wait=False` returns False at once when another transaction holds
    it; a number of seconds waits at most that long, then returns False. `shared=True` takes it shared: shared
    holders run side by side, and an exclusive holder waits for all of them (approvals against their recount).

    On SQLite (the demo) there is one writer at a time anyway: always True.
    """
    if connection.vendor != "postgresql":
        return True
    suffix = "_shared" if shared else ""
    with connection.cursor() as cursor:
        if wait is False:
            cursor.execute(f"SELECT pg_try_advisory_xact_lock{suffix}(hashtext(%s))", [name])
            return bool(cursor.fetchone()[0])
        if wait is True:
            cursor.execute(f"SELECT pg_advisory_xact_lock{suffix}(hashtext(%s))", [name])
            return True
        # A bounded wait: PostgreSQL's lock_timeout, in a savepoint so that a timeout leaves the transaction
        # usable, and set back at once so that it bounds nothing else the transaction waits for.
        try:
            with transaction.atomic():
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(wait * 1000)}ms"])
                cursor.execute(f"SELECT pg_advisory_xact_lock{suffix}(hashtext(%s))", [name])
                cursor.execute("SELECT set_config('lock_timeout', '0', true)")
        except OperationalError:  # lock_not_available: the wait ran out
            return False
        return True
