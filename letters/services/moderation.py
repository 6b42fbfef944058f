"""Moderation: a moderator claims a letter, approves or rejects it; approving counts it in the ledger in the
same transaction as the conditional status update. The nightly recount repairs the ledger's drift."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaign.lib.ledger import TallyKey, add_to_tallies, refresh_totals, replace_tallies, tally_key
from campaign.lib.locks import advisory_lock
from campaign.lib.outbox import MailStatus
from campaign.models import ActionKind, ActionSource

from ..models import Letter, RejectionReason, private_storage

# Approvals hold this lock shared (they run side by side); the recount holds it alone, so it never recounts
# while an approval is half-way.
LEDGER_LOCK = "letters:ledger"


def _claim_expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=settings.LETTERS_CLAIM_MINUTES)


def _free_or_mine(user, now: datetime.datetime) -> Q:
    return Q(claimed_by__isnull=True) | Q(claimed_until__lte=now) | Q(claimed_by=user)


def claim_letter(letter_id: int, user) -> tuple[Letter | None, bool]:
    """Claim a pending letter for `user` unless another moderator holds an unexpired claim.

    Returns the letter (None if it is gone) and whether `user` now holds the claim. Call when a moderator
    opens the letter."""
    now = timezone.now()
    with transaction.atomic():
        letter = Letter.objects.select_for_update().filter(pk=letter_id).first()
        if letter is None or letter.status != Letter.Status.PENDING:
            return letter, False
        if letter.is_claimed_by_other(user, now):
            return letter, False
        letter.claimed_by = user
        letter.claimed_until = _claim_expiry()
        letter.save(update_fields=["claimed_by", "claimed_until"])
        return letter, True


def claim_next_letter(user) -> Letter | None:
    """Claim the oldest pending letter nobody else is working on. Two moderators asking at once get two
    different letters (SKIP LOCKED)."""
    now = timezone.now()
    with transaction.atomic():
        letter = (
            Letter.objects.pending()
            .filter(_free_or_mine(user, now))
            .select_for_update(skip_locked=True)
            .order_by("created_at", "pk")
            .first()
        )
        if letter is None:
            return None
        letter.claimed_by = user
        letter.claimed_until = _claim_expiry()
        letter.save(update_fields=["claimed_by", "claimed_until"])
        return letter


def release_claim(letter_id: int, user) -> None:
    Letter.objects.filter(pk=letter_id, claimed_by=user).update(claimed_by=None, claimed_until=None)


def _lock_pending(letter_ids: Iterable[int], user) -> list[Letter]:
    """Lock the still-pending letters among `letter_ids` that no other moderator has claimed."""
    return list(
        Letter.objects.pending()
        .filter(pk__in=list(letter_ids))
        .filter(_free_or_mine(user, timezone.now()))
        .select_for_update(of=("self",))
        .order_by("pk")
    )


def _letter_tally(letter: Letter) -> TallyKey:
    """Where an approved letter counts: its kind, online, the writer's country, the day it was written.
    `reconcile_letter_tallies` groups the approved letters the same way."""
    return tally_key(letter.case_id, letter.kind, ActionSource.ONLINE, letter.country.code, letter.created_at)


def approve_letters(letter_ids: Iterable[int], user) -> int:
    """Approve the pending letters among `letter_ids` and count them in the ledger; return how many.

    Letters already moderated, or claimed by another moderator, are left alone (the caller reports the
    difference). Status and tallies change in one transaction, so a letter is counted exactly once."""
    now = timezone.now()
    with transaction.atomic():
        advisory_lock(LEDGER_LOCK, shared=True)
        letters = _lock_pending(letter_ids, user)
        if not letters:
            return 0
        approved = Letter.objects.filter(pk__in=[x.pk for x in letters], status=Letter.Status.PENDING).update(
            status=Letter.Status.APPROVED, moderated_by=user, moderated_at=now, claimed_by=None, claimed_until=None
        )
        # The rows are locked and still pending, so the update changed exactly these letters: they are the
        # ones counted, no more, no less.
        add_to_tallies((_letter_tally(letter), 1) for letter in letters)
        transaction.on_commit(refresh_totals)
    return approved


def reconcile_letter_tallies() -> int:
    """Make the ledger's online letter and drawing tallies exactly the approved letters (nightly repair of
    drift, such as a letter deleted by hand). Returns how many tallies changed.

    Groups the letters as `_letter_tally` counts one: by the day written in TIME_ZONE (TruncDate uses the
    current time zone), which `tally_key` keeps as it is."""
    with transaction.atomic():
        advisory_lock(LEDGER_LOCK)
        counts: dict[str, list[tuple[TallyKey, int]]] = {ActionKind.LETTER: [], ActionKind.DRAWING: []}
        rows = (
            Letter.objects.approved()
            .annotate(day=TruncDate("created_at"), drawing=ExpressionWrapper(~Q(image=""), output_field=BooleanField()))
            .values("case_id", "country", "day", "drawing")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in rows:
            kind = ActionKind.DRAWING if row["drawing"] else ActionKind.LETTER
            key = tally_key(row["case_id"], kind, ActionSource.ONLINE, row["country"], row["day"])
            counts[kind].append((key, row["n"]))
        changed = sum(replace_tallies(kind, ActionSource.ONLINE, items) for kind, items in counts.items())
        if changed:
            transaction.on_commit(refresh_totals)
    return changed


def reject_letters(letter_ids: Iterable[int], reason: RejectionReason, user) -> int:
    """Reject the pending letters among `letter_ids` with `reason`; return how many.

    A rejected letter is never delivered, so the writer's email (kept only to announce delivery) and the
    image go now; the text stays for the moderators' record."""
    now = timezone.now()
    with transaction.atomic():
        letters = _lock_pending(letter_ids, user)
        if not letters:
            return 0
        images = [letter.image.name for letter in letters if letter.image]
        # Files are not transactional: remove them only once the rejection is committed.
        transaction.on_commit(lambda: [private_storage.delete(name) for name in images])
        return Letter.objects.filter(pk__in=[x.pk for x in letters], status=Letter.Status.PENDING).update(
            image="",
            status=Letter.Status.REJECTED,
            rejection_reason=reason,
            moderated_by=user,
            moderated_at=now,
            claimed_by=None,
            claimed_until=None,
            writer_email="",
            writer_consent=False,
            mail_status=MailStatus.NONE,
        )


def approve_letter(letter: Letter, user) -> bool:
    return approve_letters([letter.pk], user) == 1


def reject_letter(letter: Letter, reason: RejectionReason, user) -> bool:
    return reject_letters([letter.pk], reason, user) == 1
