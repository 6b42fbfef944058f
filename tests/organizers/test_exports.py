"""Exports of the totals: contents, formula neutralisation, pages, permissions and expiry."""

from __future__ import annotations

import csv
import datetime
import io
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone
from openpyxl import load_workbook

from campaign.models import ExportJob, Tally
from organizers import offline_reports as services
from organizers.exports import base as exports

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Khaled Drareni", "Khaled Drareni"),
        ("", ""),
        (-5, -5),
        (datetime.date(2020, 12, 10), datetime.date(2020, 12, 10)),
    ],
)
def test_it_neutralises_text_cells_that_spreadsheets_would_run(value, expected):
    assert exports.neutralise(value) == expected


def make_job(organizer, kind="by_day", format="csv", **extra) -> ExportJob:
    return ExportJob.objects.create(requested_by=organizer, kind=kind, format=format, **extra)


def read_csv(job: ExportJob) -> list[list[str]]:
    path = exports.export_path(job)
    assert path is not None
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_export_by_day_has_every_tally_and_neutralised_names(mixed_ledger, case, organizer):
    case.name = "=1+2 Khaled"
    case.save()
    services.record_offline_report(
        case=case, kind="letter", day=timezone.localdate(), count=240, country="FR", event_name="@school"
    )
    job = exports.run_export(make_job(organizer).pk)
    assert job.status == "done" and job.file.startswith("exports/")
    rows = read_csv(job)
    assert rows[0] == ["Campaign", "Case", "Kind of action", "Source", "Country code", "Country", "Day", "Count"]
    body = rows[1:]
    assert len(body) == Tally.objects.filter(count__gt=0).count() == job.progress_done == job.progress_total
    assert sum(int(r[7]) for r in body) == Tally.objects.aggregate(n=Sum("count"))["n"]
    assert ["Write for Rights 2020", "'=1+2 Khaled", "Letter", "Event", "FR", "France",
            timezone.localdate().isoformat(), "240"] in body  # fmt: skip
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)


