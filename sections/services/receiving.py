"""Figures a section sends rather than the hub fetching them: pushed with a token, or a CSV file an organizer
uploads. Both go through the same checks as fetched figures (sections.services.documents) and are stored the
same way (sections.services.snapshots)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import Section, Snapshot
from . import documents, snapshots
from .documents import DocumentProblem


@dataclass
class Outcome:
    received: snapshots.Received | None = None
    problem: str = ""
    detail: str = ""
    total: int = 0


def _is_csv(content_type: str, raw: bytes) -> bool:
    if "csv" in content_type:
        return True
    if "json" in content_type:
        return False
    return not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def receive_document(
    section: Section,
    raw: bytes,
    *,
    content_type: str = "",
    channel: str = Snapshot.Channel.PUSH,
    uploaded_by: AbstractBaseUser | None = None,
) -> Outcome:
    """Read figures sent as JSON or CSV and store them; a refusal is recorded on the section (its counted
    figures stand) and returned. For the push endpoint and the organizers' upload."""
    try:
        figures = documents.parse_csv(raw) if _is_csv(content_type, raw) else documents.parse_json(raw)
    except DocumentProblem as problem:
        with transaction.atomic():
            snapshots.record_problem(section.pk, problem.code, problem.detail)
        return Outcome(problem=problem.code, detail=problem.detail)
    received = snapshots.receive_figures(section.pk, figures, channel=channel, uploaded_by=uploaded_by)
    return Outcome(received=received, total=figures.total)
