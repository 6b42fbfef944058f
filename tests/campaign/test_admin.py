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


@pytest.mark.parametrize("persona", ["organizer", "superuser"])
def test_it_shows_tallies_read_only(client, case, persona, request):
    """Tallies are written by the counting tasks and the organizers' reports: not even a superuser edits one."""
    from django.utils import timezone

    from campaign.lib import ledger
    from campaign.lib.ledger import TallyKey
    from campaign.models import Tally

    ledger.add_to_tallies([(TallyKey(case.pk, "signature", "online", "FR", timezone.localdate()), 7)])
    tally = Tally.objects.get()
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/admin/campaign/tally/").status_code == 200
    page = client.get(f"/admin/campaign/tally/{tally.pk}/change/")
    assert page.status_code == 200 and 'name="count"' not in page.content.decode()

    changed = {"case": case.pk, "kind": "letter", "source": "paper", "country": "DZ", "day": "2020-12-10", "count": 999}
    assert client.post(f"/admin/campaign/tally/{tally.pk}/change/", changed).status_code == 403
    assert client.post("/admin/campaign/tally/add/", changed).status_code == 403
    assert client.post(f"/admin/campaign/tally/{tally.pk}/delete/", {"post": "yes"}).status_code == 403
    assert list(Tally.objects.values_list("kind", "source", "country", "count")) == [("signature", "online", "FR", 7)]


def test_it_sends_anonymous_visitors_to_the_login_page(client, case):
    response = client.get("/admin/campaign/case/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_links_organizers_to_their_dashboard(organizer_client):
    html = organizer_client.get("/admin/").content.decode()
    assert 'href="/en/staff/"' in html


def test_it_shows_moderators_no_dashboard_link(moderator_client):
    assert "/staff/" not in moderator_client.get("/admin/").content.decode()


@pytest.mark.parametrize("slug", ["staff", "petitions", "embed"])
def test_it_refuses_a_campaign_slug_the_site_uses(superuser, client, slug):
    client.force_login(superuser)
    response = client.post(
        "/admin/campaign/campaign/add/",
        {
            "name_en": "Clash",
            "slug": slug,
            "default_language": "en",
            "opens_at_0": "2026-11-20",
            "opens_at_1": "00:00:00",
            "closes_at_0": "2026-12-31",
            "closes_at_1": "00:00:00",
            "status": "draft",
            "cases-TOTAL_FORMS": "0",
            "cases-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "is a page of the site" in response.content.decode()
