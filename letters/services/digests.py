"""Family digests: each family contact gets the approved letters of its case it has not had, exactly once per
letter and contact, in one mail in its language; drawings too large to attach are private links.

A digest is sent in three short steps, so that the window in which a crash can send it twice is as small as
it can be (docs/letters.md, "Exactly once per letter and family contact"):

1. `_prepare`: under the contact's row lock (SKIP LOCKED), the letters it has not had are recorded in a
   `Digest` marked `sending` for LETTERS_DIGEST_LEASE_SECONDS, and the mail is built; commit.
2. The mail is sent, outside any transaction.
3. `_record_sent` marks it sent (and the letters delivered); `_record_failure` gives its letters back and
   keeps the error as the outbox does (`campaign.lib.outbox.mail_error`: class and SMTP code only).

A digest still `sending` after its lease (its worker died, or the database went away, between 1 and 3) is
resolved by `resolve_stale_digests` as `uncertain`: it may have arrived, so its letters stay recorded for
that contact and are not sent again by themselves; the Digests admin shows it as "May not have arrived" and
an organizer can send those letters again (`resend_uncertain_digests`).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from campaign.lib.outbox import mail_error, render_mail, retry_delay

from ..models import Digest, DigestItem, FamilyContact, Letter
from .notices import queue_delivery_notices

log = logging.getLogger(__name__)

IMAGE_LINK_SALT = "letters.family-image"
DAY = datetime.timedelta(days=1)


# --- Private links to drawings ---------------------------------------------------------------------------


def image_link_token(letter_id: int, contact_id: int) -> str:
    return signing.dumps({"l": letter_id, "c": contact_id}, salt=IMAGE_LINK_SALT, compress=False)


def letter_for_image_token(token: str) -> Letter | None:
    """The approved letter a family's private link points to, or None if the link is forged or expired."""
    try:
        max_age = datetime.timedelta(days=settings.LETTERS_IMAGE_LINK_DAYS)
        data = signing.loads(token, salt=IMAGE_LINK_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    return (
        Letter.objects.approved()
        .exclude(image="")
        .filter(pk=data.get("l"), digest_items__contact_id=data.get("c"))
        .first()
    )


# --- The mail -------------------------------------------------------------------------------------------


def build_digest_message(contact: FamilyContact, letters: list[Letter]) -> tuple[EmailMessage, set[int]]:
    """The digest mail for `contact` and the ids of the letters whose drawing is attached (the others with a
    drawing get a private link)."""
    attached: dict[int, bytes] = {}
    budget = settings.LETTERS_DIGEST_ATTACH_MAX_BYTES
    links: dict[int, str] = {}
    for letter in letters:
        if not letter.image:
            continue
        try:
            size = letter.image.size
            data = letter.image.open("rb").read() if size <= budget else b""
        except OSError:
            # A lost file must not hold back every letter of the digest: send the words without the drawing.
            log.error("Drawing of letter %s is missing from private storage (%s)", letter.pk, letter.image.name)
            continue
        finally:
            letter.image.close()
        if size <= budget:
            attached[letter.pk] = data
            budget -= size
        else:
            with translation.override(contact.language):
                path = reverse("letters:family-image", kwargs={"token": image_link_token(letter.pk, contact.pk)})
            links[letter.pk] = settings.SITE_URL + path
    entries = [
        {
            "letter": letter,
            "attachment": f"drawing-{letter.pk}.jpg" if letter.pk in attached else "",
            "link": links.get(letter.pk, ""),
        }
        for letter in letters
    ]
    context = {
        "contact": contact,
        "case": contact.case,
        "entries": entries,
        "letter_count": len(letters),
        "country_count": len({letter.country.code for letter in letters}),
        "link_days": settings.LETTERS_IMAGE_LINK_DAYS,
    }
    message = render_mail("letters/mail/digest", context, to=[contact.email], language=contact.language)
    for letter_id, data in attached.items():
        message.attach(f"drawing-{letter_id}.jpg", data, "image/jpeg")
    return message, set(attached)


# --- Sending ------------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    digest: Digest
    contact: FamilyContact
    message: EmailMessage
    letter_ids: list[int]
    more_waiting: bool
    started: datetime.datetime


def send_due_digests() -> int:
    """Resolve digests left `sending` past their lease, then send every due family contact their digest;
    returns how many were sent. Called by beat every LETTERS_DIGEST_INTERVAL_SECONDS; two runs at once share
    the work (each contact is locked, SKIP LOCKED, by whichever run gets it first)."""
    resolve_stale_digests()
    sent = 0
    for contact_id in due_family_contact_ids():
        digest = send_family_digest(contact_id)
        sent += digest is not None and digest.status == Digest.Status.SENT
    return sent


def due_family_contact_ids(now: datetime.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        FamilyContact.objects.by_email()
        .filter(paused=False, next_digest_at__lte=now)
        .filter(case__letters__status=Letter.Status.APPROVED)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def send_family_digest(contact_id: int, force: bool = False) -> Digest | None:
    """Send `contact` one digest of the approved letters of their case they have not received yet.

    Called for every due contact by `send_due_digests`, and (force=True, ignoring the cadence) by the admin's
    "send the next digest now". Returns the Digest recorded (sent or failed), or None when there was nothing
    to do, another worker holds this contact, or a digest of this contact is being sent.

    Exactly once per letter and contact: the letters are read under the contact's lock and recorded for it
    (DigestItem, unique per contact and letter) before the mail goes out, so no other run sends them again;
    a failed send gives them back. See the module's docstring for a crash in the middle.
    """
    prepared = _prepare(contact_id, force)
    if not isinstance(prepared, _Prepared):
        return prepared
    try:
        prepared.message.send()
    except Exception as exc:  # Refused or unreachable: the letters go back and are retried with backoff.
        return _record_failure(prepared, exc)
    return _record_sent(prepared)


def _prepare(contact_id: int, force: bool) -> _Prepared | Digest | None:
    """Step 1: record the digest as being sent, with its letters, and build its mail (or a failed Digest if the
    mail cannot be built, or None)."""
    now = timezone.now()
    with transaction.atomic():
        # A contact reached on paper only (or with no address) gets letters packs, never digests.
        contact = (
            FamilyContact.objects.by_email()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("case")
            .filter(pk=contact_id, paused=False)
            .first()
        )
        if contact is None or (not force and contact.next_digest_at > now):
            return None
        resolve_stale_digests(contact.digests.all(), now)
        if contact.digests.filter(status=Digest.Status.SENDING).exists():
            return None  # its worker is still sending it, within its lease
        limit = settings.LETTERS_DIGEST_MAX_LETTERS
        letters = list(Letter.objects.not_yet_sent_to(contact).order_by("moderated_at", "pk")[: limit + 1])
        more_waiting = len(letters) > limit
        letters = letters[:limit]
        if not letters:
            # Stay due: the first letter approved from now on goes out at the next run.
            return None
        attempt = contact.failed_attempts + 1
        try:
            message, attached = build_digest_message(contact, letters)
        except Exception as exc:  # A template or storage fault: recorded like a refused send, retried later.
            digest = Digest.objects.create(
                contact=contact, status=Digest.Status.FAILED, attempts=attempt, letter_count=len(letters)
            )
            _fail(digest, contact.pk, exc, now)
            return digest
        digest = Digest.objects.create(
            contact=contact,
            status=Digest.Status.SENDING,
            sending_until=now + datetime.timedelta(seconds=settings.LETTERS_DIGEST_LEASE_SECONDS),
            attempts=attempt,
            letter_count=len(letters),
        )
        DigestItem.objects.bulk_create(
            DigestItem(digest=digest, letter=letter, contact=contact, image_attached=letter.pk in attached)
            for letter in letters
        )
    return _Prepared(digest, contact, message, [letter.pk for letter in letters], more_waiting, now)


def _record_sent(prepared: _Prepared) -> Digest:
    """Step 3, once the server accepted the mail: the digest is sent, its letters delivered, the writers who
    asked queued for their notice (`notices.send_delivery_notices`), the contact due again."""
    digest, contact, ids = prepared.digest, prepared.contact, prepared.letter_ids
    sent_at = timezone.now()
    next_due = prepared.started if prepared.more_waiting else prepared.started + contact.interval
    with transaction.atomic():
        # Also from `uncertain`: a worker slower than its lease did send it after all.
        Digest.objects.filter(pk=digest.pk, status__in=[Digest.Status.SENDING, Digest.Status.UNCERTAIN]).update(
            status=Digest.Status.SENT, sent_at=sent_at
        )
        FamilyContact.objects.filter(pk=contact.pk).update(failed_attempts=0, next_digest_at=next_due)
        queue_delivery_notices(ids, sent_at)
    digest.refresh_from_db()
    return digest


def _record_failure(prepared: _Prepared, exc: Exception) -> Digest:
    """Step 3, when the send failed: the letters are no longer recorded for the contact, so the next attempt
    (with backoff) carries them again."""
    digest = prepared.digest
    with transaction.atomic():
        DigestItem.objects.filter(digest=digest).delete()
        _fail(digest, prepared.contact.pk, exc, prepared.started)
    digest.refresh_from_db()
    return digest


def _fail(digest: Digest, contact_id: int, exc: Exception, now: datetime.datetime) -> None:
    error = mail_error(exc)  # the class and SMTP code, never the server's text, which quotes the address
    log.warning("Digest %s for family contact %s failed: %s", digest.pk, contact_id, error)
    failing = [Digest.Status.SENDING, Digest.Status.UNCERTAIN, Digest.Status.FAILED]
    Digest.objects.filter(pk=digest.pk, status__in=failing).update(status=Digest.Status.FAILED, last_error=error)
    # Letters must never stop being retried: back off, but at most a day between attempts.
    FamilyContact.objects.filter(pk=contact_id).update(
        failed_attempts=digest.attempts, next_digest_at=now + min(retry_delay(digest.attempts), DAY)
    )


# --- Digests whose worker died ----------------------------------------------------------------------------


def resolve_stale_digests(digests=None, now: datetime.datetime | None = None) -> int:
    """Mark `uncertain` the digests (of `digests`, default all) still `sending` after their lease: their
    worker died between recording and marking them, so the mail may or may not have gone. Their letters stay
    recorded for the contact (erring to send once); organizers see them and can send them again."""
    now = now or timezone.now()
    stale = (digests if digests is not None else Digest.objects.all()).filter(
        status=Digest.Status.SENDING, sending_until__lte=now
    )
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    log.warning("Digests %s were left being sent past their lease: they may not have arrived", ids)
    return Digest.objects.filter(pk__in=ids, status=Digest.Status.SENDING).update(status=Digest.Status.UNCERTAIN)


def resend_uncertain_digests(digest_ids: list[int]) -> list[int]:
    """Give the letters of the `uncertain` digests among `digest_ids` back to their contacts, so that the next
    digest of each carries them again; returns the contact's id of each digest given back (the caller sends
    their next digest now). For the Digests admin's "send these letters again"."""
    with transaction.atomic():
        digests = list(
            Digest.objects.select_for_update().filter(pk__in=list(digest_ids), status=Digest.Status.UNCERTAIN)
        )
        if not digests:
            return []
        DigestItem.objects.filter(digest__in=digests).delete()
        Digest.objects.filter(pk__in=[d.pk for d in digests]).update(status=Digest.Status.RESENT)
        contact_ids = [d.contact_id for d in digests]
        FamilyContact.objects.filter(pk__in=contact_ids).update(next_digest_at=timezone.now())
    return contact_ids
