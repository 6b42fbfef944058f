"""Offline reports: recorded and corrected through one service, which moves the ledger by the difference."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from campaign.models import OfflineReport, Tally
from organizers import offline_reports as services

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def event_tallies(case) -> dict[tuple, int]:
    return {(t.kind, t.country, t.day): t.count for t in Tally.objects.filter(case=case, source="event") if t.count}


def test_it_adds_a_report_to_the_ledger(case, organizer):
    report = services.record_offline_report(
        case=case, kind="letter", day=TODAY, count=240, country="FR", event_name="Lycée Hugo", entered_by=organizer
    )
    assert report.is_current and report.entered_by == organizer
    assert event_tallies(case) == {("letter", "FR", TODAY): 240}
    assert ledger.case_total(case.pk) == 240


def test_it_moves_the_ledger_by_the_difference_and_keeps_history(case, organizer, superuser):
    ledger.add_to_tallies([(TallyKey(case.pk, "letter", "event", "FR", TODAY), 7)])  # another event, same key
    first = services.record_offline_report(case=case, kind="letter", day=TODAY, count=240, country="FR")
    second = services.correct_offline_report(
        first.pk, case=case, kind="letter", day=TODAY, count=204, country="FR", entered_by=superuser
    )
    assert event_tallies(case) == {("letter", "FR", TODAY): 211}
    # A correction to another kind and country moves the whole count across.
    third = services.correct_offline_report(
        second.pk, case=case, kind="postcard", day=TODAY, count=50, country="BE", entered_by=organizer
    )
    assert event_tallies(case) == {("letter", "FR", TODAY): 7, ("postcard", "BE", TODAY): 50}
    assert [r.pk for r in third.revisions()] == [third.pk, second.pk, first.pk]
    assert list(OfflineReport.objects.current()) == [third]
    first.refresh_from_db()
    assert first.count == 240 and not first.is_current and first.superseded_by == second


def test_it_refuses_to_correct_an_outdated_revision(case):
    first = services.record_offline_report(case=case, kind="letter", day=TODAY, count=10)
    services.correct_offline_report(first.pk, case=case, kind="letter", day=TODAY, count=12)
    with pytest.raises(ValidationError):
        services.correct_offline_report(first.pk, case=case, kind="letter", day=TODAY, count=99)
    assert event_tallies(case) == {("letter", "", TODAY): 12}


@pytest.mark.parametrize(
    ("count", "day"),
    [(-1, TODAY), (5, TODAY + datetime.timedelta(days=30))],
)
def test_it_refuses_impossible_reports(case, count, day):
    with pytest.raises(ValidationError):
        services.record_offline_report(case=case, kind="letter", day=day, count=count)
    assert not OfflineReport.objects.exists() and not Tally.objects.exists()


def test_reconciliation_repairs_drift_in_the_event_tallies(case):
    report = services.record_offline_report(case=case, kind="letter", day=TODAY, count=240, country="FR")
    services.correct_offline_report(report.pk, case=case, kind="letter", day=TODAY, count=200, country="FR")
    # Drift: a tally edited behind the ledger's back, and one that no report explains.
    Tally.objects.filter(source="event").update(count=999)
    ledger.add_to_tallies([(TallyKey(case.pk, "drawing", "event", "", TODAY), 3)])
    online = TallyKey(case.pk, "signature", "online", "DZ", TODAY)
    ledger.add_to_tallies([(online, 5)])

    assert services.reconcile_offline_reports() == 2
    assert event_tallies(case) == {("letter", "FR", TODAY): 200}
    # Other sources are not the reports' business.
    assert Tally.objects.get(source="online").count == 5
    assert services.reconcile_offline_reports() == 0


# --- The admin ------------------------------------------------------------------------------------------


def form_data(case, **overrides) -> dict:
    return {
        "case": case.pk,
        "kind": "letter",
        "count": "240",
        "day": TODAY.isoformat(),
        "country": "FR",
        "event_name": '=HYPERLINK("http://evil")',
        "note": "",
        **overrides,
    }


def test_an_organizer_records_and_corrects_a_report_in_the_admin(organizer_client, organizer, case):
    response = organizer_client.post("/admin/campaign/offlinereport/add/", form_data(case))
    assert response.status_code == 302, response.content.decode()[:3000]
    report = OfflineReport.objects.get()
    assert report.entered_by == organizer and report.count == 240

    response = organizer_client.post(
        f"/admin/campaign/offlinereport/{report.pk}/change/", form_data(case, count="204", _continue="1")
    )
    assert response.status_code == 302
    new = OfflineReport.objects.get(is_current=True)
    assert new.pk != report.pk and new.supersedes_id == report.pk
    assert response["Location"].endswith(f"/admin/campaign/offlinereport/{new.pk}/change/")
    assert event_tallies(case) == {("letter", "FR", TODAY): 204}

    page = organizer_client.get(f"/admin/campaign/offlinereport/{new.pk}/change/").content.decode()
    assert "240" in page and "204" in page  # the history table
    assert "<td>=HYPERLINK(&quot;http://evil&quot;)</td>" in page  # escaped in the history table
    # The old revision is read-only: posting to it changes nothing.
    organizer_client.post(f"/admin/campaign/offlinereport/{report.pk}/change/", form_data(case, count="1"))
    assert event_tallies(case) == {("letter", "FR", TODAY): 204}
    assert OfflineReport.objects.count() == 2
    # The changelist opens on current revisions only.
    listing = organizer_client.get("/admin/campaign/offlinereport/").context["cl"]
    assert [r.pk for r in listing.result_list] == [new.pk]


def test_the_admin_form_explains_impossible_values(organizer_client, case):
    response = organizer_client.post("/admin/campaign/offlinereport/add/", form_data(case, count="-3"))
    assert response.status_code == 200
    future = (TODAY + datetime.timedelta(days=30)).isoformat()
    response = organizer_client.post("/admin/campaign/offlinereport/add/", form_data(case, day=future))
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert not OfflineReport.objects.exists()


def test_moderators_and_anonymous_visitors_cannot_see_reports(moderator_client, client, case):
    services.record_offline_report(case=case, kind="letter", day=TODAY, count=1)
    assert moderator_client.get("/admin/campaign/offlinereport/").status_code == 403
    assert moderator_client.post("/admin/campaign/offlinereport/add/", form_data(case)).status_code == 403
    client.logout()
    assert client.get("/admin/campaign/offlinereport/").status_code == 302
    assert OfflineReport.objects.count() == 1


def test_a_correction_that_loses_a_race_is_explained_not_a_crash(organizer_client, case, monkeypatch):
    report = services.record_offline_report(case=case, kind="letter", day=TODAY, count=240, country="FR")

    def beaten(*args, **kwargs):
        raise ValidationError("This report was corrected meanwhile: open its latest revision and try again.")

    # The other organizer's correction lands between this form's check and its save.
    monkeypatch.setattr(services, "correct_offline_report", beaten)
    response = organizer_client.post(
        f"/admin/campaign/offlinereport/{report.pk}/change/", form_data(case, count="204"), follow=True
    )
    assert response.status_code == 200
    assert "corrected meanwhile" in response.content.decode()
    assert "was changed successfully" not in response.content.decode()
    assert event_tallies(case) == {("letter", "FR", TODAY): 240}


def test_the_report_list_takes_the_same_queries_for_many_reports(organizer_client, organizer, demo_campaign):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def list_queries(reports: int) -> int:
        organizer_client.get("/admin/campaign/offlinereport/")
        with CaptureQueriesContext(connection) as queries:
            response = organizer_client.get("/admin/campaign/offlinereport/")
        assert len(response.context["cl"].result_list) == reports
        return len(queries)

    cases = list(demo_campaign.cases.all())
    services.record_offline_report(case=cases[0], kind="letter", day=TODAY, count=1, entered_by=organizer)
    one = list_queries(1)
    for i, case in enumerate(cases):
        for kind in ("postcard", "drawing", *(["letter"] if i else [])):
            services.record_offline_report(case=case, kind=kind, day=TODAY, count=i + 1, entered_by=organizer)
    # 10, and one for the filter by local group (its choices).
    assert list_queries(30) == one <= 11
