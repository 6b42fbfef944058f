"""petitions.tasks.forget_old_data: unconfirmed signatures deleted, network addresses blanked."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.test import override_settings
from django.utils import timezone

from campaign.lib.outbox import MailStatus
from petitions import tasks
from petitions.models import Signature, email_marker
from petitions.services import links, retention

from .conftest import form_data, make_signature, sign_url


def test_it_deletes_old_unconfirmed_signatures_and_keeps_the_rest(case, settings):
    settings.PETITION_UNCONFIRMED_DAYS = 14
    old = timezone.now() - datetime.timedelta(days=15)
    stale = make_signature(case, email="stale@example.org", created_at=old)
    confirmed = make_signature(case, email="confirmed@example.org", created_at=old)
    links.confirm_signature(confirmed.pk)
    fresh = make_signature(case, email="fresh@example.org")
    result = tasks.forget_old_data()
    assert result["unconfirmed_deleted"] == 1
    assert not Signature.objects.filter(pk=stale.pk).exists()
    assert Signature.objects.filter(pk__in=[confirmed.pk, fresh.pk]).count() == 2


def test_it_blanks_network_addresses_after_the_retention_time(case, settings):
    settings.PETITION_IP_RETENTION_DAYS = 7
    old = make_signature(case, email="old@example.org", created_at=timezone.now() - datetime.timedelta(days=8))
    links.confirm_signature(old.pk)
    new = make_signature(case, email="new@example.org")
    assert retention.forget_old_data().addresses_blanked == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.ip is None
    assert new.ip == "203.0.113.7"


def test_it_erases_email_addresses_once_the_petition_has_closed(demo_campaign, case, settings):
    settings.PETITION_EMAIL_DAYS_AFTER_CLOSE = 30
    settings.PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE = 365
    plain = make_signature(case, email="Plain.Signer@example.org")
    curious = make_signature(case, email="curious@example.org")
    pending = make_signature(case, email="pending@example.org")
    other_case = demo_campaign.cases.get(slug="germain-rukuki")
    still_open = make_signature(other_case, email="open@example.org")
    for signature in (plain, curious, still_open):
        links.confirm_signature(signature.pk)
    Signature.objects.filter(pk=curious.pk).update(wants_news=True)
    case.closes_at = timezone.now() - datetime.timedelta(days=31)
    case.save()

    assert retention.forget_old_data().emails_erased == 1
    plain.refresh_from_db()
    assert (plain.email, plain.email_normalised, plain.name, plain.country) == ("", "", "Ana Lima", "FR")
    # What stays is the keyed marker, never the unkeyed hash anyone could check a guessed address against.
    assert plain.email_marker == email_marker("plain.signer@example.org")
    assert hashlib.sha256(b"plain.signer@example.org").hexdigest()[:32] not in plain.email_marker
    with override_settings(PETITION_EMAIL_MARKER_KEY="another key"):
        assert email_marker("plain.signer@example.org") != plain.email_marker
    assert Signature.objects.get(pk=curious.pk).email == "curious@example.org"
    assert Signature.objects.get(pk=still_open.pk).email == "open@example.org"
    assert Signature.objects.filter(pk=pending.pk).exists()

    # A year on, the addresses kept for news of the case go too; running again changes nothing more.
    case.closes_at = timezone.now() - datetime.timedelta(days=366)
    case.save()
    assert retention.forget_old_data().emails_erased == 1
    assert Signature.objects.get(pk=curious.pk).email == ""
    assert retention.forget_old_data().emails_erased == 0


@pytest.mark.parametrize("again", ["Ana.Lima@gmail.com", "analima+again@googlemail.com"])
def test_after_erasure_one_person_still_signs_once_even_when_the_petition_reopens(client, case, settings, again):
    settings.PETITION_EMAIL_DAYS_AFTER_CLOSE = 30
    first = make_signature(case, email="Ana.Lima@gmail.com")
    links.confirm_signature(first.pk)
    Signature.objects.filter(pk=first.pk).update(mail_status=MailStatus.SENT)
    case.closes_at = timezone.now() - datetime.timedelta(days=31)
    case.save()
    assert retention.forget_old_data().emails_erased == 1
    # The organizers reopen the petition; the same person signs again, with the same inbox.
    case.closes_at = timezone.now() + datetime.timedelta(days=30)
    case.save()
    assert client.post(sign_url(case), form_data(email=again)).status_code == 302
    assert Signature.objects.filter(case=case).count() == 1
    erased = Signature.objects.get()
    # Nothing can be mailed to an erased address: the repeat queues no mail.
    assert (erased.email, erased.mail_status, erased.repeat_mails) == ("", MailStatus.SENT, 0)
