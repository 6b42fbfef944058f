"""Organizers see signatures by channel and how many recruits each code brought, never who."""

from __future__ import annotations

import pytest
from django.test import Client

from petitions.models import Signature
from petitions.services import counting, invalidation, links
from tests.supporters.conftest import confirmed, form_data, shared_link, sign_url

pytestmark = pytest.mark.django_db


def friend_through(case, channel: str, code: str, email: str) -> None:
    client = Client()
    client.get(shared_link(case, channel, code))
    client.post(sign_url(case), form_data(email=email, name="Friend"))
    links.confirm_signature(Signature.objects.get(email=email).pk)


def test_the_dashboard_shows_channels_and_the_distribution_of_recruits(organizer_client, case):
    ana, bob = confirmed(case, email="ana@example.org"), confirmed(case, email="bob@example.org")
    confirmed(case, email="carla@example.org")  # brought nobody
    for n in range(3):
        friend_through(case, "whatsapp", ana.share_code, f"wa{n}@example.org")
    friend_through(case, "x", bob.share_code, "x0@example.org")
    friend_through(case, "telegram", "", "tg0@example.org")
    counting.count_signatures()

    html = organizer_client.get("/en/staff/").content.decode()
    section = html.split('data-dashboard="referrals"', 1)[1].split("</section>", 1)[0]
    assert '<tr data-channel="whatsapp"><td>WhatsApp</td><td class="text-end">3</td>' in section
    assert '<tr data-channel="-"><td>Straight to the site</td><td class="text-end">3</td>' in section
    assert '<tr data-recruits="3-5"><td>3-5</td><td class="text-end">1</td>' in section
    assert '<tr data-recruits="1"><td>1</td><td class="text-end">1</td>' in section
    # Codes 0 recruits: carla, and every friend who confirmed (they have codes too).
    assert '<tr data-recruits="0"><td>0</td><td class="text-end">6</td>' in section
    # Never who.
    for signature in Signature.objects.all():
        assert signature.share_code not in html and signature.email not in html

    # A deleted sharer's recruits count for nobody any more; their signatures stay in the channels.
    invalidation.delete_signatures(Signature.objects.filter(pk=ana.pk))
    section = organizer_client.get("/en/staff/").content.decode().split('data-dashboard="referrals"', 1)[1]
    assert '<tr data-recruits="3-5"><td>3-5</td><td class="text-end">0</td>' in section
