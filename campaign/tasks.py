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


@shared_task(ignore_result=True)
def forget_expired_signin_attempts() -> int:
    """Hourly: delete the failed staff sign-ins (user name, network, browser) whose lockout is over. django-axes
    itself only clears them at the next sign-in attempt, which may never come."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt
    from django.utils import timezone

    # An attempt's time is that of its user name's latest failure: the lockout runs a cool-off from there.
    deleted, _ = AccessAttempt.objects.filter(attempt_time__lte=timezone.now() - get_cool_off()).delete()
    return deleted
