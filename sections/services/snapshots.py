"""A section's figures arriving (fetched, pushed or uploaded) and what becomes of them.

`receive_figures` is the one place a snapshot is stored: the new figures replace the counted ones in one
transaction (the old snapshot is deleted), so fetching twice or a section sending again never counts twice;
figures whose total falls by more than SECTIONS_HOLD_FALL_PERCENT are held instead, and the counted ones stand
until an organizer accepts them (`accept_held`) or throws them away (`discard_held`). `record_problem` keeps
why figures were refused, for the organizer; the previous snapshot is never touched by a refusal.
"""

from __future__ import annotations

import datetime
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..models import Section, Snapshot
from . import movement
from .documents import Figures


class Received(StrEnum):
    COUNTED = "counted"
    UNCHANGED = "unchanged"
    HELD = "held"


def _falls_sharply(counted: Snapshot | None, total: int) -> bool:
    if counted is None or not counted.total:
        return False
    return total < counted.total * (100 - settings.SECTIONS_HOLD_FALL_PERCENT) / 100


@transaction.atomic
def receive_figures(
    section_id: int,
    figures: Figures,
    *,
    channel: str,
    uploaded_by: AbstractBaseUser | None = None,
    now: datetime.datetime | None = None,
    refresh: bool = True,
) -> Received:
    """Store a section's new figures (see the module's docstring). The section's row is locked meanwhile, so a
    push and a fetch of the same section never interleave. `refresh=False` leaves the movement's summary to the
    caller (a round of fetches computes it once at its end, not once per section)."""
    now = now or timezone.now()
    section = Section.objects.select_for_update().get(pk=section_id)
    counted = Snapshot.objects.current().filter(section=section).first()
    section.last_received_at = now
    section.problem, section.problem_detail, section.problem_at = "", "", None
    section.save(update_fields=["last_received_at", "problem", "problem_detail", "problem_at"])
    digest = figures.digest
    if counted is not None and counted.digest == digest:
        # The same figures again: nothing to count, and any held ones are moot (the section went back).
        held = Snapshot.objects.held().filter(section=section).delete()[0]
        if held and refresh:
            transaction.on_commit(movement.refresh)
        return Received.UNCHANGED
    status = Snapshot.Status.HELD if _falls_sharply(counted, figures.total) else Snapshot.Status.CURRENT
    # One snapshot per section and status: the new one replaces the old one of its status.
    Snapshot.objects.filter(section=section, status=Snapshot.Status.HELD).delete()
    if status == Snapshot.Status.CURRENT:
        Snapshot.objects.filter(section=section, status=Snapshot.Status.CURRENT).delete()
    Snapshot.objects.create(
        section=section,
        status=status,
        channel=channel,
        received_at=now,
        generated_at=figures.generated_at,
        total=figures.total,
        by_case=figures.by_case,
        counts=figures.counts,
        notes=figures.notes,
        digest=digest,
        uploaded_by=uploaded_by,
    )
    if refresh:
        transaction.on_commit(movement.refresh)
    return Received.HELD if status == Snapshot.Status.HELD else Received.COUNTED


def record_problem(
    section_id: int, code: str, detail: str = "", *, now: datetime.datetime | None = None, refresh: bool = True
) -> None:
    """Keep why a section's figures were refused or could not be fetched; its counted figures stand."""
    Section.objects.filter(pk=section_id).update(
        problem=code, problem_detail=detail[:300], problem_at=now or timezone.now()
    )
    if refresh:
        transaction.on_commit(movement.refresh)


@transaction.atomic
def accept_held(section_id: int) -> bool:
    """An organizer accepts held figures: they replace the counted ones. False when none were held (another
    organizer decided first)."""
    Section.objects.select_for_update().get(pk=section_id)
    held = Snapshot.objects.held().filter(section_id=section_id).first()
    if held is None:
        return False
    Snapshot.objects.current().filter(section_id=section_id).delete()
    Snapshot.objects.filter(pk=held.pk).update(status=Snapshot.Status.CURRENT)
    transaction.on_commit(movement.refresh)
    return True


@transaction.atomic
def discard_held(section_id: int) -> bool:
    """An organizer throws held figures away: the counted ones stand. False when none were held."""
    Section.objects.select_for_update().get(pk=section_id)
    deleted = Snapshot.objects.held().filter(section_id=section_id).delete()[0]
    if deleted:
        transaction.on_commit(movement.refresh)
    return bool(deleted)
