"""The letters' workflows. Views, admin actions, tasks and commands all call these functions.

- `submit_letter`: a supporter's letter is screened and stored, pending.
- `claim_letter` / `claim_next_letter`: a moderator takes a letter for LETTERS_CLAIM_MINUTES.
- `approve_letters` / `reject_letters`: moderation; approving counts the letter in the ledger in the same
  transaction as the conditional status update.
- `send_family_digest`: one digest of the approved letters a family contact has not received.
- `send_delivery_notices`: tell writers who asked that their message was delivered, then forget their email.
- `remind_moderators`: mail the Moderators group how many letters wait.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaign.lib.ledger import TallyKey, add_to_tallies, refresh_totals, replace_tallies
from campaign.lib.locks import advisory_lock
from campaign.lib.outbox import BatchResult, MailStatus, render_mail, retry_delay, send_outbox_batch
from campaign.models import ActionKind, ActionSource, Case

from .models import Digest, DigestItem, FamilyContact, FlaggedWord, Letter, RejectionReason, private_storage

log = logging.getLogger(__name__)

IMAGE_LINK_SALT = "letters.family-image"
# Approvals hold this lock shared (they run side by side); the recount holds it alone, so it never recounts
# while an approval is half-way.
LEDGER_LOCK = "letters:ledger"
DAY = datetime.timedelta(days=1)

# --- Pre-screening ---------------------------------------------------------------------------------------

_LINK = re.compile(
    r"https?://|www\.|\b[\w-]+\.(?:com|org|net|info|io|ly|me|co|xyz|ru|cn|top|biz|site|online|link|app)\b", re.I
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Eight digits or more, whatever separates them (spaces, dots, dashes, brackets, a leading +); \d also matches
# Arabic-Indic digits.
_PHONE = re.compile(r"(?<!\d)\+?\d(?:[\s().\-/]*\d){7,}")


def normalise_text(text: str) -> str:
    """The text reduced to its words: case, accents' forms, punctuation and spacing do not matter."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def text_fingerprint(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()


@dataclass
class Screening:
    flags: list[str]
    notes: list[str]


def screen_letter(text: str, language: str, text_hash: str, exclude_pk: int | None = None) -> Screening:
    """Reasons for a closer look at this text (never a decision: a flagged letter is still pending)."""
    result = Screening([], [])

    def flag(code: str, note: str) -> None:
        if code not in result.flags:
            result.flags.append(code)
        result.notes.append(note)

    if match := _LINK.search(text):
        flag(Letter.Flag.LINK, _("Link: %(found)s") % {"found": match.group(0)})
    if match := _EMAIL.search(text):
        flag(Letter.Flag.EMAIL, _("Email address: %(found)s") % {"found": match.group(0)})
    if match := _PHONE.search(text):
        flag(Letter.Flag.PHONE, _("Phone number: %(found)s") % {"found": match.group(0).strip()})
    folded = unicodedata.normalize("NFKC", text).casefold()
    for word in FlaggedWord.objects.filter(language=language).values_list("word", flat=True):
        needle = unicodedata.normalize("NFKC", word).casefold().strip()
        if needle and re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", folded):
            flag(Letter.Flag.WORD, _("Word from the list: %(found)s") % {"found": word})
    repeats = Letter.objects.filter(text_hash=text_hash)
    if exclude_pk is not None:
        repeats = repeats.exclude(pk=exclude_pk)
    if n := repeats.count():
        flag(Letter.Flag.REPEAT, _("Same text as %(n)d other letter(s)") % {"n": n})
    return result


# --- Writing ------------------------------------------------------------------------------------------


def submit_letter(
    case: Case, data: dict, image: ContentFile | None, suspicion: str = "", writer_language: str = ""
) -> Letter:
    """Store a supporter's letter (from LetterForm.cleaned_data), screened and pending moderation."""
    letter = Letter(
        case=case,
        addressed_to=data["addressed_to"],
        first_name=data["first_name"].strip(),
        country=data["country"],
        language=data["language"],
        text=data["text"].strip(),
        writer_email=(data.get("writer_email") or "") if data.get("writer_consent") else "",
        writer_consent=bool(data.get("writer_email") and data.get("writer_consent")),
        writer_language=writer_language or settings.LANGUAGE_CODE,
    )
    letter.text_hash = text_fingerprint(letter.text)
    screening = screen_letter(letter.text, letter.language, letter.text_hash)
    if suspicion:
        screening.flags.append(Letter.Flag.BOT)
        screening.notes.append(_("Automatic check: %(rule)s") % {"rule": suspicion})
    letter.flags = " ".join(screening.flags)
    letter.flag_notes = "\n".join(screening.notes)
    if image is not None:
        letter.image.save(image.name, image, save=False)
    letter.save()
    return letter


# --- Moderation -----------------------------------------------------------------------------------------


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
        add_to_tallies(
            (
                TallyKey(
                    letter.case_id,
                    letter.kind,
                    ActionSource.ONLINE,
                    letter.country.code or "",
                    timezone.localdate(letter.created_at),
                ),
                1,
            )
            for letter in letters
        )
        transaction.on_commit(refresh_totals)
    return approved


def reconcile_letter_tallies() -> int:
    """Make the ledger's online letter and drawing tallies exactly the approved letters (nightly repair of
    drift, such as a letter deleted by hand). Returns how many tallies changed."""
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
            counts[kind].append(
                (TallyKey(row["case_id"], kind, ActionSource.ONLINE, row["country"] or "", row["day"]), row["n"])
            )
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


# --- Family digests ------------------------------------------------------------------------------------


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


