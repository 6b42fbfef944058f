"""The organizers' dashboard: totals per case and kind, recent days, countries, goals, chart, embed codes."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from campaign.models import Tally
from organizers import offline_reports as services

pytestmark = pytest.mark.django_db


def test_an_organizer_sees_the_totals_of_each_case(mixed_ledger, organizer_client, demo_campaign, case):
    services.record_offline_report(case=case, kind="letter", day=timezone.localdate(), count=240, country="FR")
    response = organizer_client.get("/en/staff/")
    assert response.status_code == 200
    context = response.context
    total = Tally.objects.aggregate(n=Sum("count"))["n"]
    assert context["grand_total"] == total
    today = timezone.localdate()
    assert context["today_total"] == Tally.objects.filter(day=today).aggregate(n=Sum("count"))["n"]
    week = Tally.objects.filter(day__gte=today - datetime.timedelta(days=6)).aggregate(n=Sum("count"))["n"]
    assert context["week_total"] == week
    row = next(r for r in context["rows"] if r["case"] == case)
    assert row["total"] == Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"]
    assert row["percent"] == int(100 * row["total"] / case.goal)
    kinds = [k for k, _ in context["kinds"]]
    assert kinds == ["signature", "letter"]
    assert row["by_kind"][1] == Tally.objects.filter(case=case, kind="letter").aggregate(n=Sum("count"))["n"]
    assert [c["code"] for c in context["top_countries"]][:2] == ["DZ", "FR"]
    assert len(context["rows"]) == demo_campaign.cases.count()

    html = response.content.decode()
    assert f'data-dashboard="grand-total">{total:,}<' in html
    assert "Khaled Drareni" in html and "Algeria" in html
    # The chart is a plain SVG with one bar per day since the campaign opened (today, in the demo).
    assert len(re.findall(r"<rect ", html)) == len(context["chart"]["bars"]) >= 1
    # The code partner sites paste, shown as text.
    assert (
        "&lt;iframe src=&quot;http://127.0.0.1:8000/en/embed/write-for-rights-2020/khaled-drareni/&quot; "
        "title=&quot;Khaled Drareni&quot;" in html
    )


def test_the_embed_code_survives_quotes_and_markup_in_names(organizer_client, case):
    case.name = 'Khaled "the <b>journalist</b>"'
    case.save()
    html = organizer_client.get("/en/staff/").content.decode()
    # What the textarea shows (once the browser decodes it) is valid HTML with the name escaped in it.
    assert "title=&quot;Khaled &amp;quot;the &amp;lt;b&amp;gt;journalist&amp;lt;/b&amp;gt;&amp;quot;&quot;" in html
    assert "<b>journalist</b>" not in html


def test_the_dashboard_speaks_the_staff_members_language(mixed_ledger, organizer_client):
    response = organizer_client.get("/ar/staff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "/ar/embed/" in html


def queries_of(client, url: str) -> int:
    """How many queries a second request of `url` makes (the first warms the caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_dashboard_takes_a_fixed_number_of_queries(mixed_ledger, organizer_client, demo_campaign):
    few = queries_of(organizer_client, "/en/staff/")
    # Two more cases, and far more tallies: over every case, more countries and a longer time.
    for n in (1, 2):
        demo_campaign.cases.create(
            name=f"Case {n}", slug=f"case-{n}", country="BR", role="Student", summary="-", ask="-", authority="-"
        )
    today = timezone.localdate()
    ledger.add_to_tallies(
        (TallyKey(case.pk, kind, "online", country, today - datetime.timedelta(days=day)), 1)
        for case in demo_campaign.cases.all()
        for kind in ("signature", "letter")
        for country in ("BR", "CL", "JP", "SN", "TN")
        for day in range(30)
    )
    # 12, two for the local groups' totals and the reports that wait for approval, and two for who brought whom
    # (supporters' referrals).
    assert queries_of(organizer_client, "/en/staff/") == few <= 16


def test_moderators_and_anonymous_visitors_get_no_dashboard(mixed_ledger, moderator_client, client):
    assert moderator_client.get("/en/staff/").status_code == 403
    client.logout()
    response = client.get("/en/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=/en/staff/")


def test_an_empty_campaign_shows_zeros(organizer_client, demo_campaign):
    response = organizer_client.get(f"/en/staff/?campaign={demo_campaign.slug}")
    assert response.status_code == 200
    assert response.context["grand_total"] == 0
    assert "No action counted yet." in response.content.decode()
