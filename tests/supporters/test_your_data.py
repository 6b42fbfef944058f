"""The person's own data: a link by mail (never a hint whether the address is known, no mail flood), what the
page shows and does, and every bad link answered with a clear page, never a 500."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from campaign.lib import ledger
from campaign.lib.outbox import MailStatus
from letters.models import Letter
from letters.services.moderation import approve_letters
from letters.services.screening import text_fingerprint
from petitions.models import Signature
from petitions.services import counting
from supporters.models import DataRequest
from supporters.services import data
from tests.conftest import Mailbox
from tests.supporters.conftest import confirmed

pytestmark = pytest.mark.django_db

ASK = "/en/supporters/your-data/"


def ask(client: Client, email: str):
    return client.post(ASK, {"email": email})


def the_link(mailbox: Mailbox, index: int = -1) -> str:
    text = Mailbox.text_of(mailbox.messages[index])
    return re.search(r"https?://[^/\s]+(/en/supporters/your-data/[^/\s]+/)", text).group(1)


def letter(case, email: str = "ana@example.org", **fields) -> Letter:
    return Letter.objects.create(
        case=case,
        first_name="Ana",
        country="PT",
        language="en",
        text=fields.pop("text", "Stay strong."),
        text_hash=text_fingerprint("Stay strong."),
        writer_email=email,
        writer_consent=True,
        **fields,
    )


def test_the_page_says_the_same_for_a_known_and_an_unknown_address(client, case):
    confirmed(case)
    known, unknown = ask(client, "ana@example.org"), ask(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html.decode())  # noqa: E731
    assert strip(known.content) == strip(unknown.content)
    assert "If this address signed a petition or wrote a letter here" in known.content.decode()


def test_only_a_known_address_gets_its_link_by_mail(client, case, smtp_server):
    confirmed(case)
    letter(case, email="writer@example.org")
    for email in ("ana@example.org", "Writer@Example.org", "nobody@example.org"):
        ask(client, email)
    assert DataRequest.objects.count() == 3  # the page stored all three alike
    result = data.send_data_links()
    assert result.sent == 2
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == ["Writer@Example.org", "ana@example.org"]
    assert DataRequest.objects.get(email="nobody@example.org").mail_status == MailStatus.NONE
    mail = smtp_server.messages[0]
    # Every mail names the organisation and where to write about one's data.
    assert "Sent by Plume demo." in Mailbox.text_of(mail) and "contact@example.org" in Mailbox.html_of(mail)


def test_an_address_asked_for_100_times_an_hour_gets_no_flood(case, smtp_server, settings):
    confirmed(case)
    statuses = set()
    for i in range(100):
        # From many networks, as a botnet would: the per-address limit holds.
        statuses.add(ask(Client(REMOTE_ADDR=f"198.51.{i // 200}.{i % 200 + 1}"), "ana@example.org").status_code)
        if i % 10 == 0:
            data.send_data_links()
    data.send_data_links()
    assert statuses == {200}
    assert len(smtp_server.messages) <= settings.SUPPORTERS_DATA_MAILS_PER_HOUR


def test_one_network_asking_over_and_over_gets_a_clear_429_page(client, case, settings):
    settings.SUPPORTERS_DATA_IP_RATE_LIMIT = 5
    responses = [ask(client, f"p{i}@example.org") for i in range(8)]
    assert [r.status_code for r in responses[:5]] == [200] * 5
    assert responses[-1].status_code == 429
    assert "Please wait an hour" in responses[-1].content.decode()


def test_a_bad_address_gets_the_form_back_with_a_message(client):
    response = ask(client, "not an address")
    assert response.status_code == 400 and "Enter a valid email address." in response.content.decode()
    assert not DataRequest.objects.exists()


def _page_for(email: str) -> str:
    request = DataRequest.objects.create(email=email)
    return reverse("supporters:your-data-page", args=[data.data_token(request.pk)])


def test_the_page_lists_signatures_and_letters_and_downloads_everything(client, case):
    signature = confirmed(case, wants_news=True)
    letter(case)
    confirmed(case, email="someone-else@example.org")
    page = _page_for("ana@example.org")
    html = client.get(page).content.decode()
    assert html.count("data-signature=") == 1 and html.count("data-letter=") == 1
    assert "Ana Lima" in html and "Stay strong." in html
    download = client.get(page + "download/")
    assert download["Content-Disposition"] == 'attachment; filename="plume-your-data.json"'
    exported = json.loads(download.content)
    assert [s["email"] for s in exported["signatures"]] == ["ana@example.org"]
    assert exported["signatures"][0]["share_code"] == signature.share_code
    assert [x["text"] for x in exported["letters"]] == ["Stay strong."]


def test_deleting_a_confirmed_signature_takes_it_out_of_the_totals_at_once(client, case):
    signature = confirmed(case)
    counting.count_signatures()
    assert ledger.case_total(case.pk) == 1
    page = _page_for("ana@example.org")
    response = client.post(page, {"action": "delete-signature", "id": signature.pk})
    assert response.status_code == 302
    assert not Signature.objects.filter(pk=signature.pk).exists()
    assert ledger.case_total(case.pk) == 0
    # The link reused after the deletion: a clear page that lists nothing.
    html = client.get(page).content.decode()
    assert "No signature." in html
    again = client.post(page, {"action": "delete-signature", "id": signature.pk})
    assert again.status_code == 302


def test_withdrawing_the_news_and_deleting_an_undelivered_letter(client, case, moderator):
    signature = confirmed(case, wants_news=True)
    pending, approved = letter(case), letter(case, text="Courage.")
    approve_letters([approved.pk], moderator)
    assert ledger.totals()["cases"][case.pk]["by_kind"]["letter"] == 1
    page = _page_for("ana@example.org")
    client.post(page, {"action": "stop-news", "id": signature.pk})
    signature.refresh_from_db()
    assert signature.wants_news is False
    for each in (pending, approved):
        client.post(page, {"action": "delete-letter", "id": each.pk})
    assert not Letter.objects.exists()
    assert ledger.totals()["cases"].get(case.pk, {}).get("by_kind", {}).get("letter", 0) == 0


def test_nobody_acts_on_what_is_not_theirs(client, case):
    theirs = confirmed(case, email="bob@example.org")
    their_letter = letter(case, email="bob@example.org")
    page = _page_for("ana@example.org")
    for action, pk in (("delete-signature", theirs.pk), ("stop-news", theirs.pk), ("delete-letter", their_letter.pk)):
        assert client.post(page, {"action": action, "id": pk}).status_code == 302
    for action, pk in (("delete-signature", "x"), ("nonsense", theirs.pk), ("delete-letter", "")):
        assert client.post(page, {"action": action, "id": pk}).status_code == 302
    assert Signature.objects.filter(pk=theirs.pk).exists() and Letter.objects.filter(pk=their_letter.pk).exists()


def test_a_tampered_or_expired_link_gets_a_clear_page_and_a_new_form(client, case, monkeypatch, settings):
    confirmed(case)
    page = _page_for("ana@example.org")
    token = page.rstrip("/").rsplit("/", 1)[1]
    for bad in (token[:-2] + "xx", "nonsense", token.replace(":", "%3A", 1), "1:" + token, "-" * 500):
        response = client.get(reverse("supporters:your-data-page", args=[bad]))
        assert response.status_code == 400, bad
        assert "This link does not work" in response.content.decode()
        assert client.get(reverse("supporters:your-data-download", args=[bad])).status_code == 400
    later = datetime.datetime.now().timestamp() + (settings.SUPPORTERS_DATA_LINK_HOURS + 1) * 3600
    monkeypatch.setattr(signing.time, "time", lambda: later)
    response = client.get(page)
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    assert client.post(page, {"action": "delete-signature", "id": 1}).status_code == 410
    assert Signature.objects.count() == 1


def test_the_request_and_its_address_go_when_the_link_expires(case, settings):
    from django.utils import timezone

    request = DataRequest.objects.create(email="ana@example.org")
    hours = settings.SUPPORTERS_DATA_LINK_HOURS
    assert data.forget_data_requests(now=timezone.now() + datetime.timedelta(hours=hours - 1)) == 0
    assert data.forget_data_requests(now=timezone.now() + datetime.timedelta(hours=hours + 1)) == 1
    assert not DataRequest.objects.filter(pk=request.pk).exists()
