"""Organizers' background work. Thin: each calls one service. The export task itself lives beside the
mechanism that enqueues it (organizers.exports.base.run_export_task); importing it here lets the worker find it."""

from __future__ import annotations

from celery import shared_task

from . import offline_reports
from .exports import base as exports
from .exports.base import run_export_task

__all__ = ["delete_expired_exports", "reconcile_offline_reports", "run_export_task"]


@shared_task(ignore_result=True)
def reconcile_offline_reports() -> None:
    """Nightly: make the "event" tallies exactly the sum of current offline reports."""
    offline_reports.reconcile_offline_reports()


@shared_task(ignore_result=True)
def delete_expired_exports() -> None:
    """Hourly: delete expired export files."""
    exports.delete_expired_exports()
