"""Every petition workflow, called by views, admin actions, tasks and commands alike.

- `sign_petition`: the web request's whole job. Validates nothing itself (the form did), makes no call to the
  broker or to SMTP: one INSERT ... ON CONFLICT DO NOTHING, or, for a repeat, one conditional UPDATE that
  queues a mail to the address owner.
- `send_confirmations`: the periodic task's job; the signature rows are the outbox.
- `confirm_signature` / `remove_pending_signature`: the two links of the mail.
- `count_signatures` (every few seconds) and `reconcile_signatures` (nightly): the rollup into the ledger.
- `invalidate_signatures`: staff, one by one or in bulk, taking counted signatures back out of the ledger.
- `import_paper_signatures`: organizers' CSV of paper sheets.
- `forget_old_data`: deletes unconfirmed signatures and blanks network addresses when they are no longer needed.
"""

from __future__ import annotations

import csv
import datetime
import enum
import functools
import hashlib
import io
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django_countries import countries

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from campaign.lib.locks import advisory_lock
from campaign.lib.outbox import (
    BatchResult,
    MailStatus,
    mail_message,
    render_mail,
    render_mail_texts,
    send_outbox,
)
from campaign.models import ActionKind, Case

from .models import OutcomeMail, OutcomeMailing, PaperCount, PaperImport, Signature, normalise_email

log = logging.getLogger(__name__)

ROLLUP_LOCK = "petitions:count-signatures"
_CONFIRM_SALT = "petitions.confirm"
_REMOVE_SALT = "petitions.remove"


# --- Signing ------------------------------------------------------------------------------------------


class SignOutcome(enum.Enum):
    NEW = "new"
    # The address had signed this petition already: the screen says the same as for NEW (it never reveals
    # who signed); the owner gets a mail, unless they asked for too many.
    REPEAT = "repeat"
    CLOSED = "closed"


@dataclass
class SignatureData:
    name: str
    email: str
    country: str
    wants_news: bool = False
    language: str = settings.LANGUAGE_CODE
    ip: str | None = None
    flag_rule: str = ""


def sign_petition(case: Case, data: SignatureData) -> SignOutcome:
    """Store a signature as pending, or queue a mail to the owner of an address that signed already.

    Call after the form validated and the rate limits passed. Makes no call to the broker or to SMTP, so
    signing goes on while Redis or the mail server is down. `case` must come with its campaign loaded.
    """
    if not case.is_open():
        return SignOutcome.CLOSED
    now = timezone.now()
    signature = Signature(
        case=case,
        name=data.name,
        email=data.email,
        email_normalised=normalise_email(data.email),
        country=data.country,
        language=data.language,
        wants_news=data.wants_news,
        ip=data.ip or None,
        flagged=bool(data.flag_rule),
        flag_rule=data.flag_rule,
        # A flagged signature gets no mail: a bot must not be able to send our mail to strangers.
        mail_status=MailStatus.NONE if data.flag_rule else MailStatus.PENDING,
        mail_next_attempt_at=now,
        created_at=now,
    )
    if _insert_unless_signed(signature):
        return SignOutcome.NEW
    if not data.flag_rule and not _take_over_flagged(signature):
        queue_repeat_mail(case.pk, signature.email_normalised)
    return SignOutcome.REPEAT


def _take_over_flagged(signature: Signature) -> bool:
    """A bot signed first with this person's address (flagged, never mailed): the person's own clean
    submission replaces it, so a bot cannot keep someone from signing."""
    return bool(
        Signature.objects.filter(
            case_id=signature.case_id,
            email_normalised=signature.email_normalised,
            status=Signature.Status.PENDING,
            flagged=True,
        ).update(
            name=signature.name,
            email=signature.email,
            country=signature.country,
            language=signature.language,
            wants_news=signature.wants_news,
            ip=signature.ip,
            flagged=False,
            flag_rule="",
            mail_status=MailStatus.PENDING,
            mail_attempts=0,
            mail_next_attempt_at=signature.mail_next_attempt_at,
            created_at=signature.created_at,
        )
    )


