"""The admin for campaigns and cases, as each staff persona sees it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_it_lets_an_organizer_edit_a_case_and_preview_each_language(organizer_client, case):
    response = organizer_client.get(f"/admin/campaign/case/{case.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    for prefix in ("/en/", "/fr/", "/ar/"):
        assert f'href="{prefix}write-for-rights-2020/khaled-drareni/"' in html
    assert "summary_fr" in html and "summary_ar" in html
    assert "View on site" in html


def test_it_keeps_moderators_out_of_cases(moderator_client, case):
    assert moderator_client.get(f"/admin/campaign/case/{case.pk}/change/").status_code == 403
    assert moderator_client.get("/admin/campaign/campaign/").status_code == 403


def test_it_shows_tallies_read_only(organizer_client, case):
    assert organizer_client.get("/admin/campaign/tally/").status_code == 200
    assert organizer_client.get("/admin/campaign/tally/add/").status_code == 403


def test_it_sends_anonymous_visitors_to_the_login_page(client, case):
    response = client.get("/admin/campaign/case/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
