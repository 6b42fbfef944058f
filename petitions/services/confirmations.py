"""The confirmation outbox: the signature rows are their own outbox, sent by a periodic task.

A pending signature gets its confirmation link; a confirmed one that signed again gets "you have already
signed". `send_confirmations` is what the task calls; `SignatureMails` builds each mail.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import translation

from campaign.lib.languages import supported_language
from campaign.lib.outbox import BatchResult, mail_message, render_mail_texts, send_outbox
from campaign.lib.slots import fill, slot
from campaign.models import Case

from .. import sharing
from ..models import Signature
from .links import confirmation_token, removal_token


class SignatureMails:
    """The outbox's mails for one run of the sender: the confirmation link if pending, "already signed" if
    confirmed, in the signer's language.

    Each template is rendered once per case, language and kind of mail, with slots (`campaign.lib.slots`)
    where the signer's name and links go; each mail is then those texts with the slots filled in (escaped in
    the HTML part). That gives the same mail as rendering the templates for every signature (tested), for a
    fraction of the CPU: during a surge the sender renders thousands a minute. Cases are read once per run,
    not joined onto every row (a case row carries its texts in every language).
    """

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
        language = supported_language(signature.language)
        key = (base, language, signature.case_id)
        if key not in self._texts:
            self._texts[key] = self._render(base, language, self._case(signature.case_id))
        values = {
            "name": signature.name,
            "confirm_url": self._link("petitions:confirm", language, confirmation_token(signature.pk)),
            "remove_url": self._link("petitions:remove", language, removal_token(signature.pk)),
        }
        subject, text, html = self._texts[key]
        return mail_message(fill(subject, values), fill(text, values), fill(html, values, html=True), [signature.email])

    def _case(self, case_id: int) -> Case:
        if case_id not in self._cases:
            self._cases[case_id] = Case.objects.select_related("campaign").get(pk=case_id)
        return self._cases[case_id]

    def _render(self, base: str, language: str, case: Case) -> tuple[str, str, str]:
        with translation.override(language):
            case_url = settings.SITE_URL + case.get_absolute_url()
            share = sharing.share_links(case)
        context = {
            "share": share,
            "signature": {"name": slot("name")},
            "case": case,
            "case_url": case_url,
            "confirm_url": slot("confirm_url"),
            "remove_url": slot("remove_url"),
            "link_days": settings.PETITION_CONFIRM_LINK_DAYS,
        }
        return render_mail_texts(base, context, language)

    def _link(self, name: str, language: str, token: str) -> str:
        """The absolute address of a link page for this token (the URL pattern is reversed once)."""
        if (name, language) not in self._links:
            with translation.override(language):
                before, _, after = reverse(name, args=["TOKEN"]).partition("TOKEN")
            self._links[name, language] = (settings.SITE_URL + before, after)
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
