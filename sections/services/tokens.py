"""Push tokens: what a section that does not run Plume (or cannot be reached) sends its totals with.

A token is shown once, when it is created; the hub keeps only its SHA-256 (a token is 256 random bits, so a
plain hash cannot be undone by trying). Revoking it is immediate; a revoked token used again is refused and the
attempt shown to the organizers on the section.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..models import Section, SectionToken
from . import snapshots

PREFIX = "plume_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_token(section: Section, *, created_by: AbstractBaseUser | None) -> str:
    """A new token for `section`; the caller shows it once. Earlier tokens stay valid until revoked, so a
    section can switch without a gap."""
    token = PREFIX + secrets.token_urlsafe(32)
    SectionToken.objects.create(section=section, digest=_digest(token), hint=token[:12], created_by=created_by)
    return token


def revoke_tokens(token_ids: list[int]) -> int:
    """Revoke tokens now; returns how many were still valid."""
    return SectionToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(revoked_at=timezone.now())


def section_for_token(token: str) -> tuple[Section | None, str]:
    """The active section a pushed token belongs to, or (None, why): "unknown_token", "revoked_token" (recorded
    on the section for its organizers) or "inactive"."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None, "unknown_token"
    found = SectionToken.objects.select_related("section").filter(digest=_digest(token)).first()
    if found is None:
        return None, "unknown_token"
    if found.revoked_at is not None:
        with transaction.atomic():
            snapshots.record_problem(found.section_id, "revoked_token", found.hint)
        return None, "revoked_token"
    if not found.section.is_active:
        return None, "inactive"
    SectionToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found.section, ""
