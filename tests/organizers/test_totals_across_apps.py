"""Every count goes through one ledger, so every place that shows totals agrees with the rows that were
counted: the organizers' dashboard, the exports (each kind; CSV written by PostgreSQL's COPY and XLSX written
row by row), the open data JSON, the JSON the pages poll, the case pages and the counter partner sites embed.

Checked after a mixed run through every app (signatures signed on the page and confirmed, a flagged one,
letters written and moderated, paper sheets imported, an offline report corrected), and after ten days of
ledger writes with reports of every kind.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter

import pytest
from django.db.models import Sum
from django.utils import timezone
from openpyxl import load_workbook

from campaign.models import ExportJob, Tally
from letters.models import Letter, RejectionReason
from letters.services import moderation
from organizers import offline_reports
from organizers.exports import base as exports
from petitions.models import PaperImport, Signature
from petitions.services import counting, links
from petitions.services.paper import import_paper_signatures
from tests.conftest import total_shown

pytestmark = pytest.mark.django_db


# --- Every place that shows totals --------------------------------------------------------------------------


def export_rows(organizer, kind: str, format: str = "csv") -> list[list]:
    """The rows (header left out) of an export of `kind`, written as a worker writes it."""
    job = exports.run_export(ExportJob.objects.create(requested_by=organizer, kind=kind, format=format).pk)
    assert job is not None and job.status == "done"
    path = exports.export_path(job)
    if format == "xlsx":
        return [list(row) for row in load_workbook(path, read_only=True).active.iter_rows(values_only=True)][1:]
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]


def per_case(rows: list[list], name_column: int, count_column: int, cases) -> dict[int, int]:
    counts: Counter[str] = Counter()
    for row in rows:
        counts[row[name_column]] += int(row[count_column])
    return {case.pk: counts[case.name] for case in cases}


def assert_every_place_shows(expected: dict[int, int], campaign, client, organizer_client, organizer) -> None:
    """`expected`: the total of each case of `campaign` (0 included), as the ledger's rows say."""
    cases = list(campaign.cases.all())
    assert set(expected) == {case.pk for case in cases}

    dashboard = organizer_client.get("/en/staff/").context
    assert {r["case"].pk: r["total"] for r in dashboard["rows"]} == expected, "dashboard"

    assert exports.can_copy()  # the CSV by day below is PostgreSQL's COPY
    assert per_case(export_rows(organizer, "by_day"), 1, 7, cases) == expected, "export by day, CSV"
    assert per_case(export_rows(organizer, "by_day", "xlsx"), 1, 7, cases) == expected, "export by day, XLSX"
    assert per_case(export_rows(organizer, "by_case"), 1, 3, cases) == expected, "export by case"
    assert sum(int(r[3]) for r in export_rows(organizer, "by_country")) == sum(expected.values()), "by country"

    open_data = client.get("/api/v1/totals").json()
    assert {c["id"]: c["total"] for c in open_data["cases"]} == expected, "open data"
    assert open_data["total"] == sum(expected.values())
    minimal = client.get("/api/totals").json()
    assert {case.pk: minimal["cases"].get(str(case.pk), {}).get("total", 0) for case in cases} == expected, "JSON"

    for case in cases:
        page = client.get(case.get_absolute_url()).content.decode()
        assert total_shown(page, case.pk) == expected[case.pk], f"case page of {case.name}"
        widget = client.get(f"/en/embed/{campaign.slug}/{case.slug}/")
        assert widget.status_code == 200
        assert total_shown(widget.content.decode(), case.pk) == expected[case.pk], f"embedded counter of {case.name}"


def ledger_totals(campaign) -> dict[int, int]:
    counted = Tally.objects.filter(case__campaign=campaign).values("case").annotate(n=Sum("count"))
    return {case.pk: 0 for case in campaign.cases.all()} | {row["case"]: row["n"] for row in counted}


# --- A mixed run through every app --------------------------------------------------------------------------


def sign(client, case, name: str, email: str, country: str, **extra):
    page = client.get(case.get_absolute_url())
    started = page.content.decode().split('name="started" value="')[1].split('"')[0]
    return client.post(
        f"/en/petitions/{case.campaign.slug}/{case.slug}/sign/",
        {"name": name, "email": email, "country": country, "started": started, "website": "", **extra},
    )


def write(client, case, first_name: str, country: str, text: str):
    page = client.get(case.get_absolute_url())
    started = page.content.decode().split('name="started" value="')[-1].split('"')[0]
    return client.post(
        f"/en/letters/{case.campaign.slug}/{case.slug}/write/",
        {
            "addressed_to": "person",
            "first_name": first_name,
            "country": country,
            "language": "en",
            "text": text,
            "started": started,
            "website": "",
        },
    )


