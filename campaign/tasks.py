"""Periodic tasks of the campaign app."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

from . import exports, services

BEAT_TICK_KEY = "health:beat-tick"


@shared_task(ignore_result=True)
def beat_tick() -> None:
    """Sent by beat every few seconds and run by a worker: /healthz reads its time to tell both are alive."""
    cache.set(BEAT_TICK_KEY, time.time(), None)


@shared_task(ignore_result=True)
def reconcile_offline_reports() -> None:
    """Nightly: make the "event" tallies exactly the sum of current offline reports."""
    services.reconcile_offline_reports()


@shared_task(ignore_result=True)
def run_export(job_id: int) -> None:
    """Write an export's file (enqueued by campaign.exports.request_export after commit)."""
    exports.run_export(job_id)


@shared_task(ignore_result=True)
def delete_expired_exports() -> None:
    """Hourly: delete expired export files."""
    exports.delete_expired_exports()