@functools.cache
def _insert_statement() -> tuple[list, str]:
    """The signature's columns and the INSERT of `_insert_unless_signed`, built once per process."""
    fields = [f for f in Signature._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(Signature._meta.db_table)
    # Only names from the model are formatted in; every value is a query parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING id"  # noqa: S608
    return fields, sql


def _insert_unless_signed(signature: Signature) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True when the row went in, False when the address had signed.

    One round trip, and no exception to recover from when two identical submissions race: the unique
    constraint on (case, normalised email) lets exactly one of them in.
    """
    fields, sql = _insert_statement()
    values = [f.get_db_prep_save(f.pre_save(signature, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    signature.pk = row[0]
    return True


def queue_repeat_mail(case_id: int, email_normalised: str) -> bool:
    """Put a signature back in the outbox for its owner: a fresh link if pending, "already signed" if
    confirmed. Capped at PETITION_REPEAT_MAILS_MAX per signature so nobody can flood an inbox through the
    form. True when a mail was queued."""
    updated = (
        Signature.objects.filter(
            case_id=case_id,
            email_normalised=email_normalised,
            status__in=[Signature.Status.PENDING, Signature.Status.CONFIRMED],
            flagged=False,
            repeat_mails__lt=settings.PETITION_REPEAT_MAILS_MAX,
        )
        # A mail still waiting to go out will do: no second one.
        .exclude(mail_status=MailStatus.PENDING)
        .update(
            mail_status=MailStatus.PENDING,
            mail_attempts=0,
            mail_next_attempt_at=timezone.now(),
            mail_last_error="",
            repeat_mails=F("repeat_mails") + 1,
        )
    )
    return bool(updated)


def send_new_links(email: str) -> int:
    """For the "get a new link" form: queue a fresh link for every pending signature of this address.

    Returns how many were queued; the page says the same whatever the number, so it reveals nothing.
    """
    queued = 0
    normalised = normalise_email(email)
    case_ids = Signature.objects.filter(email_normalised=normalised, status=Signature.Status.PENDING).values_list(
        "case_id", flat=True
    )
    for case_id in list(case_ids):
        queued += queue_repeat_mail(case_id, normalised)
    return queued


# --- Links in the mail -----------------------------------------------------------------------------------


def confirmation_token(signature_id: int) -> str:
    return signing.TimestampSigner(salt=_CONFIRM_SALT).sign(str(signature_id))


def removal_token(signature_id: int) -> str:
    return signing.TimestampSigner(salt=_REMOVE_SALT).sign(str(signature_id))


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def read_token(token: str, removal: bool = False) -> tuple[LinkState, int | None]:
    """The signature id a link carries, and whether the link is still valid, expired or forged.

    An expired link still names its signature (its signature is genuine), so the page can offer a new one.
    """
    signer = signing.TimestampSigner(salt=_REMOVE_SALT if removal else _CONFIRM_SALT)
    max_age = datetime.timedelta(days=settings.PETITION_CONFIRM_LINK_DAYS)
    try:
        return LinkState.VALID, int(signer.unsign(token, max_age=max_age))
    except signing.SignatureExpired:
        try:
            return LinkState.EXPIRED, int(signer.unsign(token))
        except (signing.BadSignature, ValueError):
            return LinkState.INVALID, None
    except (signing.BadSignature, ValueError):
        return LinkState.INVALID, None


def confirm_signature(signature_id: int) -> Signature | None:
    """Confirm a pending signature. Returns it (id, status and case only) to the one request that really
    confirmed it, None to any other.

    One conditional UPDATE ... RETURNING: a double click, a second tab or two racing requests confirm once,
    the rollup (count_signatures) counts it once, and the common case is one round trip.
    """
    table = connection.ops.quote_name(Signature._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, confirmed_at = %s WHERE id = %s AND status = %s RETURNING case_id",  # noqa: S608
            [Signature.Status.CONFIRMED, timezone.now(), signature_id, Signature.Status.PENDING],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Signature(id=signature_id, case_id=row[0], status=Signature.Status.CONFIRMED)


def remove_pending_signature(signature_id: int) -> bool:
    """ "This was not me": delete a signature that was never confirmed. A confirmed one stays."""
    deleted, _ = Signature.objects.filter(pk=signature_id, status=Signature.Status.PENDING).delete()
    return bool(deleted)


def resend_link(signature_id: int) -> bool:
    """An expired link's "send me a new one" button."""
    signature = Signature.objects.filter(pk=signature_id).values("case_id", "email_normalised").first()
    if signature is None:
        return False
    return queue_repeat_mail(signature["case_id"], signature["email_normalised"])


# --- The confirmation outbox -------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


class SignatureMails:
    """The outbox's mails for one run of the sender: the confirmation link if pending, "already signed" if
    confirmed, in the signer's language.

    Each template is rendered once per case, language and kind of mail, with slots where the signer's name
    and links go; each mail is then those texts with the slots filled in (escaped in the HTML part). That
    gives the same mail as rendering the templates for every signature (tested), for a fraction of the CPU:
    during a surge the sender renders thousands a minute. Cases are read once per run, not joined onto
    every row (a case row carries its texts in every language).
    """

    _SLOT = re.compile("\x00(name|confirm_url|remove_url)\x00")

    def __init__(self) -> None:
        self._cases: dict[int, Case] = {}
        self._texts: dict[tuple, tuple[str, str, str]] = {}
        self._links: dict[tuple[str, str], tuple[str, str]] = {}

    def build(self, signature: Signature) -> EmailMessage:
        if signature.status == Signature.Status.CONFIRMED:
            base = "petitions/mail/already_signed"
        elif signature.status == Signature.Status.PENDING:
            base = "petitions/mail/confirm"
        else:
            raise ValueError(f"No mail for a signature that is {signature.status}")
        language = signature.language if signature.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        key = (base, language, signature.case_id)
        if key not in self._texts:
            self._texts[key] = self._render(base, language, self._case(signature.case_id))
        values = {
            "name": signature.name,
            "confirm_url": self._link("petitions:confirm", language, confirmation_token(signature.pk)),
            "remove_url": self._link("petitions:remove", language, removal_token(signature.pk)),
        }
        escaped = {slot: escape(value) for slot, value in values.items()}
        subject, text, html = self._texts[key]
        return mail_message(
            self._SLOT.sub(lambda m: values[m.group(1)], subject),
            self._SLOT.sub(lambda m: values[m.group(1)], text),
            self._SLOT.sub(lambda m: escaped[m.group(1)], html),
            [signature.email],
        )

    def _case(self, case_id: int) -> Case:
        if case_id not in self._cases:
            self._cases[case_id] = Case.objects.select_related("campaign").get(pk=case_id)
        return self._cases[case_id]

    def _render(self, base: str, language: str, case: Case) -> tuple[str, str, str]:
        with translation.override(language):
            case_url = _absolute(case.get_absolute_url())
        context = {
            "signature": {"name": "\x00name\x00"},
            "case": case,
            "case_url": case_url,
            "confirm_url": "\x00confirm_url\x00",
            "remove_url": "\x00remove_url\x00",
            "link_days": settings.PETITION_CONFIRM_LINK_DAYS,
        }
        return render_mail_texts(base, context, language)

    def _link(self, name: str, language: str, token: str) -> str:
        """The absolute address of a link page for this token (the URL pattern is reversed once)."""
        if (name, language) not in self._links:
            with translation.override(language):
                before, _, after = reverse(name, args=["TOKEN"]).partition("TOKEN")
            self._links[name, language] = (_absolute(before), after)
        before, after = self._links[name, language]
        # Tokens are made of URL-safe characters only (base64url and ":"), as reverse() would leave them.
        return before + token + after


def send_confirmations(time_budget: float | None = None) -> BatchResult:
    """Send the outbox in batches over one SMTP connection each, until it is empty or `time_budget`
    seconds have passed. Safe to run in several workers at once (SELECT ... FOR UPDATE SKIP LOCKED)."""
    outbox = Signature.objects.filter(status__in=[Signature.Status.PENDING, Signature.Status.CONFIRMED])
    return send_outbox(
        outbox,
        SignatureMails().build,
        settings.PETITION_MAIL_BATCH_SIZE,
        settings.PETITION_MAIL_TASK_SECONDS if time_budget is None else time_budget,
    )


# --- How the case turned out ----------------------------------------------------------------------------
# Signers who ticked "tell me how this case turns out" get the case's outcome once, in their language, when
# an organizer mails it from the admin (OutcomeMailing). Each copy is an outbox row; a periodic task sends them.

_NEWS_SALT = "petitions.stop-news"


class AlreadyMailed(Exception):
    """The outcome of this case was mailed already: each signer gets it once."""


def outcome_recipients(case: Case) -> QuerySet[Signature]:
    """The signers of `case` who asked for its outcome and can still be written to."""
    return Signature.objects.filter(
        case=case, wants_news=True, status=Signature.Status.CONFIRMED, flagged=False
    ).exclude(email="")


def mail_outcome(case: Case, user: AbstractBaseUser | None) -> OutcomeMailing:
    """Queue the case's outcome for every signer who asked for it. Once per case: a second call raises
    AlreadyMailed (two organizers clicking at once make one mailing: the case is unique)."""
    if not (case.outcome or "").strip():
        raise ValueError("The case has no outcome to mail.")
    with transaction.atomic():
        mailing, created = OutcomeMailing.objects.get_or_create(case=case, defaults={"created_by": user})
        if not created:
            raise AlreadyMailed(str(case))
        now = timezone.now()
        ids = outcome_recipients(case).values_list("pk", flat=True)
        mails = [OutcomeMail(mailing=mailing, signature_id=pk, mail_next_attempt_at=now) for pk in ids.iterator()]
        OutcomeMail.objects.bulk_create(mails, batch_size=5000)
        mailing.recipients = len(mails)
        mailing.save(update_fields=["recipients"])
    return mailing


def news_token(signature_id: int) -> str:
    return signing.Signer(salt=_NEWS_SALT).sign(str(signature_id))


def read_news_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=_NEWS_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def stop_news(signature_id: int) -> bool:
    """The "no more news" link: the signer gets no outcome mail, and their address is kept only as long as
    any other signer's (PETITION_EMAIL_DAYS_AFTER_CLOSE). True when something changed."""
    return bool(Signature.objects.filter(pk=signature_id, wants_news=True).update(wants_news=False))


def _outcome_mail(mail: OutcomeMail, cases: dict[int, Case]) -> EmailMessage:
    signature = mail.signature
    if signature.case_id not in cases:
        cases[signature.case_id] = Case.objects.select_related("campaign").get(pk=signature.case_id)
    case = cases[signature.case_id]
    language = signature.language if signature.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    with translation.override(language):
        stop_url = _absolute(reverse("petitions:stop_news", args=[news_token(signature.pk)]))
        context = {
            "name": signature.name,
            "case": case,
            "case_url": _absolute(case.get_absolute_url()),
            "stop_url": stop_url,
        }
    message = render_mail("petitions/mail/outcome", context, [signature.email], language)
    message.extra_headers["List-Unsubscribe"] = f"<{stop_url}>"
    return message


def send_outcome_mails(time_budget: float | None = None) -> BatchResult:
    """Send the outcome outbox in batches (SKIP LOCKED, one SMTP connection each), like the confirmations.
    A signer who stopped the news, or whose address was erased meanwhile, is skipped."""
    outbox = (
        OutcomeMail.objects.select_related("signature").filter(signature__wants_news=True).exclude(signature__email="")
    )
    cases: dict[int, Case] = {}
    return send_outbox(
        outbox,
        lambda mail: _outcome_mail(mail, cases),
        settings.PETITION_MAIL_BATCH_SIZE,
        settings.PETITION_MAIL_TASK_SECONDS if time_budget is None else time_budget,
    )


# --- Counting ---------------------------------------------------------------------------------------------


def _day(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment)


ROLLUP_BATCH = 5000


def count_signatures() -> int:
    """Fold newly confirmed, unflagged signatures into the ledger, then refresh the cached totals.

    Single runner: returns 0 at once if another run holds the lock. Each batch is one transaction that
    adds to the tallies and marks its rows counted, so a tally moves exactly when its rows do. The
    tally key must stay the one `reconcile_signatures` and `invalidate_signatures` compute.
    """
    counted = 0
    while True:
        with transaction.atomic():
            if not advisory_lock(ROLLUP_LOCK, wait=False):
                return counted
            rows = list(
                Signature.objects.to_count()
                .select_for_update()
                .order_by("pk")
                .values_list("pk", "case_id", "source", "country", "confirmed_at")[:ROLLUP_BATCH]
            )
            if rows:
                ledger.add_to_tallies(
                    (TallyKey(case_id, ActionKind.SIGNATURE, source, country, _day(confirmed_at)), 1)
                    for _, case_id, source, country, confirmed_at in rows
                )
                Signature.objects.filter(pk__in=[r[0] for r in rows]).update(counted_at=timezone.now())
                counted += len(rows)
        if len(rows) < ROLLUP_BATCH:
            break
    if counted:
        ledger.refresh_totals()
    return counted


def _recount(source: str) -> Counter[TallyKey]:
    counts: Counter[TallyKey] = Counter()
    rows = (
        Signature.objects.countable()
        .filter(source=source, counted_at__isnull=False)
        .values_list("case_id", "country", "confirmed_at")
        .iterator(chunk_size=10_000)
    )
    for case_id, country, confirmed_at in rows:
        counts[TallyKey(case_id, ActionKind.SIGNATURE, source, country, _day(confirmed_at))] += 1
    if source == Signature.Source.PAPER:
        for case_id, country, day, n in PaperCount.objects.values_list(
            "paper_import__case_id", "country", "paper_import__day", "count"
        ):
            counts[TallyKey(case_id, ActionKind.SIGNATURE, source, country, day)] += n
    return counts


def reconcile_signatures(wait_seconds: float = 300) -> int:
    """Nightly: make the signature tallies exactly what the rows say, and log the drift repaired.

    Holds the rollup's lock (waiting up to `wait_seconds` for a running rollup), so nothing is counted
    while it recounts. Returns how many tally keys it changed.
    """
    with transaction.atomic():
        if not advisory_lock(ROLLUP_LOCK, wait=wait_seconds):
            log.error("Signature reconciliation skipped: the rollup lock stayed busy for %ss", wait_seconds)
            return 0
        changed = 0
        for source in Signature.Source.values:
            drift = ledger.replace_tallies(ActionKind.SIGNATURE, source, _recount(source).items())
            if drift:
                log.warning("Reconciled %s %s signature tallies that had drifted", drift, source)
            changed += drift
    ledger.refresh_totals()
    return changed


# --- Staff: invalidation -------------------------------------------------------------------------------------


@dataclass
class InvalidationFilter:
    """Which signatures a bulk invalidation touches. Empty parts do not filter."""

    case_id: int | None = None
    domain: str = ""
    ip_first: str = ""
    ip_last: str = ""
    signed_from: datetime.datetime | None = None
    signed_until: datetime.datetime | None = None

    def is_empty(self) -> bool:
        return not (self.domain or self.ip_first or self.signed_from or self.signed_until)

    def queryset(self) -> QuerySet[Signature]:
        signatures = Signature.objects.exclude(status=Signature.Status.INVALIDATED)
        if self.case_id:
            signatures = signatures.filter(case_id=self.case_id)
        if self.domain:
            signatures = signatures.filter(email_normalised__endswith="@" + self.domain.strip().lower())
        if self.ip_first:
            signatures = signatures.filter(ip__gte=self.ip_first, ip__lte=self.ip_last or self.ip_first)
        if self.signed_from:
            signatures = signatures.filter(created_at__gte=self.signed_from)
        if self.signed_until:
            signatures = signatures.filter(created_at__lt=self.signed_until)
        return signatures


@dataclass
class InvalidationPreview:
    total: int
    counted: int
    by_status: dict[str, int]


def preview_invalidation(signatures: QuerySet[Signature]) -> InvalidationPreview:
    by_status = dict(signatures.values_list("status").annotate(n=Count("pk")).order_by())
    counted = signatures.filter(counted_at__isnull=False).count()
    return InvalidationPreview(total=sum(by_status.values()), counted=counted, by_status=by_status)


def _lock_and_uncount(signatures: QuerySet[Signature]) -> list[int]:
    """Lock the rows (FOR UPDATE) and subtract the counted ones from the ledger; returns their ids.

    Call inside a transaction. The row locks keep it from racing the rollup: a row the rollup is counting
    is handled after it was counted, and subtracted; a row handled first is never counted.
    """
    rows = list(
        Signature.objects.filter(pk__in=signatures.values("pk"))
        .select_for_update()
        .values_list("pk", "case_id", "source", "country", "confirmed_at", "counted_at", "flagged", "status")
    )
    ledger.add_to_tallies(
        (TallyKey(case_id, ActionKind.SIGNATURE, source, country, _day(confirmed_at)), -1)
        for _, case_id, source, country, confirmed_at, counted_at, flagged, status in rows
        if counted_at is not None and not flagged and status == Signature.Status.CONFIRMED
    )
    return [r[0] for r in rows]


def invalidate_signatures(signatures: QuerySet[Signature]) -> int:
    """Invalidate signatures and take the counted ones back out of the ledger, in one transaction."""
    with transaction.atomic():
        ids = _lock_and_uncount(signatures.exclude(status=Signature.Status.INVALIDATED))
        if not ids:
            return 0
        Signature.objects.filter(pk__in=ids).update(status=Signature.Status.INVALIDATED, mail_status=MailStatus.NONE)
    ledger.refresh_totals()
    return len(ids)


def delete_signatures(signatures: QuerySet[Signature]) -> int:
    """Erase signatures (a person's request to be forgotten), taking the counted ones out of the ledger."""
    with transaction.atomic():
        ids = _lock_and_uncount(signatures)
        deleted, _ = Signature.objects.filter(pk__in=ids).delete()
    ledger.refresh_totals()
    return deleted


def clear_flags(signatures: QuerySet[Signature]) -> int:
    """Staff decided flagged signatures are real people: pending ones get their confirmation mail now,
    confirmed ones are counted by the next rollup."""
    with transaction.atomic():
        flagged = signatures.filter(flagged=True).exclude(status=Signature.Status.INVALIDATED)
        ids = list(flagged.select_for_update().values_list("pk", flat=True))
        Signature.objects.filter(pk__in=ids, status=Signature.Status.PENDING).update(
            mail_status=MailStatus.PENDING, mail_attempts=0, mail_next_attempt_at=timezone.now()
        )
        return Signature.objects.filter(pk__in=ids).update(flagged=False, flag_rule="")


# --- Personal data kept only as long as needed -----------------------------------------------------------------


@dataclass
class Forgotten:
    unconfirmed_deleted: int = 0
    addresses_blanked: int = 0
    emails_erased: int = 0


def _erase_emails(signatures: QuerySet[Signature]) -> int:
    """Blank the addresses; keep a one-way hash of the normalised one, so the same person still cannot sign
    twice while nobody can read or mail the address any more. In batches: this runs once per signature."""
    erased = 0
    while batch := list(signatures.exclude(email="").only("pk", "email_normalised")[:2000]):
        for signature in batch:
            digest = hashlib.sha256(signature.email_normalised.encode()).hexdigest()
            signature.email, signature.email_normalised = "", f"erased:{digest}"
        erased += Signature.objects.bulk_update(batch, ["email", "email_normalised"])
    return erased


def forget_old_data(now: datetime.datetime | None = None) -> Forgotten:
    """Delete signatures left unconfirmed for PETITION_UNCONFIRMED_DAYS, blank network addresses older than
    PETITION_IP_RETENTION_DAYS, and erase email addresses once the petition has closed: after
    PETITION_EMAIL_DAYS_AFTER_CLOSE for signers who did not ask for news of the case, after
    PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE for those who did. Names and countries stay (they are the petition).
    Run hourly."""
    now = now or timezone.now()
    result = Forgotten()
    old = now - datetime.timedelta(days=settings.PETITION_UNCONFIRMED_DAYS)
    while True:
        ids = list(
            Signature.objects.filter(status=Signature.Status.PENDING, created_at__lt=old).values_list("pk", flat=True)[
                :5000
            ]
        )
        if not ids:
            break
        # Re-checked in the DELETE: a signature confirmed meanwhile stays.
        deleted, _ = Signature.objects.filter(pk__in=ids, status=Signature.Status.PENDING).delete()
        result.unconfirmed_deleted += deleted
    stale = now - datetime.timedelta(days=settings.PETITION_IP_RETENTION_DAYS)
    result.addresses_blanked = Signature.objects.filter(ip__isnull=False, created_at__lt=stale).update(ip=None)
    for wants_news, days in (
        (False, settings.PETITION_EMAIL_DAYS_AFTER_CLOSE),
        (True, settings.PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE),
    ):
        closed_before = now - datetime.timedelta(days=days)
        closed = Q(case__closes_at__lt=closed_before) | Q(
            case__closes_at__isnull=True, case__campaign__closes_at__lt=closed_before
        )
        result.emails_erased += _erase_emails(
            Signature.objects.filter(closed, wants_news=wants_news).exclude(status=Signature.Status.PENDING)
        )
    return result


# --- Paper signatures ----------------------------------------------------------------------------------------

MAX_PAPER_ROWS = 50_000
NAME_MAX_LENGTH = Signature._meta.get_field("name").max_length
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def name_problem(name: str) -> str:
    """Why a signer's name cannot be used ("" when it can). Shared by the form and the paper import."""
    if not name.strip():
        return _("Please write your name.")
    if len(name) > NAME_MAX_LENGTH:
        return _("Please keep your name under %(n)s characters.") % {"n": NAME_MAX_LENGTH}
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in name):
        return _("Your name contains invisible control characters. Please type it again.")
    return ""


