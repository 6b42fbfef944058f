"""The person's own data: a link by mail to see, withdraw and delete what they gave, and take it away as JSON.

1. `ask_for_data_link` (the page's form): stores a request, its own outbox row. The page says the same whatever
   the address, and the request goes in the outbox whether or not the address is known.
2. `send_data_links` (every 10 s): requests for addresses that signed nothing and wrote nothing are dropped
   without a mail (nobody can mail strangers through the form); the others get their link.
3. The link (`data_token`, `read_data_token`) is signed and expires after SUPPORTERS_DATA_LINK_HOURS; the
   request and its address are deleted then (`forget_data_requests`, hourly).
4. What the page shows and does: `person_data`, `stop_news`, `delete_signature` (a counted signature leaves
   the totals at once: petitions' `delete_signatures`), `delete_letter` (one no family has received yet),
   `export_data`.

A person is found by address: their signatures by its keyed marker (so also after the address was erased
from them), their letters by the address they left for the delivery notice.
"""

from __future__ import annotations

import datetime
import enum
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from campaign.lib import ledger
from campaign.lib.languages import supported_language
from campaign.lib.ledger import tally_key
from campaign.lib.locks import advisory_lock
from campaign.lib.outbox import BatchResult, MailStatus, render_mail, send_outbox
from campaign.models import ActionSource
from letters.models import Letter, private_storage
from letters.services.moderation import LEDGER_LOCK
from petitions.models import Signature, email_marker, normalise_email
from petitions.services import invalidation, links

from ..models import DataRequest

log = logging.getLogger(__name__)

_TOKEN_SALT = "supporters.your-data"  # noqa: S105  (a salt, not a secret)


# --- Asking for the link ---------------------------------------------------------------------------------------


def ask_for_data_link(email: str, language: str) -> bool:
    """Queue a "Your data" link for `email` (in `language`), unless one is already waiting to go. Call once the
    rate limits passed; makes no call to SMTP. True when a request was stored (never shown to the visitor)."""
    email = email.strip()
    if DataRequest.objects.filter(email__iexact=email, mail_status=MailStatus.PENDING).exists():
        return False
    DataRequest.objects.create(email=email, language=language)
    return True


def marker_of(email: str) -> str:
    return email_marker(normalise_email(email))


def signatures_of(email: str) -> QuerySet[Signature]:
    return Signature.objects.filter(email_marker=marker_of(email))


def letters_of(email: str) -> QuerySet[Letter]:
    return Letter.objects.filter(writer_email__iexact=email.strip())


def is_known(email: str) -> bool:
    return signatures_of(email).exists() or letters_of(email).exists()


def data_token(request_id: int) -> str:
    return signing.TimestampSigner(salt=_TOKEN_SALT).sign(str(request_id))


class LinkState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def read_data_token(token: str) -> tuple[LinkState, DataRequest | None]:
    """The request a "Your data" link stands for, if the link is genuine and not expired."""
    signer = signing.TimestampSigner(salt=_TOKEN_SALT)
    try:
        request_id = int(signer.unsign(token, max_age=datetime.timedelta(hours=settings.SUPPORTERS_DATA_LINK_HOURS)))
    except signing.SignatureExpired:
        return LinkState.EXPIRED, None
    except (signing.BadSignature, ValueError):
        return LinkState.INVALID, None
    found = DataRequest.objects.filter(pk=request_id).first()
    # Gone: deleted once expired (a clock that moved, an operator who shortened the setting).
    return (LinkState.VALID, found) if found is not None else (LinkState.EXPIRED, None)


def _data_link_mail(request: DataRequest) -> EmailMessage:
    language = supported_language(request.language)
    with translation.override(language):
        url = settings.SITE_URL + reverse("supporters:your-data-page", args=[data_token(request.pk)])
        return render_mail(
            "supporters/mail/data_link",
            {"url": url, "hours": settings.SUPPORTERS_DATA_LINK_HOURS},
            [request.email],
            language,
        )


def send_data_links(time_budget: float = 20.0) -> BatchResult:
    """Drop the waiting requests of addresses Plume holds nothing about (no mail), then send the others' links
    through the outbox (SKIP LOCKED: safe in several workers at once)."""
    waiting = DataRequest.objects.filter(mail_status=MailStatus.PENDING).values_list("pk", "email")[:1000]
    unknown = [pk for pk, email in waiting if not is_known(email)]
    if unknown:
        DataRequest.objects.filter(pk__in=unknown, mail_status=MailStatus.PENDING).update(mail_status=MailStatus.NONE)
    return send_outbox(DataRequest.objects.all(), _data_link_mail, 50, time_budget)


