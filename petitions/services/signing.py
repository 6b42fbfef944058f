"""Signing: the web request stores a pending signature and nothing more; a repeat queues a mail to the owner.

Call `sign_petition` after the form validated and the rate limits passed. It makes no call to the broker or to
SMTP, so signing goes on while Redis or the mail server is down.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.lib.outbox import MailStatus
from campaign.lib.text import BIDI_CONTROLS
from campaign.models import Case

from ..models import Signature, email_marker, normalise_email


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
    # The share link it came through (petitions.sharing.referral_from): channel and the sharer's code.
    channel: str = ""
    referral_code: str = ""


def sign_petition(case: Case, data: SignatureData) -> SignOutcome:
    """Store a signature as pending, or queue a mail to the owner of an address that signed already.

    Call after the form validated and the rate limits passed. Makes no call to the broker or to SMTP, so
    signing goes on while Redis or the mail server is down. `case` must come with its campaign loaded.
    """
    if not case.petition_is_open():
        return SignOutcome.CLOSED
    now = timezone.now()
    normalised = normalise_email(data.email)
    signature = Signature(
        case=case,
        name=data.name,
        email=data.email,
        email_normalised=normalised,
        email_marker=email_marker(normalised),
        country=data.country,
        language=data.language,
        wants_news=data.wants_news,
        ip=data.ip or None,
        flagged=bool(data.flag_rule),
        flag_rule=data.flag_rule,
        channel=data.channel,
        referral_code=data.referral_code,
        # A flagged signature gets no mail: a bot must not be able to send our mail to strangers.
        mail_status=MailStatus.NONE if data.flag_rule else MailStatus.PENDING,
        mail_next_attempt_at=now,
        created_at=now,
    )
    if _insert_unless_signed(signature):
        return SignOutcome.NEW
    if not data.flag_rule and not _take_over_flagged(signature):
        queue_repeat_mail(case.pk, signature.email_marker)
    return SignOutcome.REPEAT


def _take_over_flagged(signature: Signature) -> bool:
    """A bot signed first with this person's address (flagged, never mailed): the person's own clean
    submission replaces it, so a bot cannot keep someone from signing."""
    return bool(
        Signature.objects.filter(
            case_id=signature.case_id,
            email_marker=signature.email_marker,
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
    constraint on (email marker, case) lets exactly one of them in, also when the first signature's address was
    erased since (its marker stays).
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


def queue_repeat_mail(case_id: int, marker: str) -> bool:
    """Put the signature of one inbox (its `email_marker`) back in the outbox for its owner: a fresh link if
    pending, "already signed" if confirmed. Capped at PETITION_REPEAT_MAILS_MAX per signature so nobody can
    flood an inbox through the form; nothing for an erased address. True when a mail was queued."""
    updated = (
        Signature.objects.filter(
            case_id=case_id,
            email_marker=marker,
            status__in=[Signature.Status.PENDING, Signature.Status.CONFIRMED],
            flagged=False,
            repeat_mails__lt=settings.PETITION_REPEAT_MAILS_MAX,
        )
        # A mail still waiting to go out will do: no second one. An erased address cannot be written to.
        .exclude(mail_status=MailStatus.PENDING)
        .exclude(email="")
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
    marker = email_marker(normalise_email(email))
    case_ids = Signature.objects.filter(email_marker=marker, status=Signature.Status.PENDING).values_list(
        "case_id", flat=True
    )
    return sum(queue_repeat_mail(case_id, marker) for case_id in list(case_ids))


# --- Names ------------------------------------------------------------------------------------------------
# A signer's name goes into mails to addresses nobody has proven yet (the "already signed" mail) and onto the
# list for the authority: nothing in it may read as a link, an address or a number to call. Checked after
# NFKC, which turns full-width and other look-alike letters, digits, dots and @ into the plain ones.

NAME_MAX_LENGTH = Signature._meta.get_field("name").max_length
_DOTS = ".\u3002\uff0e\uff61"  # and the ideographic full stops some keyboards type for one
_URL = re.compile(
    # a scheme, "www.", or a word.word ending in two letters or more, as a domain does ("evil.com", "bit.ly")
    rf"(?i)\b(?:https?|ftp)\s*:|://|\bwww\s*[{_DOTS}]|\w(?:[\w-]*\w)?(?:[{_DOTS}]\w(?:[\w-]*\w)?)*[{_DOTS}][^\W\d_]{{2,}}\b"
)
_EMAIL = re.compile(r"\S@\S")
# Six digits or more, whatever separates them: a phone number (\d is any script's digits, Arabic-Indic too).
_LONG_NUMBER = re.compile(r"\d(?:[\s.()/+\-\u2010-\u2015]*\d){5,}")


def name_problem(name: str) -> str:
    """Why a signer's name cannot be used ("" when it can). Shared by the form and the paper import."""
    if not name.strip():
        return _("Please write your name.")
    if len(name) > NAME_MAX_LENGTH:
        return _("Please keep your name under %(n)s characters.") % {"n": NAME_MAX_LENGTH}
    if any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in name):
        return _("Your name contains invisible control characters. Please type it again.")
    plain = unicodedata.normalize("NFKC", name)
    if _EMAIL.search(plain):
        return _("Please write your name without an email address.")
    if _URL.search(plain):
        return _(
            "Please write your name without a web address (a word with a dot inside, such as “example.org”, "
            "looks like one)."
        )
    if _LONG_NUMBER.search(plain):
        return _("Please write your name without a phone number or other long number.")
    return ""
