"""In Chromium: an organizer logs in, starts a large export, watches its progress bar fill as a real Celery
worker writes the file, and downloads it."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db.models import Sum
from django_countries import countries

from campaign.models import Tally

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 60_000


def seed_tallies(demo_campaign) -> int:
    """ROWS tallies spread over cases, kinds, countries and days, inserted in bulk."""
    cases = list(demo_campaign.cases.all())
    codes = [code for code, _ in list(countries)[:60]]
    first = datetime.date(2020, 1, 1)
    rows = (
        Tally(case=case, kind=kind, source="online", country=code, day=first + datetime.timedelta(days=d), count=d + 1)
        for case in cases
        for kind in ("signature", "letter")
        for code in codes
        for d in range(ROWS // (len(cases) * 2 * len(codes)))
    )
    Tally.objects.bulk_create(rows, batch_size=5000)
    return Tally.objects.count()


def test_an_organizer_watches_a_large_export_and_downloads_it(
    live_server, page, start_worker, demo_campaign, organizer, settings
):
    assert seed_tallies(demo_campaign) == ROWS
    page.goto(f"{live_server.url}/admin/login/?next=/en/staff/exports/")
    page.fill("#id_username", "organizer")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/en/staff/exports/")

    page.get_by_label("Totals by case, kind of action, source, country and day").check()
    page.get_by_label("CSV").check()
    page.get_by_role("button", name="Start the export").click()
    page.wait_for_url("**/en/staff/exports/*/")
    bar = page.get_by_role("progressbar", name="Progress of the export")
    # No worker runs yet: the export waits, and the page says so.
    assert page.locator('[data-export-field="status"]').inner_text() == "Waiting for a worker"
    assert bar.get_attribute("aria-valuenow") == "0"
    assert page.get_by_role("link", name="Download the file").is_hidden()
    # Record every value the bar takes from now on.
    page.evaluate(
        """() => {
          window.seen = [];
          const bar = document.querySelector('[data-export-field="progress"]');
          new MutationObserver(() => window.seen.push(Number(bar.getAttribute("aria-valuenow"))))
            .observe(bar, {attributes: true, attributeFilter: ["aria-valuenow"]});
        }"""
    )

    start_worker(PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT), EXPORT_PROGRESS_EVERY_ROWS="2000")
    download_link = page.get_by_role("link", name="Download the file")
    download_link.wait_for(state="visible", timeout=90_000)
    assert page.locator('[data-export-field="status"]').inner_text() == "Ready"
    assert bar.get_attribute("aria-valuenow") == "100"
    seen = page.evaluate("window.seen")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename.startswith("plume-by-day-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    assert len(rows) == ROWS + 1
    assert sum(int(r[7]) for r in rows[1:]) == Tally.objects.aggregate(n=Sum("count"))["n"]
