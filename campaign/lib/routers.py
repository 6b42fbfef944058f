"""Reads that may come from a PostgreSQL streaming replica; writes that never go there.

With DATABASE_REPLICA_URL set, settings add a second database, `replica` (a hot standby fed by streaming
replication), and `ReplicaRouter`. Nothing reads from it by default: a read goes there only inside a *replica
scope*, which the heavy readers open, the organizers' dashboard, the open data, the exports and the nightly
recounts (settings.REPLICA_READ_VIEWS, opened by `ReplicaReadsMiddleware`, and settings.REPLICA_READ_TASKS,
opened around those Celery tasks by the signal handlers below). Code may also open one itself with
`reading_from_replica()`. Everything else reads and writes the primary (`default`), as without a replica.

Inside a scope:

- Writes go to the primary, and so do reads that lock (`select_for_update` is a read for writing). A model
  written or locked in the scope is read from the primary for the rest of it: a scope reads what it wrote.
- Staff sign-in, sessions and permissions (PRIMARY_ONLY_APPS) are always read from the primary: a session
  created a moment ago may not be on the replica yet, and the visitor would look signed out.
- The replica serves the scope only while it is reachable, is really a standby, streams from the primary and
  has replayed what it received within REPLICA_MAX_LAG_SECONDS (`replica_status`, checked at most every
  REPLICA_CHECK_SECONDS in each process). Otherwise the scope reads the primary and the log says why: a
  replica that is down or behind slows nothing and shows no stale figures.
- A *caught-up* scope (`reading_from_replica(caught_up=True)`, the recounts) first waits, before its first
  read, until the replica has replayed everything the primary had written at that moment (its WAL position),
  at most REPLICA_WAIT_SECONDS, else it reads the primary. A recount takes its lock first, then reads: so
  it sees every row counted before the lock, and the tallies it writes back are exact, not a lag behind.

The lag itself (what a scope that is not caught up may miss) is the time a commit takes to reach the replica
and be replayed: docs/operations.md gives what tests/ops measured. The replica's schema comes from the primary's
WAL: migrations run on the primary only (`allow_migrate`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

log = logging.getLogger(__name__)

REPLICA = "replica"
# Read from the primary even inside a scope: who is signed in, with which session and rights.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "contenttypes", "admin", "axes", "otp_totp", "otp_static"})


@dataclass
class _Scope:
    caught_up: bool
    # Decided at the scope's first read: REPLICA or DEFAULT_DB_ALIAS.
    alias: str | None = None
    # Models (labels) this scope wrote or locked: read from the primary from then on.
    written: set[str] = field(default_factory=set)


_scope: ContextVar[_Scope | None] = ContextVar("plume_replica_scope", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextlib.contextmanager
def reading_from_replica(*, caught_up: bool = False) -> Iterator[None]:
    """Let the reads of the block come from the replica (see the module's docstring); also a decorator.
    `caught_up=True`: only once the replica has replayed everything the primary held before the first read."""
    token = _scope.set(_Scope(caught_up=caught_up))
    try:
        yield
    finally:
        _scope.reset(token)


def read_alias() -> str:
    """The database this scope reads from: for raw SQL (`connections[read_alias()]`), which no router sees."""
    scope = _scope.get()
    if scope is None or not replica_configured():
        return DEFAULT_DB_ALIAS
    return _scope_alias(scope)


class ReplicaRouter:
    """settings.DATABASE_ROUTERS when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model, **hints) -> str | None:
        scope = _scope.get()
        if scope is None or model._meta.app_label in PRIMARY_ONLY_APPS or model._meta.label in scope.written:
            return None  # Django's own choice: the instance's database, else the primary
        return _scope_alias(scope)

    def db_for_write(self, model, **hints) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.written.add(model._meta.label)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the same rows on both

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- Is the replica fit to read from? ---------------------------------------------------------------------


@dataclass
class ReplicaStatus:
    """What `replica_status` found: `usable`, and if not, why; `lag_seconds` is how far its replay is behind
    what it received (0 when it has replayed everything; None when it could not be read)."""

    usable: bool
    reason: str = ""
    lag_seconds: float | None = None
    checked_at: float = 0.0


