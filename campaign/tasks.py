"""Periodic tasks of the campaign app (scheduled in CampaignConfig.ready, like every app's)."""

from __future__ import annotations

import time

from celery import shared_task
from django.core.cache import cache

BEAT_TICK_KEY = "health:beat-tick"


@shared_task(ignore_result=True)
def beat_tick() -> None:
    """Sent by beat every few seconds and run by a worker: /healthz reads its time to tell both are alive."""
    cache.set(BEAT_TICK_KEY, time.time(), None)
