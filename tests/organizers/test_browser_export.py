"""In Chromium: an organizer logs in, starts an export, watches its progress bar move as a real Celery worker
writes the file, and downloads it.

The worker is held half-way by the test, on the database: its second progress report waits on an advisory
lock the test holds, so the first one is on the page for as long as the test looks (no race against the
worker's speed or the page's polling). The progress of a COPY export, which reports from another thread, is
tested without a browser in test_exports.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.models import Sum
from django_countries import countries
from openpyxl import load_workbook

from campaign.models import ExportJob, Tally

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 6_000
EVERY = 1_000  # the worker's EXPORT_PROGRESS_EVERY_ROWS: it reports after 1,000 rows, then 2,000, ...
HOLD = 2**40 + 42  # an advisory lock key of this test alone


def seed_tallies(demo_campaign) -> int:
    """ROWS tallies spread over cases, kinds, countries and days, inserted in bulk."""
    cases = list(demo_campaign.cases.all())
    codes = [code for code, _ in list(countries)[:30]]
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


@pytest.fixture
def second_report_held() -> Iterator[None]:
    """While the test holds HOLD, a running export's second progress report waits for it (a trigger on the job
    table): the first report is committed and shown, and the worker goes no further."""
    table = ExportJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION test_hold_second_report() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.status = 'running' AND OLD.progress_done > 0 AND NEW.progress_done > OLD.progress_done THEN
                    PERFORM pg_advisory_xact_lock({HOLD});
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_hold_second_report BEFORE UPDATE ON {table}
                FOR EACH ROW EXECUTE FUNCTION test_hold_second_report();
            SELECT pg_advisory_lock({HOLD});
            """
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT pg_advisory_unlock_all();
                DROP TRIGGER test_hold_second_report ON {table};
                DROP FUNCTION test_hold_second_report();
                """
            )


def let_the_worker_go() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD])


def test_an_organizer_watches_the_progress_bar_move_and_downloads_the_export(
    live_server, page, start_worker, demo_campaign, organizer, settings, second_report_held
):
    assert seed_tallies(demo_campaign) == ROWS
    page.goto(f"{live_server.url}/admin/login/?next=/en/staff/exports/")
    page.fill("#id_username", "organizer")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.wait_for_url("**/en/staff/exports/")

    page.get_by_label("Totals by case, kind of action, source, country and day").check()
    page.get_by_label("Excel (XLSX)").check()
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

    start_worker(PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT), EXPORT_PROGRESS_EVERY_ROWS=str(EVERY))
    # The worker wrote 1,000 of 6,000 rows and waits: the page shows it, as it polls.
    page.wait_for_function("() => window.seen.some(v => v > 0 && v < 100)", timeout=60_000)
    assert bar.get_attribute("aria-valuenow") == str(100 * EVERY // ROWS)
    assert page.locator('[data-export-field="status"]').inner_text() == "Running"
    assert page.locator('[data-export-field="count"]').inner_text() == "1,000 / 6,000 rows"
    assert page.get_by_role("link", name="Download the file").is_hidden()

    let_the_worker_go()
    download_link = page.get_by_role("link", name="Download the file")
    download_link.wait_for(state="visible", timeout=60_000)
    assert page.locator('[data-export-field="status"]').inner_text() == "Ready"
    assert bar.get_attribute("aria-valuenow") == "100"
    seen = page.evaluate("window.seen")
    assert seen[-1] == 100 and seen == sorted(seen), seen
    assert any(0 < value < 100 for value in seen), seen

    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename.startswith("plume-by-day-") and download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as file:
        rows = list(load_workbook(file, read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == ROWS + 1
    assert sum(r[7] for r in rows[1:]) == Tally.objects.aggregate(n=Sum("count"))["n"]
