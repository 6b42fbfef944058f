"""Periodic petition tasks (scheduled in settings.CELERY_BEAT_SCHEDULE). Thin: each calls one service."""

from __future__ import annotations

import dataclasses

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def send_confirmations() -> dict:
    result = services.send_confirmations()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def send_outcome_mails() -> dict:
    result = services.send_outcome_mails()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def count_signatures() -> int:
    return services.count_signatures()


@shared_task(ignore_result=True)
def reconcile_signatures() -> int:
    return services.reconcile_signatures()


@shared_task(ignore_result=True)
def forget_old_data() -> dict:
    result = services.forget_old_data()
    return dataclasses.asdict(result)
