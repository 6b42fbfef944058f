"""The Celery application. Each app's tasks live in its tasks.py (found by autodiscovery); each app adds its
periodic tasks to beat's schedule from its AppConfig.ready() with `schedule()`, so the project never names
them."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")

app = Celery("campaign")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def schedule(entries: dict[str, dict]) -> None:
    """Add periodic tasks to beat's schedule (Celery's `beat_schedule` entries). Call from an AppConfig.ready():
    Django is set up, and so every app's entries are in, before beat reads the schedule."""
    app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **entries}