def forget_data_requests(now: datetime.datetime | None = None) -> int:
    """Delete the requests whose link has expired, with their address. Hourly."""
    now = now or timezone.now()
    expired_before = now - datetime.timedelta(hours=settings.SUPPORTERS_DATA_LINK_HOURS)
    deleted, _ = DataRequest.objects.filter(created_at__lt=expired_before).delete()
    return deleted


# --- What the page shows and does --------------------------------------------------------------------------------


@dataclass
class PersonData:
    signatures: list[Signature]
    letters: list[Letter]
    recruits: dict[str, int]


def _undelivered(letters: QuerySet[Letter]) -> QuerySet[Letter]:
    """Letters no family has received, nor is receiving: only these can still be taken back."""
    return letters.exclude(status=Letter.Status.REJECTED).filter(digest_items__isnull=True)


def person_data(request: DataRequest) -> PersonData:
    signatures = list(signatures_of(request.email).select_related("case", "case__campaign").order_by("created_at"))
    letters = list(letters_of(request.email).select_related("case", "case__campaign").order_by("created_at"))
    deletable = set(_undelivered(letters_of(request.email)).values_list("pk", flat=True))
    for letter in letters:
        letter.deletable = letter.pk in deletable
    codes = [s.share_code for s in signatures if s.share_code]
    recruits: dict[str, int] = {}
    if codes:
        friends = Signature.objects.countable().filter(referral_code__in=codes)
        for code in friends.values_list("referral_code", flat=True):
            recruits[code] = recruits.get(code, 0) + 1
    for signature in signatures:
        signature.recruits = recruits.get(signature.share_code, 0) if signature.share_code else None
    return PersonData(signatures, letters, recruits)


def stop_news(request: DataRequest, signature_id: int) -> bool:
    """Withdraw the consent to hear how a case turns out, for one of this person's signatures."""
    if not signatures_of(request.email).filter(pk=signature_id).exists():
        return False
    return links.stop_news(signature_id)


def delete_signature(request: DataRequest, signature_id: int) -> bool:
    """Delete one of this person's signatures; a counted one leaves the totals at once."""
    return invalidation.delete_signatures(signatures_of(request.email).filter(pk=signature_id)) > 0


def delete_letter(request: DataRequest, letter_id: int) -> bool:
    """Delete one of this person's letters that no family has received yet; an approved one leaves the totals
    (under the letters' ledger lock, as approvals count them)."""
    with transaction.atomic():
        advisory_lock(LEDGER_LOCK, shared=True)
        letter = _undelivered(letters_of(request.email)).filter(pk=letter_id).select_for_update(of=("self",)).first()
        if letter is None:
            return False
        counted = letter.status == Letter.Status.APPROVED
        if counted:
            key = tally_key(letter.case_id, letter.kind, ActionSource.ONLINE, letter.country.code, letter.created_at)
            ledger.add_to_tallies([(key, -1)])
        image = letter.image.name if letter.image else ""
        letter.delete()
        if image:
            # Files are not transactional: removed once the deletion is committed.
            transaction.on_commit(lambda: private_storage.delete(image))
    if counted:
        ledger.refresh_totals()  # the public totals drop at once, as for a deleted signature
    return True


def export_data(request: DataRequest) -> dict:
    """Everything Plume holds about this person, as JSON-ready data."""
    data = person_data(request)

    def when(value: datetime.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "format": "plume-your-data/1",
        "generated_at": timezone.now().isoformat(),
        "organisation": {"name": settings.ORGANISATION_NAME, "privacy_contact": settings.PRIVACY_CONTACT},
        "email": request.email,
        "signatures": [
            {
                "case": str(s.case),
                "campaign": str(s.case.campaign),
                "name": s.name,
                "email": s.email,
                "country": s.country.code,
                "language": s.language,
                "wants_news": s.wants_news,
                "status": s.status,
                "source": s.source,
                "signed_at": when(s.created_at),
                "confirmed_at": when(s.confirmed_at),
                "came_through": s.channel,
                "share_code": s.share_code,
                "people_who_signed_through_your_link": s.recruits,
            }
            for s in data.signatures
        ],
        "letters": [
            {
                "case": str(letter.case),
                "addressed_to": letter.addressed_to,
                "first_name": letter.first_name,
                "country": letter.country.code,
                "language": letter.language,
                "text": letter.text,
                "has_image": bool(letter.image),
                "status": letter.status,
                "written_at": when(letter.created_at),
                "delivered_at": when(letter.delivered_at),
                "email": letter.writer_email,
            }
            for letter in data.letters
        ],
    }
