"""Read replicas for real: a primary cluster and a streaming replica made from it with pg_basebackup, both the
test's own (in a temporary directory, on free ports); Plume runs against them in processes of their own
(tests/ops/replica_scenarios.py). The replica's replay is paused to make it visibly behind: what the dashboard,
the open data, the exports and the recount show then says where they read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench.hosts.pg import Cluster

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).with_name("replica_scenarios.py")


class Setup:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.primary = Cluster(directory / "primary")
        self.replica = Cluster(directory / "replica")
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TEST_DATABASE_NAME")},
            "DATABASE_URL": self.primary.url("plume"),
            "DATABASE_REPLICA_URL": self.replica.url("plume"),
            "PLUME_VAR_DIR": str(directory / "var"),
            # A paused replica stays readable for a minute; a recount waits 2 s at most for it to catch up; its
            # state is checked on every scope.
            "REPLICA_MAX_LAG_SECONDS": "60",
            "REPLICA_WAIT_SECONDS": "2",
            "REPLICA_CHECK_SECONDS": "0",
            "TOTALS_CACHE_SECONDS": "0",
            "OPEN_DATA_RATE_LIMIT_PER_MINUTE": "1000",
            "EMAIL_URL": "dummymail://",
        }

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def run(self, name: str, *args: str) -> dict:
        result = subprocess.run(
            [sys.executable, str(SCENARIOS), name, *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def replay(self, paused: bool) -> None:
        self.replica.sql("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def clusters():
    # Not under pytest's temporary directory: its parents are closed to the `postgres` user the clusters run as.
    directory = Path(tempfile.mkdtemp(prefix="plume-replica-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    setup = Setup(directory)
    setup.primary.init_primary().start()
    try:
        setup.primary.create_database("plume")
        setup.replica.init_replica_of(setup.primary).start()
        setup.replica.wait_streaming()
        setup.manage("migrate", "--no-input")
        setup.manage("seed_demo")
        yield setup
    finally:
        setup.replica.stop("immediate")
        setup.primary.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def test_it_writes_on_the_primary_inside_a_replica_scope_and_reads_back_what_it_wrote(clusters):
    seen = clusters.run("writes")
    assert seen["after"] == seen["before"] + 1
    assert seen["alias_after_write"] is None  # the model written is read from the primary from then on


def test_the_dashboard_and_open_data_read_the_replica_and_a_recount_waits_for_it(clusters):
    clusters.replay(paused=True)
    try:
        seen = clusters.run("reads_while_paused")
    finally:
        clusters.replay(paused=False)
    # The organizer signed in a moment ago (a session on the primary only), and the page answered.
    assert seen["dashboard_status"] == 200
    # Its totals came from the replica, its session and user from the primary.
    assert "campaign_tally" in seen["dashboard_tables"]["replica"]
    assert "campaign_tally" not in seen["dashboard_tables"]["primary"]
    assert "django_session" in seen["dashboard_tables"]["primary"]
    assert "django_session" not in seen["dashboard_tables"]["replica"]
    # The replica is behind by the 1,000 added while it was paused: the open data and a plain scope show it.
    assert seen["primary_total"] == seen["seen_before"] + 1000
    assert seen["open_data_total"] == seen["seen_before"]
    assert seen["plain_scope_total"] == seen["seen_before"]
    # A caught-up scope waited for the replica (2 s at most here), then read the primary.
    assert seen["caught_up_alias"] == "default"
    assert seen["caught_up_total"] == seen["primary_total"]


def test_an_export_reads_its_rows_from_the_replica_and_its_job_from_the_primary(clusters):
    clusters.replay(paused=True)
    try:
        seen = clusters.run("export_while_paused")
    finally:
        clusters.replay(paused=False)
    # The job row was written after the replica stopped replaying: read from the replica, it would not exist.
    assert seen["status"] == "done", (seen["error"], seen["traceback"])
    assert "campaign_tally" in seen["replica"]
    assert "campaign_exportjob" not in seen["replica"]


def test_the_nightly_recount_never_writes_back_what_a_lagging_replica_shows(clusters):
    before = clusters.run("reconcile", "sign")["signature_tally"]
    clusters.replay(paused=True)
    try:
        # Twelve signatures counted while the replica was paused: it does not have them.
        after_signing = clusters.run("reconcile", "sign")["signature_tally"]
        assert after_signing == before + 12
        lagging = clusters.run("reconcile")
    finally:
        clusters.replay(paused=False)
    # It waited for the replica, which did not catch up, and recounted from the primary: nothing to repair.
    assert lagging["changed"] == 0
    assert lagging["signature_tally"] == after_signing
    assert not lagging["replica_read_signatures"]
    caught_up = clusters.run("reconcile")
    assert caught_up["changed"] == 0
    assert caught_up["signature_tally"] == after_signing
    assert caught_up["replica_read_signatures"]


def test_the_metrics_show_the_replica_and_its_lag(clusters):
    seen = clusters.run("status")
    assert seen["usable"], seen["reason"]
    assert "plume_replica_up 1.0" in seen["metrics"]
    assert any(line.startswith("plume_replica_lag_seconds ") for line in seen["metrics"])


def test_a_commit_reaches_the_replica_and_the_lag_is_measured(clusters):
    seen = clusters.run("lag")
    assert seen["caught_up"], seen
    print(f"\nreplica lag, 200 commits: median {seen['median_ms']} ms, p99 {seen['p99_ms']}, max {seen['max_ms']}")


def test_a_replica_that_is_down_leaves_every_page_to_the_primary(clusters):
    clusters.replica.stop("fast")
    try:
        seen = clusters.run("down")
    finally:
        clusters.replica.start()
    assert seen["dashboard_status"] == 200
    assert seen["open_data_status"] == 200
    assert seen["open_data_total"] == seen["primary_total"]
    assert "cannot be reached" in seen["status"]
