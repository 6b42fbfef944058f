"""Periodic petition tasks (scheduled by PetitionsConfig.ready()). Thin: each calls one service."""

from __future__ import annotations

import dataclasses

from celery import shared_task

from .services import confirmations, counting, outcome, retention


@shared_task(ignore_result=True)
def send_confirmations() -> dict:
    result = confirmations.send_confirmations()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def send_outcome_mails() -> dict:
    result = outcome.send_outcome_mails()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def count_signatures() -> int:
    return counting.count_signatures()


@shared_task(ignore_result=True)
def reconcile_signatures() -> int:
    return counting.reconcile_signatures()


@shared_task(ignore_result=True)
def forget_old_data() -> dict:
    result = retention.forget_old_data()
    return dataclasses.asdict(result)
