"""Beat's schedule, run for real: every periodic task each app puts on it (AppConfig.ready, through
campaign.celery.schedule) is sent by a real `celery beat` and run by a real worker, on Redis and the test
database. Elsewhere these tasks' services are tested in-process; this is where the schedule, the task names
and the worker meet.

Nightly and hourly entries would not come round in a test's time. Beat keeps when each entry last ran in its
schedule file and merges the configured schedule into it when it starts: the test writes that file first,
with Celery's own scheduler, with every entry last run two days ago. Every entry is then due at once, as
after a beat that was down for two days; beat's schedule itself is not touched.

The tasks that ran must be exactly the tasks on the schedule: one an app adds later that never runs (an unknown
name, a task that fails) fails this test.
"""

from __future__ import annotations

import datetime
import re

from celery.beat import PersistentScheduler

from campaign.celery import app
from tests.conftest import wait_until


def test_beat_sends_every_scheduled_task_and_a_worker_runs_each_one(start_worker, start_beat, smtp_server, tmp_path):
    schedule_file = tmp_path / "celerybeat-schedule"
    scheduler = PersistentScheduler(app=app, schedule_filename=str(schedule_file))
    two_days_ago = app.now() - datetime.timedelta(days=2)
    for entry in scheduler.schedule.values():
        entry.last_run_at = two_days_ago
    scheduler.close()
    # What the apps put on the schedule (Celery's own entry, the results' cleanup, is left out: beat sets it up
    # anew each time it starts, at 4 in the morning).
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"petitions.tasks.count_signatures", "letters.tasks.remind_moderators"} <= scheduled

    # Files the tasks sweep (exports, uploads) are this test's own.
    var = {"PLUME_VAR_DIR": str(tmp_path / "var")}
    worker = start_worker(mailbox=smtp_server, **var)
    beat = start_beat(schedule_file, **var)

    def ran() -> set[str]:
        return set(re.findall(r"Task ([\w.]+)\[[0-9a-f-]+\] succeeded", worker.log()))

    try:
        wait_until(lambda: ran() >= scheduled, timeout=90)
    except AssertionError:
        logs = f"--- beat\n{beat.log()}\n--- worker\n{worker.log()}"
        raise AssertionError(f"Not run: {scheduled - ran()}\n{logs}") from None
    assert ran() == scheduled
    failed = re.findall(r"Task ([\w.]+)\[[0-9a-f-]+\] (?:raised|failed)", worker.log())
    assert not failed, worker.log()
