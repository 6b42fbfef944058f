"""The hub's round of fetches: every followed section with an address, when it is due.

`fetch_due_sections` (beat runs it every SECTIONS_FETCH_INTERVAL_SECONDS) claims the due sections with a lease
(a conditional update, SKIP LOCKED: two rounds never fetch one section), fetches them side by side
(SECTIONS_FETCH_CONCURRENCY threads, which only wait on the network), and stores each answer as it comes, in
this thread (sections.services.snapshots). A conditional request (the ETag and Last-Modified of the last answer)
lets an unchanged section answer 304 with no body. A section that fails is tried again after the interval,
then twice that, and so on up to SECTIONS_MAX_BACKOFF_SECONDS; its counted figures stand meanwhile, and the
organizer sees why.
"""

from __future__ import annotations

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Section, Snapshot
from . import documents, snapshots
from .http import Fetched, FetchProblem, fetch

log = logging.getLogger(__name__)


@dataclass
class RoundReport:
    fetched: int = 0
    counted: int = 0
    unchanged: int = 0
    held: int = 0
    failed: int = 0


def _backoff(failures: int) -> datetime.timedelta:
    seconds = settings.SECTIONS_FETCH_INTERVAL_SECONDS * 2 ** min(failures - 1, 20)
    return datetime.timedelta(seconds=min(seconds, settings.SECTIONS_MAX_BACKOFF_SECONDS))


def _claim_due(now: datetime.datetime, only: list[int] | None) -> list[Section]:
    lease = now + datetime.timedelta(seconds=settings.SECTIONS_FETCH_TIMEOUT_SECONDS * 3 + 60)
    with transaction.atomic():
        due = Section.objects.select_for_update(skip_locked=True).filter(is_active=True).exclude(totals_url="")
        due = (
            due.filter(pk__in=only)
            if only is not None
            else due.filter(Q(next_fetch_at__isnull=True) | Q(next_fetch_at__lte=now))
        )
        sections = list(due.order_by("next_fetch_at", "pk"))
        # The lease: a round that dies leaves them due again once it runs out.
        Section.objects.filter(pk__in=[s.pk for s in sections]).update(next_fetch_at=lease, last_attempt_at=now)
    return sections


def fetch_due_sections(only: list[int] | None = None) -> RoundReport:
    """One round (see the module's docstring); `only` fetches those sections now, due or not (the admin's
    "fetch now"). Call it from the periodic task or the admin."""
    report = RoundReport()
    now = timezone.now()
    sections = _claim_due(now, only)
    if not sections:
        return report
    # Without figures counted, ask for the whole document: validators alone would let an answer of 304 stand
    # for figures this hub never stored (held ones thrown away, a snapshot deleted by hand).
    has_figures = set(Snapshot.objects.current().filter(section__in=sections).values_list("section_id", flat=True))
    with ThreadPoolExecutor(max_workers=max(1, settings.SECTIONS_FETCH_CONCURRENCY)) as pool:
        futures = {
            pool.submit(
                fetch,
                s.totals_url,
                etag=s.etag if s.pk in has_figures else "",
                last_modified=s.last_modified if s.pk in has_figures else "",
            ): s
            for s in sections
        }
        for future in as_completed(futures):
            section = futures[future]
            report.fetched += 1
            try:
                outcome = _store(section, future.result())
            except (FetchProblem, documents.DocumentProblem) as problem:
                _failed(section, problem.code, problem.detail)
                report.failed += 1
                continue
            except Exception:
                log.exception("Fetching section %s failed", section.pk)
                _failed(section, "internal", "")
                report.failed += 1
                continue
            setattr(report, outcome.value, getattr(report, outcome.value) + 1)
    # Once for the whole round: what pages and the public JSON read.
    snapshots.movement.refresh()
    return report


def _store(section: Section, answer: Fetched) -> snapshots.Received:
    now = timezone.now()
    next_fetch = now + datetime.timedelta(seconds=settings.SECTIONS_FETCH_INTERVAL_SECONDS)
    if answer.status == 304:
        with transaction.atomic():
            Section.objects.filter(pk=section.pk).update(
                last_received_at=now,
                failures=0,
                next_fetch_at=next_fetch,
                problem="",
                problem_detail="",
                problem_at=None,
            )
        return snapshots.Received.UNCHANGED
    figures = documents.parse_json(answer.body)
    with transaction.atomic():
        outcome = snapshots.receive_figures(section.pk, figures, channel=Snapshot.Channel.FETCH, now=now, refresh=False)
        Section.objects.filter(pk=section.pk).update(
            etag=answer.etag, last_modified=answer.last_modified, failures=0, next_fetch_at=next_fetch
        )
    return outcome


def _failed(section: Section, code: str, detail: str) -> None:
    failures = section.failures + 1
    with transaction.atomic():
        Section.objects.filter(pk=section.pk).update(
            failures=failures, next_fetch_at=timezone.now() + _backoff(failures)
        )
        snapshots.record_problem(section.pk, code, detail, refresh=False)