_STATUS_SQL = """
SELECT pg_is_in_recovery(),
       (SELECT status FROM pg_stat_wal_receiver),
       CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn()
            THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""
_last_status: ReplicaStatus | None = None


def replica_status(*, fresh: bool = False) -> ReplicaStatus:
    """Whether the replica may serve reads now: reachable, a standby streaming from the primary, and its replay
    at most REPLICA_MAX_LAG_SECONDS behind what it received. One query, done at most every
    REPLICA_CHECK_SECONDS in this process (or now, with `fresh`)."""
    global _last_status
    now = time.monotonic()
    if not fresh and _last_status is not None and now - _last_status.checked_at < settings.REPLICA_CHECK_SECONDS:
        return _last_status
    status = _check_replica()
    status.checked_at = now
    if not status.usable and (_last_status is None or _last_status.usable or _last_status.reason != status.reason):
        log.warning("Reading from the primary instead of the replica: %s", status.reason)
    _last_status = status
    return status


def _check_replica() -> ReplicaStatus:
    if not replica_configured():
        return ReplicaStatus(False, "no DATABASE_REPLICA_URL")
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_STATUS_SQL)
            in_recovery, receiver, lag = cursor.fetchone()
    except Exception as exc:
        connections[REPLICA].close()
        return ReplicaStatus(False, f"the replica cannot be reached ({type(exc).__name__})")
    if not in_recovery:
        # Pointed at a database that is not a standby: its rows may be anything. Never read from it.
        return ReplicaStatus(False, "DATABASE_REPLICA_URL is not a standby (pg_is_in_recovery() is false)")
    lag = float(lag)
    if receiver != "streaming":
        return ReplicaStatus(False, f"the replica does not stream from the primary (receiver: {receiver})", lag)
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        return ReplicaStatus(False, f"the replica is {lag:.1f} s behind", lag)
    return ReplicaStatus(True, lag_seconds=lag)


def wait_for_replica(timeout: float | None = None) -> float | None:
    """Wait until the replica has replayed everything the primary has written so far (its WAL position now).
    Returns the seconds it took, or None when it did not within `timeout` (REPLICA_WAIT_SECONDS) or could not
    be asked."""
    timeout = settings.REPLICA_WAIT_SECONDS if timeout is None else timeout
    started = time.monotonic()
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            (position,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
                if cursor.fetchone()[0]:
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    return None
                time.sleep(0.01)
    except Exception as exc:
        connections[REPLICA].close()
        log.warning("Could not wait for the replica (%s)", type(exc).__name__)
        return None


def _scope_alias(scope: _Scope) -> str:
    if scope.alias is None:
        scope.alias = DEFAULT_DB_ALIAS
        if replica_status().usable:
            if not scope.caught_up or wait_for_replica() is not None:
                scope.alias = REPLICA
            else:
                log.warning("Reading from the primary: the replica did not catch up within %s s",
                            settings.REPLICA_WAIT_SECONDS)  # fmt: skip
    return scope.alias


# --- Where scopes are opened: views by name, Celery tasks by name ------------------------------------------


class ReplicaReadsMiddleware:
    """Opens a replica scope around the views named in settings.REPLICA_READ_VIEWS (settings add it to
    MIDDLEWARE with the replica). The view's own decorators run inside it: the user and session they read
    still come from the primary (PRIMARY_ONLY_APPS)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            token = getattr(request, "_replica_scope", None)
            if token is not None:
                _scope.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs) -> None:
        match = request.resolver_match
        if match is not None and match.view_name in settings.REPLICA_READ_VIEWS:
            request._replica_scope = _scope.set(_Scope(caught_up=False))


# Task ids to the token of the scope opened for them (a worker process runs one task at a time per thread).
_task_scopes: dict[str, Token] = {}


@task_prerun.connect(weak=False, dispatch_uid="plume-replica-scope-open")
def _open_task_scope(task_id=None, task=None, **kwargs) -> None:
    caught_up = settings.REPLICA_READ_TASKS.get(getattr(task, "name", ""))
    if caught_up is not None and replica_configured():
        _task_scopes[task_id] = _scope.set(_Scope(caught_up=caught_up))


@task_postrun.connect(weak=False, dispatch_uid="plume-replica-scope-close")
def _close_task_scope(task_id=None, **kwargs) -> None:
    token = _task_scopes.pop(task_id, None)
    if token is not None:
        try:
            _scope.reset(token)
        except ValueError:  # another context: it ends with it
            _scope.set(None)
