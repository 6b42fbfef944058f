"""/<lang>/petitions/new-link/: a new confirmation link for the pending signatures of an address."""

from __future__ import annotations

from campaign.lib.outbox import MailStatus

from .conftest import make_signature, url


def test_it_queues_a_new_link_for_each_pending_signature(client, case, demo_campaign):
    other_case = demo_campaign.cases.exclude(pk=case.pk).first()
    first = make_signature(case, email="ana.lima@gmail.com", mail_status=MailStatus.SENT)
    second = make_signature(other_case, email="analima@gmail.com", mail_status=MailStatus.SENT)
    response = client.post(url("petitions:new_link"), {"email": "AnaLima+x@gmail.com"})
    assert response.status_code == 200
    assert "a new link is on its way" in response.content.decode()
    for signature in (first, second):
        signature.refresh_from_db()
        assert signature.mail_status == MailStatus.PENDING


def test_it_says_the_same_for_an_unknown_address(client, db):
    response = client.post(url("petitions:new_link"), {"email": "nobody@example.org"})
    assert response.status_code == 200
    assert "a new link is on its way" in response.content.decode()


def test_it_explains_a_malformed_address(client, db):
    response = client.post(url("petitions:new_link"), {"email": "nobody\x00@"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode() or "Null characters" in response.content.decode()


def test_it_limits_requests_per_network_address(client, case, settings):
    settings.PETITION_IP_RATE_LIMIT = 1
    waiting = make_signature(case, email="b@example.org", mail_status=MailStatus.SENT)
    client.post(url("petitions:new_link"), {"email": "a@example.org"})
    assert client.post(url("petitions:new_link"), {"email": "b@example.org"}).status_code == 429
    # Over the limit, nothing is queued: the address gets no new link.
    waiting.refresh_from_db()
    assert (waiting.mail_status, waiting.repeat_mails) == (MailStatus.SENT, 0)
