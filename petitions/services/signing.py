"""Signing: the web request stores a pending signature and nothing more; a repeat queues a mail to the owner.

Call `sign_petition` after the form validated and the rate limits passed. It makes no call to the broker or to
SMTP, so signing goes on while Redis or the mail server is down.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.lib.outbox import MailStatus
from campaign.models import Case

from ..models import Signature, normalise_email


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


# --- Names ------------------------------------------------------------------------------------------------

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
