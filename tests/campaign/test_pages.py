"""The public pages: the campaign home, a case page, the 404 page, and the three languages."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from campaign.lib import ledger
from campaign.models import ActionKind, ActionSource, Campaign

pytestmark = pytest.mark.django_db


def test_it_redirects_the_root_to_a_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 302
    assert response["Location"] == "/fr/"


def test_it_lists_the_ten_cases_on_the_home_page(client, demo_campaign):
    response = client.get("/en/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Write for Rights 2020" in html
    assert len(response.context["cases"]) == 10
    assert html.count('class="card h-100 plume-case-card"') == 10
    for case in demo_campaign.cases.all():
        assert f'href="{case.get_absolute_url()}"' in html
    assert "Algeria" in html


def test_it_shows_a_case_with_its_story_ask_and_good_news(client, case):
    response = client.get("/en/write-for-rights-2020/khaled-drareni/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Khaled Drareni</h1>" in html
    assert "Release him and drop all charges." in html
    assert "President of the People&#x27;s Democratic Republic of Algeria" in html
    assert "plume-good-news" in html and "Released conditionally." in html


def test_it_shows_the_live_total_and_the_goal(client, case):
    ledger.add_to_tallies(
        [(ledger.TallyKey(case.pk, ActionKind.SIGNATURE, ActionSource.ONLINE, "FR", datetime.date(2020, 12, 1)), 1234)]
    )
    ledger.refresh_totals()
    response = client.get(case.get_absolute_url())
    assert f'<strong data-total-for="{case.pk}">1,234</strong>' in response.content.decode()
    assert "Goal: 100,000 actions" in response.content.decode()


def test_it_serves_the_home_page_in_french_and_arabic(client, demo_campaign):
    french = client.get("/fr/").content.decode()
    assert '<html lang="fr" dir="ltr">' in french
    assert "Écrire pour les droits 2020" in french
    assert "journaliste" in french

    arabic = client.get("/ar/write-for-rights-2020/khaled-drareni/").content.decode()
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "bootstrap.rtl.min.css" in arabic
    assert "ما نطالب به" in arabic
    assert "أطلقوا سراحه" in arabic
    assert "إلى: رئيس الجمهورية الجزائرية الديمقراطية الشعبية" in arabic


def test_it_falls_back_to_the_default_language_for_untranslated_texts(client, case):
    case.summary_fr = ""
    case.save()
    html = client.get(f"/fr{case.get_absolute_url()[3:]}").content.decode()
    assert "Journalist who covered the street protests" in html


@pytest.mark.parametrize(
    "path",
    ["/en/write-for-rights-2020/nobody/", "/en/no-such-campaign/", "/fr/no-such-campaign/khaled-drareni/"],
)
def test_it_answers_unknown_slugs_with_the_404_page(client, demo_campaign, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode() or "Page introuvable" in response.content.decode()


def test_it_hides_draft_campaigns(client, demo_campaign):
    demo_campaign.status = Campaign.Status.DRAFT
    demo_campaign.save()
    assert client.get("/en/").status_code == 404
    assert client.get("/en/write-for-rights-2020/khaled-drareni/").status_code == 404


def test_it_says_when_the_campaign_is_closed(client, demo_campaign):
    demo_campaign.closes_at = timezone.now() - datetime.timedelta(days=1)
    demo_campaign.opens_at = demo_campaign.closes_at - datetime.timedelta(days=40)
    demo_campaign.save()
    assert "This campaign is closed." in client.get("/en/").content.decode()


def test_it_escapes_case_texts(client, case):
    case.summary_en = '<script>alert("x")</script>'
    case.save()
    html = client.get(case.get_absolute_url()).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_it_loads_nothing_from_another_site(client, demo_campaign):
    html = client.get("/en/").content.decode()
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/en/",
        "/ar/",
        "/fr/write-for-rights-2020/",
        "/en/write-for-rights-2020/khaled-drareni/",
        "/en/embed/write-for-rights-2020/khaled-drareni/",
    ],
)
def test_it_serves_the_busiest_pages_without_a_query_once_warm(client, demo_campaign, django_assert_num_queries, path):
    assert client.get(path).status_code == 200
    with django_assert_num_queries(0):
        assert client.get(path).status_code == 200


def test_it_shows_an_edited_case_at_once(client, case):
    client.get(case.get_absolute_url())
    case.ask_en = "Free him now."
    case.save()
    assert "Free him now." in client.get(case.get_absolute_url()).content.decode()
    case.campaign.name_en = "Write for Rights, the 2020 edition"
    case.campaign.save()
    assert "Write for Rights, the 2020 edition" in client.get("/en/").content.decode()


def test_it_fills_each_visitor_s_form_token_and_time_into_the_cached_forms(client, case):
    import re

    from django.test import Client

    first = client.get(case.get_absolute_url()).content.decode()
    other = Client()
    second = other.get(case.get_absolute_url()).content.decode()

    def hidden(html: str, name: str) -> list[str]:
        return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)

    # The language switcher, the petition and the letter form: each carries a token of its visitor.
    assert len(hidden(second, "csrfmiddlewaretoken")) == 3
    assert "\x00" not in second
    assert other.cookies["csrftoken"].value
    assert set(hidden(first, "csrfmiddlewaretoken")).isdisjoint(hidden(second, "csrfmiddlewaretoken"))
    # Both supporters' forms carry a signed form time that the forms accept.
    times = hidden(second, "started")
    assert len(times) == 2
    from campaign.lib.abuse import HumanCheckFormMixin

    form = HumanCheckFormMixin(data={"started": times[0]})
    assert form.is_valid() and form.suspicion() == "too-fast"


def test_it_renders_the_cached_case_page_anew_when_its_total_moves(client, case, django_assert_num_queries):
    import re

    client.get(case.get_absolute_url())
    # What the rollup does every few seconds in a surge: count more, then refresh the cached totals.
    ledger.add_to_tallies(
        [(ledger.TallyKey(case.pk, ActionKind.SIGNATURE, ActionSource.ONLINE, "FR", datetime.date(2020, 12, 1)), 7)]
    )
    ledger.refresh_totals()
    html = client.get(case.get_absolute_url()).content.decode()
    assert f'<strong data-total-for="{case.pk}">7</strong>' in html
    # The forms under it are still there, each with this visitor's token and form time filled in.
    assert len(re.findall(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"\x00]+"', html)) == 3
    assert len(re.findall(r'<input type="hidden" name="started" value="[^"\x00]+"', html)) == 2
    with django_assert_num_queries(0):
        assert client.get(case.get_absolute_url()).status_code == 200


def test_it_shows_the_closed_notice_once_a_case_closes(client, case):
    client.get(case.get_absolute_url())
    case.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    case.save()
    html = client.get(case.get_absolute_url()).content.decode()
    assert "This petition is closed" in html
    assert 'name="started"' not in html


def test_it_remembers_unknown_addresses_without_asking_the_database_again(
    client, demo_campaign, django_assert_num_queries
):
    assert client.get("/en/write-for-rights-2020/nobody/").status_code == 404
    with django_assert_num_queries(0):
        assert client.get("/en/write-for-rights-2020/nobody/").status_code == 404


def test_it_serves_the_privacy_notice(client):
    assert "Privacy notice" in client.get("/en/privacy/").content.decode()


@pytest.mark.parametrize(("language", "algeria"), [("fr", "Algérie"), ("ar", "الجزائر"), ("en", "Algeria")])
def test_it_lists_countries_in_the_visitors_language_in_every_form(client, case, language, algeria):
    html = client.get(f"/{language}{case.get_absolute_url()[3:]}").content.decode()
    # Both supporters' forms on the case page (the petition and the letter) list countries.
    assert html.count(f'<option value="DZ">{algeria}</option>') == 2


def test_it_allows_scripts_only_from_the_site_itself(client, case):
    policy = client.get(case.get_absolute_url())["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_it_lets_partner_sites_frame_only_the_counter(client, case):
    widget = client.get(f"/en/embed/{case.campaign.slug}/{case.slug}/")
    assert "frame-ancestors" not in widget["Content-Security-Policy"]
    assert "X-Frame-Options" not in widget


def test_it_fills_in_each_visitor_s_own_path_escaped_in_the_cached_page(client, case):
    from django.test import RequestFactory

    page = case.get_absolute_url()
    client.get(page)
    query = 'from="><script>alert(1)</script>'
    html = client.get(page, {"from": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)" not in html
    expected = RequestFactory().get(page, {"from": '"><script>alert(1)</script>'}).get_full_path()
    assert f'<input type="hidden" name="next" value="{expected}">' in html
    assert query not in html
