"""How the case turned out: mailed once, in their language, to the signers who asked for it."""

from __future__ import annotations

import re

import pytest

from campaign.lib.outbox import MailStatus
from petitions.models import OutcomeMail, OutcomeMailing, Signature
from petitions.services import links, outcome
from tests.conftest import Mailbox

from .conftest import make_signature


def _with_outcome(case):
    case.outcome_en = 'Released on 19 February 2021. <script>alert("x")</script>'
    case.outcome_fr = "Libéré le 19 février 2021."
    case.outcome_ar = ""
    case.save()
    return case


def _signers(case):
    """One signer of each kind: asked for news (en, fr, ar), did not ask, pending, flagged."""
    asked = [
        make_signature(case, email=f"{lang}@example.org", language=lang, name=name)
        for lang, name in (("en", "Ana O'Brien"), ("fr", "Zoë"), ("ar", "خالد"))
    ]
    for signature in asked:
        links.confirm_signature(signature.pk)
    Signature.objects.filter(pk__in=[s.pk for s in asked]).update(wants_news=True)
    quiet = make_signature(case, email="quiet@example.org")
    links.confirm_signature(quiet.pk)
    make_signature(case, email="pending@example.org", wants_news=True)
    flagged = make_signature(case, email="bot@example.org", wants_news=True, flagged=True, flag_rule="honeypot")
    links.confirm_signature(flagged.pk)
    return asked


def test_it_mails_the_outcome_once_to_the_signers_who_asked_in_their_language(case, smtp_server: Mailbox):
    _with_outcome(case)
    _signers(case)
    mailing = outcome.mail_outcome(case, None)
    assert mailing.recipients == 3
    assert outcome.send_outcome_mails().sent == 3
    mails = {m["To"]: m for m in smtp_server.wait_for(3)}
    assert set(mails) == {"en@example.org", "fr@example.org", "ar@example.org"}
    english, french, arabic = mails["en@example.org"], mails["fr@example.org"], mails["ar@example.org"]
    assert "News of Khaled Drareni" in english["Subject"]
    assert "Ana O'Brien" in Mailbox.text_of(english)
    assert '<script>alert("x")</script>' in Mailbox.text_of(english)  # plain text: shown, never run
    assert "<script>" not in Mailbox.html_of(english) and "&lt;script&gt;" in Mailbox.html_of(english)
    assert "Libéré le 19 février 2021." in Mailbox.text_of(french)
    # No Arabic outcome was written: the default language's text, in a right-to-left mail.
    assert "Released on 19 February 2021." in Mailbox.text_of(arabic)
    assert 'dir="rtl"' in Mailbox.html_of(arabic)
    assert english["List-Unsubscribe"].strip().startswith("<http") and "no-more-news" in english["List-Unsubscribe"]
    # Once: nothing more to send, and a second mailing of the same case is refused.
    assert outcome.send_outcome_mails().sent == 0
    assert not OutcomeMail.objects.exclude(mail_status=MailStatus.SENT).exists()
    try:
        outcome.mail_outcome(case, None)
    except outcome.AlreadyMailed:
        pass
    else:
        raise AssertionError("a case's outcome was mailed twice")


def test_the_link_in_the_mail_stops_the_news_with_a_button(client, case, smtp_server: Mailbox):
    _with_outcome(case)
    asked = _signers(case)
    outcome.mail_outcome(case, None)
    outcome.send_outcome_mails()
    mail = next(m for m in smtp_server.wait_for(3) if m["To"] == "en@example.org")
    path = re.search(r"https?://[^/\s]+(/en/petitions/no-more-news/[^/\s]+/)", Mailbox.text_of(mail)).group(1)
    assert "Stop the news" in client.get(path).content.decode()
    assert Signature.objects.get(pk=asked[0].pk).wants_news is True  # opening the link changes nothing
    page = client.post(path).content.decode()
    assert "You will get no more news of this case" in page
    assert Signature.objects.get(pk=asked[0].pk).wants_news is False
    assert client.get(path.replace("/no-more-news/", "/no-more-news/x").rstrip("/") + "x/").status_code == 400


def test_a_signer_who_stopped_the_news_before_it_went_out_gets_nothing(case, smtp_server: Mailbox):
    _with_outcome(case)
    asked = _signers(case)
    outcome.mail_outcome(case, None)
    links.stop_news(asked[1].pk)
    assert outcome.send_outcome_mails().sent == 2
    assert {m["To"] for m in smtp_server.wait_for(2)} == {"en@example.org", "ar@example.org"}


def test_organizers_mail_an_outcome_from_the_admin_after_seeing_how_many_it_reaches(organizer_client, case):
    _signers(case)
    case.outcome_en = case.outcome_fr = case.outcome_es = case.outcome_ar = ""
    case.save()
    url = "/admin/petitions/outcomemailing/add/"
    page = organizer_client.post(url, {"case": case.pk}).content.decode()
    assert "Write the case&#x27;s outcome first" in page
    _with_outcome(case)
    page = organizer_client.post(url, {"case": case.pk}).content.decode()
    assert "This mails 3 signers. Tick the box and save again to send it." in page
    assert not OutcomeMailing.objects.exists()
    response = organizer_client.post(url, {"case": case.pk, "confirm": "on"}, follow=True)
    assert "The outcome goes to 3 signers in the next minutes." in response.content.decode()
    assert OutcomeMailing.objects.get(case=case).recipients == 3
    assert OutcomeMail.objects.count() == 3
    # No address is shown to organizers.
    assert "@example.org" not in response.content.decode()


def test_moderators_cannot_mail_an_outcome(moderator_client, case):
    assert moderator_client.get("/admin/petitions/outcomemailing/add/").status_code == 403


@pytest.mark.parametrize(
    "lookup", ["mails__signature__email__regex=^a", "mails__mail_last_error__contains=@", "created_by__email__regex=^a"]
)
def test_it_refuses_a_lookup_on_signers_addresses_or_mail_errors(organizer_client, superuser_client, case, lookup):
    _with_outcome(case)
    _signers(case)
    outcome.mail_outcome(case, None)
    url = "/admin/petitions/outcomemailing/?" + lookup
    assert organizer_client.get(url).status_code == 400
    assert superuser_client.get(url).status_code == 400
    assert organizer_client.get("/admin/petitions/outcomemailing/").status_code == 200
