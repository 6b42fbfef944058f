"""The links in petition mails and what their pages do: confirm, "this was not me", a new link, no more news.

Tokens are stateless (a signed signature id, and a time for the links that expire): nothing to store or clean
up, and a fresh link is just a new mail. Each kind has its own salt, so a token works for its purpose only.
"""

from __future__ import annotations

import datetime
import enum

from django.conf import settings
from django.core import signing
from django.db import connection
from django.utils import timezone

from ..models import Signature
from ..sharing import new_share_code
from .signing import queue_repeat_mail

_CONFIRM_SALT = "petitions.confirm"
_REMOVE_SALT = "petitions.remove"
_NEWS_SALT = "petitions.stop-news"


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
    """Confirm a pending signature and give it its share code. Returns it (id, status, case and code only) to
    the one request that really confirmed it, None to any other.

    One conditional UPDATE ... RETURNING: a double click, a second tab or two racing requests confirm once,
    the rollup (counting.count_signatures) counts it once, and the common case is one round trip.
    """
    table = connection.ops.quote_name(Signature._meta.db_table)
    code = new_share_code()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, confirmed_at = %s, share_code = %s "  # noqa: S608
            "WHERE id = %s AND status = %s RETURNING case_id",
            [Signature.Status.CONFIRMED, timezone.now(), code, signature_id, Signature.Status.PENDING],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Signature(id=signature_id, case_id=row[0], status=Signature.Status.CONFIRMED, share_code=code)


def remove_pending_signature(signature_id: int) -> bool:
    """ "This was not me": delete a signature that was never confirmed. A confirmed one stays."""
    deleted, _ = Signature.objects.filter(pk=signature_id, status=Signature.Status.PENDING).delete()
    return bool(deleted)


def resend_link(signature_id: int) -> bool:
    """An expired link's "send me a new one" button."""
    signature = Signature.objects.filter(pk=signature_id).values("case_id", "email_marker").first()
    if signature is None:
        return False
    return queue_repeat_mail(signature["case_id"], signature["email_marker"])


# The outcome mail's "hear no more" link does not expire: the news may come months after the signature.


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