def find_country(value: str) -> str:
    """An ISO code from a code ("FR", "fr") or an English country name ("France"); "" if unknown."""
    value = value.strip()
    if not value:
        return ""
    if len(value) in (2, 3) and countries.alpha2(value):
        return countries.alpha2(value)
    with translation.override("en"):
        return countries.by_name(value) or ""


@dataclass
class ImportReport:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)

    def reject(self, line: int, row: dict, reason: str) -> None:
        shown = ", ".join(str(v) for v in row.values() if v is not None)[:200]
        self.rejected.append({"line": line, "row": shown, "reason": str(reason)})


class PaperFileError(ValueError):
    """The whole file cannot be read (wrong encoding, missing columns)."""


def _read_csv(content: bytes, required: set[str]) -> Iterator[tuple[int, dict]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PaperFileError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from exc
    if "\x00" in text:
        raise PaperFileError(_("The file contains null bytes: it is not a CSV file."))
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    headers = {(h or "").strip().lower() for h in reader.fieldnames or []}
    missing = required - headers
    if missing:
        raise PaperFileError(
            _("The first line must name the columns; missing: %(columns)s.") % {"columns": ", ".join(sorted(missing))}
        )
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_PAPER_ROWS:
            raise PaperFileError(_("The file has more than %(n)s rows: split it.") % {"n": MAX_PAPER_ROWS})
        cleaned = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()}
        if any(cleaned.values()):
            yield number, cleaned


