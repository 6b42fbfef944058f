"""The printable list of signatures for the authority: names and countries, never emails; organizers only.
(The CSV and XLSX files are export jobs: test_signature_list_export.py.)"""

from __future__ import annotations

import pytest
from django.utils.html import escape

from petitions.services import links
from tests.petitions.conftest import make_signature, url


@pytest.fixture
def signers(case):
    rows = [
        ("Ana Lima", "ana@example.org", "FR"),
        ('=HYPERLINK("http://evil","x")', "evil@example.org", "FR"),
        ("+33 trick", "plus@example.org", "DZ"),
        ("خالد", "khalid@example.org", "DZ"),
        ("<script>alert(1)</script>", "xss@example.org", "FR"),
    ]
    for name, email, country in rows:
        links.confirm_signature(make_signature(case, email=email, name=name, country=country).pk)
    make_signature(case, email="pending@example.org", name="Pending Person")
    return rows


def page_url(case, **query):
    base = url("organizers:signature-list", campaign=case.campaign.slug, case=case.slug)
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_it_prints_the_petition_text_total_and_escaped_names(organizer_client, case, signers):
    response = organizer_client.get(url("organizers:signature-list", campaign=case.campaign.slug, case=case.slug))
    html = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert escape(case.ask) in html
    assert escape(case.authority) in html
    assert "5 signatures" in html
    assert "Ana Lima" in html and "خالد" in html and "Pending Person" not in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "@example.org" not in html


def test_it_filters_by_country(organizer_client, case, signers):
    html = b"".join(organizer_client.get(page_url(case, country="dz")).streaming_content).decode()
    assert "خالد" in html and "Ana Lima" not in html
    assert "2 signatures" in html


def test_it_keeps_moderators_and_visitors_out(client, moderator_client, case, signers):
    assert moderator_client.get(page_url(case)).status_code == 403
    client.logout()
    assert client.get(page_url(case)).status_code == 302


def test_the_old_addresses_of_the_lists_lead_to_them(organizer_client, case):
    old_page = url("petitions:signature_list", campaign=case.campaign.slug, case=case.slug) + "?country=DZ"
    response = organizer_client.get(old_page)
    assert response.status_code == 302
    assert response["Location"] == page_url(case, country="DZ")
    response = organizer_client.get("/admin/petitions/signature/authority-lists/")
    assert response.status_code == 302 and response["Location"] == "/en/staff/authority-lists/"
