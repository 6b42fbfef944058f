"""After a mixed run of ledger writes, every place that shows totals agrees with the Tally rows.

Signatures and letters are written the way their apps write them (campaign.lib.ledger.add_to_tallies); offline
reports go through their service, corrections included.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaign.models import ExportJob, Tally
from organizers import offline_reports as services
from organizers.exports import base as exports
from tests.conftest import total_shown

pytestmark = pytest.mark.django_db


def csv_rows(job: ExportJob) -> list[list[str]]:
    return list(csv.reader(io.StringIO(exports.export_path(job).read_text(encoding="utf-8-sig"))))[1:]


def test_dashboard_exports_json_and_case_pages_agree_with_the_rows(
    mixed_ledger, demo_campaign, organizer, organizer_client, client
):
    today = timezone.localdate()
    cases = list(demo_campaign.cases.order_by("display_order")[:4])
    report = services.record_offline_report(case=cases[0], kind="letter", day=today, count=240, country="FR")
    services.correct_offline_report(report.pk, case=cases[0], kind="letter", day=today, count=204, country="FR")
    services.record_offline_report(
        case=cases[3], kind="drawing", day=today - datetime.timedelta(days=2), count=31, country=""
    )
    other = services.record_offline_report(case=cases[1], kind="postcard", day=today, count=12, country="SN")
    services.correct_offline_report(other.pk, case=cases[1], kind="postcard", day=today, count=0, country="SN")

    expected = {
        case.pk: Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"] or 0
        for case in demo_campaign.cases.all()
    }
    assert expected[cases[0].pk] > 204 and expected[cases[3].pk] == 31 and sum(expected.values()) > 0

    dashboard = organizer_client.get("/en/staff/").context
    assert {r["case"].pk: r["total"] for r in dashboard["rows"]} == expected

    by_case: Counter[str] = Counter()
    for row in csv_rows(exports.run_export(ExportJob.objects.create(requested_by=organizer, kind="by_case",
                                                                   format="csv").pk)):  # fmt: skip
        by_case[row[1]] += int(row[3])
    names = {case.pk: case.name for case in demo_campaign.cases.all()}
    assert {pk: by_case[name] for pk, name in names.items()} == expected

    by_day: Counter[str] = Counter()
    for row in csv_rows(exports.run_export(ExportJob.objects.create(requested_by=organizer, kind="by_day",
                                                                   format="csv").pk)):  # fmt: skip
        by_day[row[1]] += int(row[7])
    assert {pk: by_day[name] for pk, name in names.items()} == expected

    by_country = csv_rows(
        exports.run_export(ExportJob.objects.create(requested_by=organizer, kind="by_country", format="csv").pk)
    )
    assert sum(int(r[3]) for r in by_country) == sum(expected.values())

    open_data = client.get("/api/v1/totals").json()
    assert {c["id"]: c["total"] for c in open_data["cases"]} == expected
    minimal = client.get("/api/totals").json()
    assert {pk: minimal["cases"].get(str(pk), {}).get("total", 0) for pk in expected} == expected

    for case in demo_campaign.cases.all():
        page = client.get(case.get_absolute_url()).content.decode()
        assert total_shown(page, case.pk) == expected[case.pk], case.name
        widget = client.get(f"/en/embed/{demo_campaign.slug}/{case.slug}/").content.decode()
        assert total_shown(widget, case.pk) == expected[case.pk], case.name
