"""Scenarios against a real primary and its streaming replica, run by tests/ops/test_replica.py in a process of
their own (DATABASE_URL and DATABASE_REPLICA_URL point at the test's own clusters, never the shared server).

`python tests/ops/replica_scenarios.py NAME` prints one JSON object: what the scenario observed. The test pauses
and resumes the replica's replay around them, so that what was read from where shows in the figures.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")

import django

django.setup()

from django.db import connections  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from campaign.celery import app  # noqa: E402
from campaign.lib import routers  # noqa: E402
from campaign.models import ActionKind, ActionSource, Case, ExportJob, Tally  # noqa: E402

# As a worker starts: settings.CELERY_IMPORTS, where the replica scopes of tasks are connected.
app.loader.import_default_modules()


def tables(captured: CaptureQueriesContext) -> list[str]:
    """The Plume tables each captured query read (the first quoted table name after FROM)."""
    found = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if " FROM " in sql:
            found.append(sql.split(" FROM ", 1)[1].split()[0].strip('"'))
    return found


def both() -> tuple[CaptureQueriesContext, CaptureQueriesContext]:
    return CaptureQueriesContext(connections["default"]), CaptureQueriesContext(connections["replica"])


def total() -> int:
    return sum(Tally.objects.values_list("count", flat=True))


def add_tally(count: int) -> None:
    from campaign.lib.ledger import add_to_tallies, tally_key

    case = Case.objects.order_by("pk").first()
    now = django.utils.timezone.now()
    add_to_tallies([(tally_key(case.pk, ActionKind.LETTER, ActionSource.EVENT, "", now), count)])


def organizer_client():
    from django.contrib.auth.models import Group, User
    from django.test import Client

    user, _ = User.objects.get_or_create(username="organizer", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Organizers"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def scenario_writes() -> dict:
    """Writes inside a scope go to the primary (the replica would refuse them), and the scope then reads them."""
    import datetime

    case = Case.objects.order_by("pk").first()
    day = datetime.date(2000, 1, 1) + datetime.timedelta(days=time.time_ns() % 3000)
    with routers.reading_from_replica():
        before = Tally.objects.count()
        Tally.objects.create(case=case, kind=ActionKind.LETTER, source=ActionSource.EVENT, country="", day=day, count=5)
        after = Tally.objects.count()
        alias_after_write = routers.ReplicaRouter().db_for_read(Tally)
    return {"before": before, "after": after, "alias_after_write": alias_after_write}


def scenario_reads_while_paused() -> dict:
    """The replica's replay is paused (by the test): a tally added now is on the primary only."""
    setup_test_environment()
    seen_before = total()
    add_tally(1000)
    client = organizer_client()  # a session written a moment ago: on the primary only
    primary, replica = both()
    with primary, replica:
        dashboard = client.get("/en/staff/")
    dashboard_tables = {"primary": tables(primary), "replica": tables(replica)}
    open_data = client.get("/api/v1/totals").json()
    with routers.reading_from_replica():
        plain = total()
    started = time.monotonic()
    with routers.reading_from_replica(caught_up=True):
        caught_up = total()
        caught_up_alias = routers.read_alias()
    return {
        "primary_total": total(),
        "seen_before": seen_before,
        "dashboard_status": dashboard.status_code,
        "dashboard_tables": dashboard_tables,
        "open_data_total": open_data["total"],
        "plain_scope_total": plain,
        "caught_up_total": caught_up,
        "caught_up_alias": caught_up_alias,
        "caught_up_waited": round(time.monotonic() - started, 2),
    }


def scenario_export_while_paused() -> dict:
    """An export asked for while the replica's replay is paused: its job row is on the primary only."""
    from django.contrib.auth.models import User

    from organizers.exports.base import run_export_task

    add_tally(7000)
    job = ExportJob.objects.create(
        requested_by=User.objects.get(username="organizer"), kind="by_day", format=ExportJob.Format.XLSX
    )
    primary, replica = both()
    with primary, replica:
        outcome = run_export_task.apply(args=[job.pk])
    job.refresh_from_db()
    return {"status": job.status, "error": job.error, "primary": tables(primary), "replica": tables(replica),
            "traceback": outcome.traceback}  # fmt: skip


def _counted_signatures(n: int) -> None:
    from petitions.services import counting, links, signing

    case = Case.objects.select_related("campaign").get(slug="khaled-drareni")
    for i in range(n):
        email = f"signer{time.time_ns()}-{i}@example.org"
        signing.sign_petition(case, signing.SignatureData(name="Ana Lima", email=email, country="FR"))
        from petitions.models import Signature

        links.confirm_signature(Signature.objects.get(email=email).pk)
    counting.count_signatures()


def signature_tally() -> int:
    return sum(Tally.objects.filter(kind=ActionKind.SIGNATURE).values_list("count", flat=True))


def scenario_reconcile() -> dict:
    """The nightly recount as a worker runs it (its task, with the scope REPLICA_READ_TASKS gives it)."""
    from petitions.tasks import reconcile_signatures

    if sys.argv[2:] == ["sign"]:
        _counted_signatures(12)
        return {"signature_tally": signature_tally()}
    primary, replica = both()
    started = time.monotonic()
    with primary, replica:
        changed = reconcile_signatures.apply().get()
    return {
        "changed": changed,
        "signature_tally": signature_tally(),
        "replica_read_signatures": "petitions_signature" in tables(replica),
        "seconds": round(time.monotonic() - started, 2),
    }


def scenario_status() -> dict:
    status = routers.replica_status(fresh=True)
    from django.test import Client

    metrics = Client(HTTP_HOST="127.0.0.1").get("/metrics").content.decode()
    lines = [line for line in metrics.splitlines() if line.startswith("plume_replica_")]
    return {"usable": status.usable, "reason": status.reason, "lag": status.lag_seconds, "metrics": lines}


def scenario_down() -> dict:
    """The replica is stopped (by the test): the scoped pages still answer, from the primary."""
    setup_test_environment()
    client = organizer_client()
    dashboard = client.get("/en/staff/")
    open_data = client.get("/api/v1/totals")
    return {
        "dashboard_status": dashboard.status_code,
        "open_data_status": open_data.status_code,
        "open_data_total": open_data.json()["total"] if open_data.status_code == 200 else None,
        "primary_total": total(),
        "status": routers.replica_status(fresh=True).reason,
    }


def scenario_lag() -> dict:
    """How long a commit on the primary takes to be readable on the replica: 200 single-row commits."""
    waits = []
    for n in range(200):
        add_tally(1)
        waited = routers.wait_for_replica(timeout=10)
        if waited is None:
            return {"caught_up": False, "after": n}
        waits.append(waited * 1000)
    waits.sort()
    return {
        "caught_up": True,
        "median_ms": round(waits[len(waits) // 2], 2),
        "p99_ms": round(waits[int(len(waits) * 0.99) - 1], 2),
        "max_ms": round(waits[-1], 2),
    }


if __name__ == "__main__":
    print(json.dumps(globals()[f"scenario_{sys.argv[1]}"](), default=str))
