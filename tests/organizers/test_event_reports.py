"""The link on an event's tally sheet: anyone reports what an event counted, and it counts only once an
organizer approved it; organizers' own reports still count as they are saved, and corrections keep the history."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.lib import ledger
from campaign.models import OfflineReport, Tally
from organizers import offline_reports
from tests.conftest import form_started

pytestmark = pytest.mark.django_db


def report_url(case) -> str:
    return reverse("organizers:event-report", kwargs={"campaign": case.campaign.slug, "case": case.slug})


def form(**overrides) -> dict:
    data = {
        "kind": "letter",
        "count": "240",
        "day": timezone.localdate().isoformat(),
        "country": "FR",
        "event_name": "Lycée Victor Hugo, Lyon",
        "note": "",
        "website": "",
        "started": form_started(),
    }
    data.update(overrides)
    return data


def event_tallies(case) -> int:
    return sum(Tally.objects.filter(case=case, source="event").values_list("count", flat=True))


def test_it_has_the_address_printed_on_tally_sheets(case):
    assert report_url(case) == f"/en/events/{case.campaign.slug}/{case.slug}/report/"


def test_it_shows_the_form_in_every_language(client, case):
    for language in ("en", "fr", "es", "ar"):
        response = client.get(report_url(case).replace("/en/", f"/{language}/", 1))
        assert response.status_code == 200
        assert f'lang="{language}"' in response.content.decode()
        assert 'name="website"' in response.content.decode()


def test_it_holds_a_report_until_an_organizer_approves_it(client, case, organizer):
    response = client.post(report_url(case), form())
    assert response.status_code == 302
    assert response["Location"].endswith(f"/events/{case.campaign.slug}/{case.slug}/thanks/")
    report = OfflineReport.objects.get()
    assert (report.status, report.channel, report.count, report.entered_by) == ("pending", "event_link", 240, None)
    assert event_tallies(case) == 0
    assert ledger.compute_totals()["total"] == 0

    assert offline_reports.approve_offline_reports([report.pk], decided_by=organizer) == 1
    assert event_tallies(case) == 240
    # Approving again (a second tab, a double click) counts nothing more.
    assert offline_reports.approve_offline_reports([report.pk], decided_by=organizer) == 0
    assert event_tallies(case) == 240
    report.refresh_from_db()
    assert (report.status, report.decided_by) == ("approved", organizer)


def test_a_rejected_report_never_counts_and_says_why(client, case, organizer):
    client.post(report_url(case), form())
    report = OfflineReport.objects.get()
    assert offline_reports.reject_offline_reports([report.pk], decided_by=organizer, reason="Counted twice") == 1
    assert offline_reports.approve_offline_reports([report.pk], decided_by=organizer) == 0
    report.refresh_from_db()
    assert (report.status, report.decision_note) == ("rejected", "Counted twice")
    assert event_tallies(case) == 0
    assert offline_reports.reconcile_offline_reports() == 0


def test_an_organizer_correcting_a_waiting_report_approves_it_and_keeps_what_was_sent(client, case, organizer):
    client.post(report_url(case), form(count="2400"))
    sent = OfflineReport.objects.get()
    corrected = offline_reports.correct_offline_report(
        sent.pk, case=case, kind="letter", day=sent.day, count=240, country="FR", entered_by=organizer
    )
    assert event_tallies(case) == 240
    assert [(r.count, r.status, r.is_current) for r in corrected.revisions()] == [
        (240, "approved", True),
        (2400, "pending", False),
    ]
    assert corrected.channel == "event_link"
    assert offline_reports.approve_offline_reports([sent.pk], decided_by=organizer) == 0
    # The nightly recount agrees: only the approved revision counts.
    assert offline_reports.reconcile_offline_reports() == 0
    assert event_tallies(case) == 240


def test_an_organizers_own_report_still_counts_at_once(case, organizer):
    offline_reports.record_offline_report(
        case=case, kind="letter", day=timezone.localdate(), count=12, entered_by=organizer
    )
    assert event_tallies(case) == 12
    assert OfflineReport.objects.get().status == "approved"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"count": "-5"}, "greater than or equal to 1"),
        ({"count": "0"}, "greater than or equal to 1"),
        ({"count": "100001"}, "more than one event counts"),
        ({"count": "1e9"}, "Enter a whole number"),
        ({"day": (timezone.localdate() + datetime.timedelta(days=5)).isoformat()}, "cannot be in the future"),
        ({"day": "2001-01-01"}, "long before the campaign opened"),
        ({"day": "not a day"}, "Enter a valid date"),
        ({"kind": "post"}, "Select a valid choice"),
        ({"kind": "<script>"}, "Select a valid choice"),
        ({"country": "XX"}, "Select a valid choice"),
        ({"event_name": ""}, "This field is required"),
        ({"event_name": "x" * 201}, "at most 200 characters"),
    ],
)
def test_it_refuses_impossible_figures_with_a_message_and_stores_nothing(client, case, overrides, message):
    response = client.post(report_url(case), form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not OfflineReport.objects.exists()


def test_what_a_reporter_types_is_shown_as_text_never_run(client, case, admin_client):
    hostile = "<script>alert(1)</script>\u202egnp.exe"
    client.post(report_url(case), form(event_name=hostile, note=hostile))
    report = OfflineReport.objects.get()
    # The characters that reorder the text after them are dropped; the rest is kept as typed.
    assert report.event_name == "<script>alert(1)</script>gnp.exe"
    page = admin_client.get(reverse("admin:campaign_offlinereport_change", args=[report.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_robot_is_thanked_and_nothing_is_stored(client, case):
    filled = client.post(report_url(case), form(website="http://spam.example"))
    too_fast = client.post(report_url(case), form(started=form_started(seconds_ago=0)))
    assert filled.status_code == too_fast.status_code == 302
    assert not OfflineReport.objects.exists()


def test_it_pauses_a_flood_from_one_network(client, case, settings):
    settings.EVENT_REPORT_RATE_LIMIT_PER_HOUR = 2
    assert client.post(report_url(case), form()).status_code == 302
    assert client.post(report_url(case), form()).status_code == 302
    response = client.post(report_url(case), form())
    assert response.status_code == 429
    assert "Nothing was stored" in response.content.decode()
    assert OfflineReport.objects.count() == 2


def test_an_unknown_or_unpublished_case_has_no_form(client, case):
    assert client.get(f"/en/events/{case.campaign.slug}/no-such-case/report/").status_code == 404
    case.campaign.status = "draft"
    case.campaign.save()
    assert client.get(report_url(case)).status_code == 404