def test_the_xlsx_export_opens_with_the_same_numbers_and_no_formula(mixed_ledger, case, organizer):
    case.name = "=cmd|' /C calc'!A0"
    case.save()
    job = exports.run_export(make_job(organizer, format="xlsx").pk)
    sheet = load_workbook(exports.export_path(job), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Campaign", "Case")
    assert sum(r[7] for r in rows[1:]) == Tally.objects.aggregate(n=Sum("count"))["n"]
    names = {r[1] for r in rows[1:]}
    assert "'=cmd|' /C calc'!A0" in names
    assert all(not str(r[1]).startswith("=") for r in rows[1:])


def test_the_summaries_add_up_to_the_ledger(mixed_ledger, demo_campaign, organizer):
    by_case = read_csv(exports.run_export(make_job(organizer, kind="by_case").pk))
    by_country = read_csv(exports.run_export(make_job(organizer, kind="by_country").pk))
    total = Tally.objects.aggregate(n=Sum("count"))["n"]
    assert sum(int(r[3]) for r in by_case[1:]) == total
    assert sum(int(r[3]) for r in by_country[1:]) == total
    expected = Tally.objects.filter(country="DZ", kind="signature").aggregate(n=Sum("count"))["n"]
    assert ["DZ", "Algeria", "Petition signature", str(expected)] in by_country
    assert ["", "Unknown", "Petition signature", "30"] in by_country  # 3 cases x 10 days x 1


def test_a_campaign_filter_keeps_other_campaigns_out(mixed_ledger, demo_campaign, organizer):
    from campaign.models import Campaign

    other = Campaign.objects.create(
        name="Other", slug="other", opens_at=demo_campaign.opens_at, closes_at=demo_campaign.closes_at
    )
    job = exports.run_export(make_job(organizer, kind="by_case", campaign=other).pk)
    assert read_csv(job) == [["Campaign", "Case", "Kind of action", "Count"]]


def test_a_failed_export_says_so_and_leaves_no_file(mixed_ledger, organizer, settings, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports._CsvWriter, "write", fail)
    job = make_job(organizer, kind="by_case")
    assert exports.run_export(job.pk) is None
    job.refresh_from_db()
    assert job.status == "failed" and "disk full" in job.error and not job.file
    assert list(Path(settings.PRIVATE_MEDIA_ROOT, "exports").iterdir()) == []


def test_a_copy_onto_a_full_disk_says_so_and_leaves_no_file(mixed_ledger, case, organizer, settings, monkeypatch):
    # More rows than the file's buffer holds, so that the disk is full while COPY is still sending rows.
    first = datetime.date(2001, 1, 1)
    Tally.objects.bulk_create(
        Tally(case=case, kind="letter", source="online", country="FR", day=first + datetime.timedelta(days=d), count=1)
        for d in range(500)
    )
    job = make_job(organizer)
    # The job's file is /dev/full, where every write fails as on a full disk.
    monkeypatch.setattr(exports, "secrets", SimpleNamespace(token_urlsafe=lambda size: "full"))
    directory = Path(settings.PRIVATE_MEDIA_ROOT, "exports")
    directory.mkdir(parents=True)
    (directory / f"{job.pk}-full.csv.part").symlink_to("/dev/full")
    assert exports.run_export(job.pk) is None
    job.refresh_from_db()
    assert job.status == "failed" and "No space left on device" in job.error and not job.file
    assert list(directory.iterdir()) == []
    # The connection that ran the COPY is fine for the next export.
    assert exports.run_export(make_job(organizer).pk).status == "done"


def test_a_job_whose_worker_died_is_started_over(mixed_ledger, organizer):
    # What a redelivered message finds: the job still running, half-way.
    job = make_job(organizer, status="running", progress_done=40, progress_total=100)
    job = exports.run_export(job.pk)
    assert job.status == "done" and job.progress_done == job.progress_total == Tally.objects.filter(count__gt=0).count()


def test_a_finished_job_is_not_run_twice(mixed_ledger, organizer):
    job = exports.run_export(make_job(organizer).pk)
    assert exports.run_export(job.pk) is None
    assert ExportJob.objects.get(pk=job.pk).file == job.file


def test_expired_files_are_deleted(mixed_ledger, organizer):
    job = exports.run_export(make_job(organizer).pk)
    path = exports.export_path(job)
    assert exports.delete_expired_exports() == 0 and path.exists()
    assert exports.delete_expired_exports(now=job.expires_at + datetime.timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert job.status == "expired" and not job.file and not path.exists()


def test_files_no_job_accounts_for_are_swept_when_old(mixed_ledger, organizer, settings):
    job = exports.run_export(make_job(organizer).pk)
    directory = Path(settings.PRIVATE_MEDIA_ROOT, "exports")
    leftover = directory / "7-killedworker.csv.part"
    leftover.write_text("half an export")
    later = timezone.now() + datetime.timedelta(hours=settings.EXPORT_FILES_KEEP_HOURS + 2)
    assert exports.delete_expired_exports(now=timezone.now()) == 0
    assert leftover.exists() and exports.export_path(job) is not None  # young files stay
    exports.delete_expired_exports(now=later)
    assert list(directory.iterdir()) == []


# --- Pages ------------------------------------------------------------------------------------------------


def test_an_organizer_starts_an_export_which_is_enqueued_after_commit(
    organizer_client, organizer, demo_campaign, django_capture_on_commit_callbacks
):
    assert organizer_client.get("/en/staff/exports/").status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = organizer_client.post(
            "/en/staff/exports/", {"kind": "by_country", "format": "xlsx", "campaign": demo_campaign.pk}
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/en/staff/exports/{job.pk}/"
    assert (job.requested_by, job.kind, job.format, job.campaign, job.language) == (
        organizer, "by_country", "xlsx", demo_campaign, "en"
    )  # fmt: skip
    assert len(callbacks) == 1
    page = organizer_client.get(f"/en/staff/exports/{job.pk}/").content.decode()
    assert "Waiting for a worker" in page and 'http-equiv="refresh"' in page


def test_a_bad_export_request_is_explained(organizer_client):
    response = organizer_client.post("/en/staff/exports/", {"kind": "everything", "format": "pdf"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_status_and_download_of_a_finished_export(mixed_ledger, organizer_client, organizer, django_user_model):
    # Another organizer's export: organizers share their exports.
    from django.contrib.auth.models import Group

    colleague = django_user_model.objects.create_user("colleague", is_staff=True)
    colleague.groups.add(Group.objects.get(name="Organizers"))
    job = exports.run_export(make_job(colleague).pk)
    status = organizer_client.get(f"/en/staff/exports/{job.pk}/status").json()
    assert status["status"] == "done" and status["percent"] == 100
    assert status["done"] == status["total"] == Tally.objects.filter(count__gt=0).count()
    assert status["download_url"] == f"/en/staff/exports/{job.pk}/download"
    response = organizer_client.get(status["download_url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="plume-by-day-')
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("Campaign,Case")
    assert "no-store" in response["Cache-Control"]


def test_download_of_a_missing_or_expired_file(mixed_ledger, organizer_client, organizer):
    pending = make_job(organizer)
    assert organizer_client.get(f"/en/staff/exports/{pending.pk}/download").status_code == 404
    job = exports.run_export(make_job(organizer).pk)
    exports.delete_expired_exports(now=job.expires_at + datetime.timedelta(seconds=1))
    response = organizer_client.get(f"/en/staff/exports/{job.pk}/download")
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert organizer_client.get("/en/staff/exports/999999/status").status_code == 404


def test_moderators_get_no_export_and_no_task_status(mixed_ledger, moderator_client, organizer):
    job = exports.run_export(make_job(organizer).pk)
    for url in (
        "/en/staff/exports/",
        f"/en/staff/exports/{job.pk}/",
        f"/en/staff/exports/{job.pk}/status",
        f"/en/staff/exports/{job.pk}/download",
    ):
        assert moderator_client.get(url).status_code == 403, url
    assert moderator_client.post("/en/staff/exports/", {"kind": "by_day", "format": "csv"}).status_code == 403
    assert ExportJob.objects.count() == 1


def test_anonymous_visitors_are_sent_to_the_login_page(mixed_ledger, client, organizer):
    job = exports.run_export(make_job(organizer).pk)
    for url in (
        "/en/staff/exports/",
        f"/en/staff/exports/{job.pk}/",
        f"/en/staff/exports/{job.pk}/status",
        f"/en/staff/exports/{job.pk}/download",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    assert client.post("/en/staff/exports/", {"kind": "by_day", "format": "csv"}).status_code == 302
    assert ExportJob.objects.count() == 1


def test_postgresqls_copy_writes_the_same_rows_as_python(mixed_ledger, case, organizer, monkeypatch):
    """The export by day as CSV is written by COPY; every other export row by row in Python. Same result."""
    case.name = '@Khaled, "the" journalist'
    case.save()
    services.record_offline_report(case=case, kind="drawing", day=timezone.localdate(), count=3, country="")
    assert exports.can_copy()
    copied = read_csv(exports.run_export(make_job(organizer).pk))
    monkeypatch.setattr(exports, "can_copy", lambda: False)
    written = read_csv(exports.run_export(make_job(organizer).pk))
    assert copied == written
    assert len(copied) == Tally.objects.filter(count__gt=0).count() + 1
    assert any(row[1] == '\'@Khaled, "the" journalist' and row[5] == "Unknown" for row in copied)


def test_postgresqls_copy_keeps_to_one_campaign_as_python_does(mixed_ledger, demo_campaign, organizer, monkeypatch):
    from campaign.models import Campaign, Case

    other = Campaign.objects.create(
        name="+Other", slug="other", opens_at=demo_campaign.opens_at, closes_at=demo_campaign.closes_at
    )
    elsewhere = Case.objects.create(campaign=other, name="Elsewhere", slug="elsewhere")
    services.record_offline_report(case=elsewhere, kind="letter", day=timezone.localdate(), count=7, country="FR")
    for campaign in (demo_campaign, other):
        copied = read_csv(exports.run_export(make_job(organizer, campaign=campaign).pk))
        with monkeypatch.context() as patched:
            patched.setattr(exports, "can_copy", lambda: False)
            written = read_csv(exports.run_export(make_job(organizer, campaign=campaign).pk))
        assert copied == written
    assert copied[1:] == [
        ["'+Other", "Elsewhere", "Letter", "Event", "FR", "France", timezone.localdate().isoformat(), "7"]
    ]


# --- The progress of a COPY, followed on its own thread ------------------------------------------------------
# A COPY sends its rows without Python code; another thread counts them and follows the COPY
# (organizers.exports.base._CopyProgress). These tests make the COPY wait at given rows on advisory locks the
# test holds, and learn what that thread wrote from its `written` hook: nothing is timed, nothing races.

# Advisory lock keys of these tests alone (beyond 32 bits: campaign.lib.locks' keys are hashtext() values).
AFTER_10_ROWS, AFTER_20_ROWS, COUNTING = 2**40 + 10, 2**40 + 20, 2**40 + 30
# 40 rows; computing row 11 waits on one key, row 21 on the other (each held until the COPY's statement ends).
HELD_COPY = """
    SELECT i, CASE WHEN i = 11 THEN pg_advisory_xact_lock(%s) WHEN i = 21 THEN pg_advisory_xact_lock(%s) END
    FROM generate_series(1, 40) AS i
"""


@contextmanager
def holding(key: int) -> Iterator[None]:
    """Hold an advisory lock on this thread's connection: whatever waits on it waits for the test."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


class CopyThread(threading.Thread):
    """copy_to_csv on a thread (and so a database connection) of its own, as a worker runs it."""

    def __init__(self, job: ExportJob, path: Path, every: int, query: str, params: list) -> None:
        super().__init__()
        self.args_ = (job, path, every, query, params, ["row", "waited"])
        self.rows: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.rows = exports.copy_to_csv(*self.args_)
        except BaseException as exc:
            self.error = exc
        finally:
            connections.close_all()

    def result(self) -> int:
        self.join(30)
        assert not self.is_alive(), "the COPY did not end"
        if self.error:
            raise self.error
        return self.rows


def follow_progress(monkeypatch) -> queue.Queue:
    """What _CopyProgress writes on the job, in order, as {field: value} dicts."""
    written: queue.Queue = queue.Queue()
    monkeypatch.setattr(exports._CopyProgress, "written", lambda self, **progress: written.put(progress))
    # Only to keep the test short: the COPY waits for the test, whatever this is.
    monkeypatch.setattr(exports, "PROGRESS_SECONDS", 0.05)
    return written


@pytest.mark.django_db(transaction=True)
def test_a_copy_reports_its_total_and_its_progress_while_it_runs(mixed_ledger, organizer, monkeypatch, tmp_path):
    written = follow_progress(monkeypatch)
    job = make_job(organizer, status="running")
    total = Tally.objects.filter(count__gt=0).count()

    def on_the_job() -> tuple[int, int]:
        # What the export page reads, from a connection of its own.
        return ExportJob.objects.values_list("progress_done", "progress_total").get(pk=job.pk)

    copy = CopyThread(job, tmp_path / "held.csv", 10, HELD_COPY, [AFTER_10_ROWS, AFTER_20_ROWS])
    try:
        with holding(AFTER_20_ROWS):
            with holding(AFTER_10_ROWS):
                copy.start()
                assert written.get(timeout=30) == {"progress_total": total}
                # Every 10 rows: nothing before the 10th, and the 10th while the COPY waits after it.
                assert written.get(timeout=30) == {"progress_done": 10}
                assert on_the_job() == (10, total)
            assert written.get(timeout=30) == {"progress_done": 20}
            assert on_the_job() == (20, total)
    finally:
        rows = copy.result()
    assert rows == 40 and len((tmp_path / "held.csv").read_bytes().splitlines()) == 41
    # Once let go, the COPY ends at once; the thread may have seen its last rows (run_export writes the end).
    later = [written.get_nowait() for _ in range(written.qsize())]
    assert all(list(p) == ["progress_done"] and 30 <= p["progress_done"] <= 40 for p in later), later


@pytest.mark.django_db(transaction=True)
def test_a_count_still_running_when_the_copy_ends_is_cancelled(organizer, monkeypatch, tmp_path):
    written = follow_progress(monkeypatch)
    counting = threading.Event()
    errors = []

    def slow_count(job):
        # On the progress thread's connection: hold COUNTING, then, in the one statement that would take ten
        # seconds, let it go. The test takes COUNTING once that statement runs on the server.
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [COUNTING])
                counting.set()
                cursor.execute("SELECT pg_sleep(10) FROM (SELECT pg_advisory_unlock(%s)) AS let_go", [COUNTING])
        except Exception as exc:
            errors.append(exc)
            raise
        return 0

    monkeypatch.setattr(exports, "count_rows", slow_count)
    job = make_job(organizer, status="running")
    copy = CopyThread(job, tmp_path / "short.csv", 10, HELD_COPY, [AFTER_10_ROWS, AFTER_20_ROWS])
    try:
        with holding(AFTER_10_ROWS):
            copy.start()
            assert counting.wait(30), "the count did not start"
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '30s'")
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COUNTING])
        # The COPY goes on to its end while the count is still running: stopping the thread cancels it.
    finally:
        rows = copy.result()
    assert rows == 40
    assert len(errors) == 1 and "canceling statement due to user request" in str(errors[0])
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (0, 0)
    assert written.empty()


def test_an_xlsx_export_too_big_for_one_sheet_goes_on_in_another(mixed_ledger, organizer, monkeypatch):
    monkeypatch.setattr(exports._XlsxWriter, "max_rows", 100)
    job = exports.run_export(make_job(organizer, format="xlsx").pk)
    book = load_workbook(exports.export_path(job), read_only=True)
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    count = Tally.objects.filter(count__gt=0).count()
    assert len(sheets) == -(-count // 99) > 1  # 100 rows a sheet: the header and 99 tallies
    assert book.sheetnames[:2] == ["Totals by day", "Totals by day 2"]
    assert all(rows[0] == sheets[0][0] for rows in sheets)
    assert sum(len(rows) - 1 for rows in sheets) == count
    assert sum(r[7] for rows in sheets for r in rows[1:]) == Tally.objects.aggregate(n=Sum("count"))["n"]
