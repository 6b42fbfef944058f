"""The public open-data JSON and the counter partner sites embed."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from campaign.models import Campaign, Tally
from organizers import offline_reports as services

pytestmark = pytest.mark.django_db


def test_it_gives_totals_per_case_kind_and_country(mixed_ledger, client, case):
    services.record_offline_report(case=case, kind="postcard", day=timezone.localdate(), count=240, country="FR")
    response = client.get("/api/v1/totals")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=10"
    data = response.json()
    assert data["version"] == 1 and "postcard" in data["kinds"]
    assert data["total"] == Tally.objects.aggregate(n=Sum("count"))["n"]
    entry = next(c for c in data["cases"] if c["slug"] == "khaled-drareni")
    keys = {"id", "key", "campaign", "slug", "name", "country", "url", "goal", "total", "by_kind", "by_country"}
    assert set(entry) == keys
    # The case's key, the same in every installation: what a hub matches sections' figures by.
    assert entry["key"] == "write-for-rights-2020/khaled-drareni"
    assert entry["url"] == "http://127.0.0.1:8000/en/write-for-rights-2020/khaled-drareni/"
    assert entry["total"] == Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"]
    dz = Tally.objects.filter(case=case, country="DZ").aggregate(n=Sum("count"))["n"]
    assert entry["by_country"]["DZ"] == {"total": dz, "by_kind": {"signature": dz}}
    assert entry["by_country"]["FR"]["by_kind"]["postcard"] == 240
    assert entry["by_country"]["unknown"]["by_kind"] == {"signature": 10}
    assert sum(c["total"] for c in entry["by_country"].values()) == entry["total"]
    assert (
        entry["by_kind"]["signature"]
        == Tally.objects.filter(case=case, kind="signature").aggregate(n=Sum("count"))["n"]
    )


def test_it_is_cached_and_never_counts_rows_per_request(mixed_ledger, client, django_assert_num_queries):
    first = client.get("/api/v1/totals").json()
    case_id = first["cases"][0]["id"]
    ledger.add_to_tallies([(TallyKey(case_id, "letter", "online", "FR", timezone.localdate()), 1000)])
    with django_assert_num_queries(0):
        assert client.get("/api/v1/totals").json()["total"] == first["total"]


def test_it_leaves_draft_campaigns_out(mixed_ledger, client, demo_campaign):
    Campaign.objects.filter(pk=demo_campaign.pk).update(status=Campaign.Status.DRAFT)
    data = client.get("/api/v1/totals").json()
    assert data == {**data, "total": 0, "cases": []}


def test_it_rate_limits_each_address(client, demo_campaign, settings):
    settings.OPEN_DATA_RATE_LIMIT_PER_MINUTE = 3
    for _ in range(3):
        assert client.get("/api/v1/totals", REMOTE_ADDR="203.0.113.7").status_code == 200
    response = client.get("/api/v1/totals", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    assert response["Retry-After"] == "60" and response["Access-Control-Allow-Origin"] == "*"
    assert "error" in response.json()
    assert client.get("/api/v1/totals", REMOTE_ADDR="203.0.113.8").status_code == 200


def test_it_answers_preflight_and_refuses_writes(client, demo_campaign):
    response = client.options("/api/v1/totals")
    assert response.status_code == 204 and response["Access-Control-Allow-Origin"] == "*"
    assert client.post("/api/v1/totals").status_code == 405


def test_the_minimal_totals_json_still_works(mixed_ledger, client, case):
    data = client.get("/api/totals").json()
    assert data["cases"][str(case.pk)]["total"] == Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"]


# --- The embeddable counter ------------------------------------------------------------------------------


def test_the_counter_can_be_framed_and_links_out(mixed_ledger, client, case):
    response = client.get("/fr/embed/write-for-rights-2020/khaled-drareni/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    html = response.content.decode()
    total = Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"]
    assert 0 < total < 1000  # no thousands separator to spell in each language
    assert f'<span data-total-for="{case.pk}">{total}</span>' in html
    assert (
        'href="http://127.0.0.1:8000/fr/write-for-rights-2020/khaled-drareni/" target="_blank" rel="noopener"' in html
    )
    assert '<html lang="fr"' in html
    # Every other page still refuses to be framed.
    assert client.get("/fr/write-for-rights-2020/khaled-drareni/")["X-Frame-Options"] == "DENY"


def test_the_counter_of_an_unknown_or_draft_case_is_not_found(client, demo_campaign):
    assert client.get("/en/embed/write-for-rights-2020/nobody/").status_code == 404
    Campaign.objects.filter(pk=demo_campaign.pk).update(status=Campaign.Status.DRAFT)
    assert client.get("/en/embed/write-for-rights-2020/khaled-drareni/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_partner_page_shows_the_counter_through_the_script(live_server, page, demo_campaign):
    """In Chromium: a page on another origin pastes the script code and gets the case's live counter."""
    case = demo_campaign.cases.get(slug="khaled-drareni")
    ledger.add_to_tallies([(TallyKey(case.pk, "signature", "online", "DZ", timezone.localdate()), 321)])
    page.set_content(
        '<p>Partner site</p><div data-plume-case="write-for-rights-2020/khaled-drareni" data-plume-language="fr">'
        f'</div><script src="{live_server.url}/static/js/plume-embed.js" async></script>'
        '<div data-plume-case="../../admin/x"></div>'
    )
    frame_element = page.wait_for_selector("iframe")
    assert frame_element.get_attribute("src") == f"{live_server.url}/fr/embed/write-for-rights-2020/khaled-drareni/"
    assert page.locator("iframe").count() == 1  # the malformed path got nothing
    frame = frame_element.content_frame()
    frame.wait_for_selector(f'[data-total-for="{case.pk}"]')
    assert frame.locator(f'[data-total-for="{case.pk}"]').inner_text() == "321"
    link = frame.locator("a[target=_blank]")
    assert link.get_attribute("href") == "http://127.0.0.1:8000/fr/write-for-rights-2020/khaled-drareni/"


def test_a_hub_asking_again_with_its_etag_is_told_nothing_changed(mixed_ledger, client, case):
    first = client.get("/api/v1/totals")
    etag = first["ETag"]
    assert etag.startswith('"') and first.status_code == 200
    again = client.get("/api/v1/totals", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    # New figures, a new ETag (once the cached JSON is computed again).
    services.record_offline_report(case=case, kind="postcard", day=timezone.localdate(), count=3, country="FR")
    from django.core.cache import cache

    cache.clear()
    changed = client.get("/api/v1/totals", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