def mixed_run(client, demo_campaign, moderator, organizer, settings) -> dict[int, int]:
    """Act through every app; return the total each case should show."""
    settings.PETITION_MIN_SECONDS_TO_FILL = 0
    settings.LETTERS_MIN_SECONDS_TO_FILL = 0
    drareni = demo_campaign.cases.get(slug="khaled-drareni")
    sada = demo_campaign.cases.get(slug="nassima-al-sada")

    # Online signatures: four confirmed, one left pending, one a bot filled in (flagged, never counted).
    for i, (case, country) in enumerate(
        [(drareni, "FR"), (drareni, "DZ"), (drareni, "FR"), (sada, "SA"), (sada, "BE")]
    ):
        assert sign(client, case, f"Signer {i}", f"signer{i}@example.org", country).status_code == 302
    assert sign(client, drareni, "Bot", "bot@example.org", "FR", website="http://spam.example").status_code == 302
    for signature in Signature.objects.exclude(email="signer4@example.org").filter(flagged=False):
        assert links.confirm_signature(signature.pk)
    counting.count_signatures()

    # Letters: two approved (one to each case), one rejected, one still pending.
    texts = ["You are not alone.", "We think of you every day.", "Courage from Lyon.", "Solidarity from Rabat."]
    for case, text in zip([drareni, sada, drareni, sada], texts, strict=True):
        assert write(client, case, "Ana", "BR", text).status_code == 302
    letters = list(Letter.objects.order_by("pk"))
    assert moderation.approve_letters([letters[0].pk, letters[1].pk], moderator) == 2
    moderation.reject_letters([letters[2].pk], RejectionReason.objects.first(), moderator)

    # Paper sheets: counts per country from an event.
    today = timezone.localdate()
    paper = PaperImport(
        case=drareni, kind=PaperImport.Kind.COUNTS, event="Lycée Voltaire", day=today, uploaded_by=organizer
    )
    import_paper_signatures(paper, b"country,count\nFR,40\nBE,2\nXX,5\n")

    # An offline report, corrected once.
    report = offline_reports.record_offline_report(case=sada, kind="postcard", day=today, count=240, country="FR")
    offline_reports.correct_offline_report(report.pk, case=sada, kind="postcard", day=today, count=204, country="FR")

    # What each app's rows say should be counted.
    expected = {case.pk: 0 for case in demo_campaign.cases.all()}
    expected[drareni.pk] = 3 + 1 + 42  # three confirmed online (bot and pending left out), one letter, 42 on paper
    expected[sada.pk] = 1 + 1 + 204  # one confirmed online, one letter, the corrected report
    return expected


def test_every_place_agrees_after_a_mixed_run_through_every_app(
    client, demo_campaign, moderator, organizer, organizer_client, settings, django_capture_on_commit_callbacks
):
    # The services refresh the cached totals when their transaction commits: run those callbacks as
    # production does (a test's transaction never commits).
    with django_capture_on_commit_callbacks(execute=True):
        expected = mixed_run(client, demo_campaign, moderator, organizer, settings)
    assert ledger_totals(demo_campaign) == expected

    assert_every_place_shows(expected, demo_campaign, client, organizer_client, organizer)
    drareni = demo_campaign.cases.get(slug="khaled-drareni")
    by_country = {c["id"]: c["by_country"] for c in client.get("/api/v1/totals").json()["cases"]}
    assert by_country[drareni.pk]["FR"]["total"] == 2 + 40

    # The nightly reconciliations agree with what was counted as it happened.
    assert counting.reconcile_signatures(wait_seconds=5) == 0
    assert moderation.reconcile_letter_tallies() == 0
    assert offline_reports.reconcile_offline_reports() == 0
    assert ledger_totals(demo_campaign) == expected


# --- Ten days of ledger writes ------------------------------------------------------------------------------


def test_every_place_agrees_after_ten_days_of_every_kind_and_source(
    mixed_ledger, demo_campaign, organizer, organizer_client, client
):
    """Signatures and letters over ten days, as their apps write them (mixed_ledger), offline reports of
    other kinds, one corrected to nothing, one with no country."""
    today = timezone.localdate()
    cases = list(demo_campaign.cases.order_by("display_order")[:4])
    report = offline_reports.record_offline_report(case=cases[0], kind="letter", day=today, count=240, country="FR")
    offline_reports.correct_offline_report(report.pk, case=cases[0], kind="letter", day=today, count=204, country="FR")
    offline_reports.record_offline_report(
        case=cases[3], kind="drawing", day=today - datetime.timedelta(days=2), count=31, country=""
    )
    other = offline_reports.record_offline_report(case=cases[1], kind="postcard", day=today, count=12, country="SN")
    offline_reports.correct_offline_report(other.pk, case=cases[1], kind="postcard", day=today, count=0, country="SN")

    expected = ledger_totals(demo_campaign)
    assert expected[cases[0].pk] > 204 and expected[cases[3].pk] == 31 and sum(expected.values()) > 0
    assert_every_place_shows(expected, demo_campaign, client, organizer_client, organizer)