def _required_columns(kind: str) -> set[str]:
    return {"country", "count"} if kind == PaperImport.Kind.COUNTS else {"name", "country"}


def check_paper_file(content: bytes, kind: str) -> None:
    """Raise PaperFileError if the file as a whole cannot be imported (rows are checked one by one later)."""
    for _row in _read_csv(content, _required_columns(kind)):
        pass


def import_paper_signatures(paper_import: PaperImport, content: bytes) -> PaperImport:
    """Validate each row of an uploaded CSV, store and count the accepted ones with the source "paper",
    and keep the rejected ones with their reason in the import's report. One transaction.

    `paper_import` is unsaved, with case, kind, event, day and uploaded_by set. Raises PaperFileError when
    the file as a whole cannot be read (nothing is stored then).
    """
    report = ImportReport()
    case = paper_import.case
    day = paper_import.day
    noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    tallies: Counter[TallyKey] = Counter()
    with transaction.atomic():
        paper_import.save()
        if paper_import.kind == PaperImport.Kind.COUNTS:
            per_country: Counter[str] = Counter()
            for line, row in _read_csv(content, _required_columns(paper_import.kind)):
                country = find_country(row.get("country", ""))
                if not country and row.get("country"):
                    report.reject(line, row, _("Unknown country"))
                    continue
                try:
                    n = int(row.get("count", ""))
                except ValueError:
                    report.reject(line, row, _("The count is not a whole number"))
                    continue
                if not 0 < n <= 1_000_000:
                    report.reject(line, row, _("The count must be between 1 and 1,000,000"))
                    continue
                per_country[country] += n
            PaperCount.objects.bulk_create(
                PaperCount(paper_import=paper_import, country=c, count=n) for c, n in per_country.items()
            )
            for country, n in per_country.items():
                tallies[TallyKey(case.pk, ActionKind.SIGNATURE, Signature.Source.PAPER, country, day)] += n
            report.accepted = sum(per_country.values())
        else:
            seen: set[str] = set()
            new: list[tuple[int, dict, Signature]] = []
            for line, row in _read_csv(content, _required_columns(paper_import.kind)):
                name = row.get("name", "")
                problem = name_problem(name)
                if problem:
                    report.reject(line, row, problem)
                    continue
                country = find_country(row.get("country", ""))
                if not country:
                    report.reject(line, row, _("Unknown or missing country"))
                    continue
                email = row.get("email", "")
                normalised = ""
                if email:
                    try:
                        validate_email(email)
                    except ValidationError:
                        report.reject(line, row, _("Not a valid email address"))
                        continue
                    normalised = normalise_email(email)
                    if normalised in seen:
                        report.reject(line, row, _("This address appears twice in the file"))
                        continue
                    seen.add(normalised)
                new.append(
                    (
                        line,
                        row,
                        Signature(
                            case=case,
                            name=name,
                            email=email,
                            email_normalised=normalised,
                            country=country,
                            source=Signature.Source.PAPER,
                            status=Signature.Status.CONFIRMED,
                            confirmed_at=noon,
                            counted_at=timezone.now(),
                            # People who signed on paper did not ask for mail.
                            mail_status=MailStatus.NONE,
                            paper_import=paper_import,
                        ),
                    )
                )
            already = set(
                Signature.objects.filter(case=case, email_normalised__in=seen).values_list(
                    "email_normalised", flat=True
                )
            )
            keep = []
            for line, row, signature in new:
                if signature.email_normalised and signature.email_normalised in already:
                    report.reject(line, row, _("This address has already signed this petition"))
                else:
                    keep.append(signature)
            Signature.objects.bulk_create(keep, batch_size=2000)
            for signature in keep:
                country = signature.country.code
                tallies[TallyKey(case.pk, ActionKind.SIGNATURE, Signature.Source.PAPER, country, day)] += 1
            report.accepted = len(keep)
        ledger.add_to_tallies(tallies.items())
        paper_import.accepted = report.accepted
        paper_import.rejected = len(report.rejected)
        paper_import.report = report.rejected
        paper_import.save(update_fields=["accepted", "rejected", "report"])
    ledger.refresh_totals()
    return paper_import
