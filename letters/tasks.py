"""Letters' background work (scheduled in settings.CELERY_BEAT_SCHEDULE). Thin: ids in, one service each."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def send_due_digests() -> int:
    """Send every due family contact their digest. Two runs at once share the work: each contact is locked
    (SKIP LOCKED) by whichever run gets it first."""
    sent = 0
    for contact_id in services.due_family_contact_ids():
        digest = services.send_family_digest(contact_id)
        sent += digest is not None and digest.status == digest.Status.SENT
    return sent


@shared_task(ignore_result=True)
def send_family_digest(contact_id: int, force: bool = False) -> int | None:
    """One contact's next digest (the admin's "send the next digest now"). A deleted or paused contact is
    skipped."""
    digest = services.send_family_digest(contact_id, force=force)
    return digest.pk if digest else None


@shared_task(ignore_result=True)
def send_delivery_notices() -> dict:
    result = services.send_delivery_notices()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def remind_moderators() -> int:
    return services.remind_moderators()


@shared_task(ignore_result=True)
def reconcile_letter_tallies() -> int:
    return services.reconcile_letter_tallies()
