"""The hub's background work. Thin: each calls one service."""

from __future__ import annotations

from celery import shared_task

from .services import fetching


@shared_task(ignore_result=True)
def fetch_sections() -> None:
    """Every SECTIONS_FETCH_INTERVAL_SECONDS: fetch the sections that are due."""
    fetching.fetch_due_sections()