def send_family_digest(contact_id: int, force: bool = False) -> Digest | None:
    """Send `contact` one digest of the approved letters of their case they have not received yet.

    Called by the beat task for every due contact, and (force=True, ignoring the cadence) by the admin's
    "send the next digest now". Returns the Digest recorded (sent or failed), or None when there was
    nothing to do or another worker holds this contact.

    Exactly once per letter and contact: the contact row is locked (SKIP LOCKED: a second worker moves on),
    the letters not yet sent are read under that lock, and the digest, its items and `sent_at` are written
    in the same transaction as the mail is sent. If the process dies before the commit, nothing is recorded
    and the letters go in the next digest (at-least-once: a duplicate mail is possible only if it dies
    between the SMTP server's acceptance and the commit). The unique (contact, letter) constraint on
    DigestItem makes recording a letter twice impossible.
    """
    now = timezone.now()
    with transaction.atomic():
        contact = (
            FamilyContact.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case")
            .filter(pk=contact_id, paused=False)
            .first()
        )
        if contact is None or (not force and contact.next_digest_at > now):
            return None
        limit = settings.LETTERS_DIGEST_MAX_LETTERS
        letters = list(Letter.objects.not_yet_sent_to(contact).order_by("moderated_at", "pk")[: limit + 1])
        more_waiting = len(letters) > limit
        letters = letters[:limit]
        if not letters:
            # Stay due: the first letter approved from now on goes out at the next run.
            return None
        savepoint = transaction.savepoint()
        try:
            digest = Digest.objects.create(
                contact=contact,
                status=Digest.Status.SENT,
                attempts=contact.failed_attempts + 1,
                letter_count=len(letters),
            )
            message, attached = build_digest_message(contact, letters)
            DigestItem.objects.bulk_create(
                DigestItem(digest=digest, letter=letter, contact=contact, image_attached=letter.pk in attached)
                for letter in letters
            )
            message.send()
        except Exception as exc:  # Recorded on the contact and a failed digest row, retried with backoff.
            transaction.savepoint_rollback(savepoint)
            log.warning("Digest for family contact %s failed: %s", contact.pk, exc)
            contact.failed_attempts += 1
            # Letters must never stop being retried: back off, but at most a day between attempts.
            contact.next_digest_at = now + min(retry_delay(contact.failed_attempts), DAY)
            contact.save(update_fields=["failed_attempts", "next_digest_at"])
            return Digest.objects.create(
                contact=contact,
                status=Digest.Status.FAILED,
                attempts=contact.failed_attempts,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                letter_count=len(letters),
            )
        transaction.savepoint_commit(savepoint)
        sent_at = timezone.now()
        digest.sent_at = sent_at
        digest.save(update_fields=["sent_at"])
        contact.failed_attempts = 0
        contact.next_digest_at = now if more_waiting else now + contact.interval
        contact.save(update_fields=["failed_attempts", "next_digest_at"])
        ids = [letter.pk for letter in letters]
        Letter.objects.filter(pk__in=ids, delivered_at__isnull=True).update(delivered_at=sent_at)
        # Writers who asked are told in the next batch of delivery notices (send_delivery_notices).
        Letter.objects.filter(pk__in=ids, mail_status=MailStatus.NONE, writer_consent=True).exclude(
            writer_email=""
        ).update(mail_status=MailStatus.PENDING, mail_next_attempt_at=sent_at, mail_attempts=0)
        return digest


def due_family_contact_ids(now: datetime.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        FamilyContact.objects.filter(paused=False, next_digest_at__lte=now)
        .filter(case__letters__status=Letter.Status.APPROVED)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Writers' delivery notices --------------------------------------------------------------------------


def _delivery_notice(letter: Letter) -> EmailMessage:
    language = letter.writer_language if letter.writer_language in dict(settings.LANGUAGES) else "en"
    with translation.override(language):
        case_url = settings.SITE_URL + letter.case.get_absolute_url()
    context = {"letter": letter, "case": letter.case, "case_url": case_url}
    return render_mail("letters/mail/delivered", context, [letter.writer_email], language)


def send_delivery_notices(batch_size: int = 200, max_batches: int = 20) -> BatchResult:
    """Tell the writers whose message was delivered, in batches of `batch_size` (each over one SMTP
    connection, claimed with SKIP LOCKED); then erase the addresses of every writer who has been told (or
    could not be after all retries), and of writers whose letter is still undelivered after
    LETTERS_WRITER_EMAIL_DAYS (no family contact, for example)."""
    result = BatchResult()
    for _batch_number in range(max_batches):
        batch = send_outbox_batch(
            Letter.objects.select_related("case").exclude(writer_email=""), _delivery_notice, batch_size=batch_size
        )
        result.sent += batch.sent
        result.failed += batch.failed
        if batch.sent + batch.failed < batch_size:
            break
    told = Q(mail_status__in=[MailStatus.SENT, MailStatus.FAILED])
    too_old = Q(mail_status=MailStatus.NONE, created_at__lt=timezone.now() - settings.LETTERS_WRITER_EMAIL_DAYS * DAY)
    Letter.objects.filter(told | too_old).exclude(writer_email="").update(writer_email="", writer_consent=False)
    return result


# --- Moderators' reminder ------------------------------------------------------------------------------


def remind_moderators() -> int:
    """Mail every active member of the Moderators group how many letters wait, with a link to the queue.
    Returns how many mails were sent (none when nothing waits)."""
    pending = Letter.objects.pending()
    waiting = pending.count()
    if not waiting:
        return 0
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name="Moderators")
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return 0
    queue_url = settings.SITE_URL + reverse("admin:letters_letter_changelist")
    context = {"waiting": waiting, "oldest": oldest, "queue_url": queue_url}
    template = "letters/mail/moderation_reminder"
    messages = [render_mail(template, context, [email], settings.LANGUAGE_CODE) for email in recipients]
    return get_connection().send_messages(messages) or 0
