"""The petition tasks are on beat's schedule (PetitionsConfig.ready adds them), under names the worker knows."""

from __future__ import annotations

from campaign.celery import app


def test_it_schedules_every_petition_task_the_worker_knows():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    petition_tasks = {
        "petitions.tasks.send_confirmations",
        "petitions.tasks.count_signatures",
        "petitions.tasks.forget_old_data",
        "petitions.tasks.reconcile_signatures",
    }
    assert petition_tasks <= scheduled
    assert petition_tasks <= set(app.tasks)


def test_it_drops_a_stale_sending_run_instead_of_piling_it_up():
    entry = app.conf.beat_schedule["petitions-send-confirmations"]
    assert entry["options"]["expires"] == entry["schedule"]
