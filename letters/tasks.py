"""Letters' background work (scheduled by LettersConfig.ready). Thin: ids in, one service each."""

from __future__ import annotations

from celery import shared_task

from .services import digests, moderation, notices, packs, reminders


@shared_task(ignore_result=True)
def send_due_digests() -> int:
    """Every due family contact's digest. Two runs at once share the work (see digests.send_due_digests)."""
    return digests.send_due_digests()


@shared_task(ignore_result=True)
def send_family_digest(contact_id: int, force: bool = False) -> int | None:
    """One contact's next digest (the admin's "send the next digest now"). A deleted or paused contact is
    skipped."""
    digest = digests.send_family_digest(contact_id, force=force)
    return digest.pk if digest else None


@shared_task(ignore_result=True)
def send_delivery_notices() -> dict:
    result = notices.send_delivery_notices()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def remind_moderators() -> int:
    return reminders.remind_moderators()


@shared_task(ignore_result=True)
def reconcile_letter_tallies() -> int:
    return moderation.reconcile_letter_tallies()


@shared_task(ignore_result=True)
def resolve_stale_letter_packs() -> int:
    """Hourly: give back the letters of packs whose worker died while building them (packs.resolve_stale_packs)."""
    return packs.resolve_stale_packs()
