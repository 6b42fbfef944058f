"""How every export is made: one registry of kinds, the job a worker runs, the writers, COPY, expiry.

Each kind of export is an `Exporter` registered with `register_exporter` (organizers/exports/totals.py,
signatures.py, the printed handover.py and letters_pack.py; OrganizersConfig.ready registers them).
`request_export` creates an `ExportJob` and enqueues it after commit; the task calls `run_export`, which
streams the rows from a server-side cursor (or, for the big CSV files, from PostgreSQL's COPY) straight into
the file (memory stays flat however many rows there are) and writes its progress on the job row, which the
export page polls. `delete_expired_exports` removes the files when they expire. Every text cell is
neutralised against spreadsheet formulas.

A kind that prints (PDF, `PDF_FORMATS`: A4 or US Letter) writes its own file with `write_file` (through
organizers/exports/pdf.py), a PDF or, when it comes in volumes, a ZIP of PDFs; `finish` runs in the
transaction that marks the job done (a letters pack is marked ready there, so that its file is offered if and
only if its letters are recorded as printed) and `fail` when the job failed.
"""

from __future__ import annotations

import csv
import datetime
import errno
import io
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, connections, transaction
from django.http import FileResponse
from django.utils import timezone, translation
from openpyxl import Workbook

from campaign.models import Campaign, Case, ExportJob

log = logging.getLogger(__name__)

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 5000


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe; others pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# The formats of printed exports, by paper size. Not among ExportJob.Format's choices (campaign/models.py): the
# job's page shows the value as it is.
PDF_A4 = "pdf"
PDF_LETTER = "pdf-us"
PDF_FORMATS = (PDF_A4, PDF_LETTER)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


def paper_size(format: str) -> str:
    """The CSS page size of a printed export's format."""
    return "letter" if format == PDF_LETTER else "A4"


def exports_dir() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "exports"


def export_path(job: ExportJob) -> Path | None:
    """The job's file on disk, or None when there is none (never outside the exports directory)."""
    if not job.file:
        return None
    root = exports_dir().resolve()
    path = (Path(settings.PRIVATE_MEDIA_ROOT) / job.file).resolve()
    return path if path.parent == root and path.is_file() else None


# --- The registry of kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exporter:
    """One kind of export.

    `rows(job)` yields the header, then every row, each cell already neutralised (used for XLSX, and for
    CSV when `copy_csv` is None or the database is not PostgreSQL); `copy_csv(job, path, every)` writes the
    same rows as CSV through `copy_to_csv` (which records the progress) and returns how many it wrote;
    `count(job)` is the number of rows, for the progress bar. Only people with `permission` may request,
    follow or download it. A kind that `needs_case` is requested for one case (and maybe one country).
    """

    kind: str
    label: Any  # a lazy string: shown in the staff member's language
    permission: str
    sheet_title: Callable[[], str]
    count: Callable[[ExportJob], int]
    rows: Callable[[ExportJob], Iterator[list]]
    copy_csv: Callable[[ExportJob, Path, int], int] | None = None
    needs_case: bool = False
    formats: tuple[str, ...] = (ExportJob.Format.CSV, ExportJob.Format.XLSX)
    # A printed kind: `write_file(job, path, progress)` writes the whole file and returns (items written, the
    # file's extension: "pdf" or "zip"); it calls `progress(done)` as it goes, which records it on the job.
    write_file: Callable[[ExportJob, Path, Callable[[int], None]], tuple[int, str]] | None = None
    # Run in the transaction that marks the job done (may raise to fail it instead), and after it failed.
    finish: Callable[[ExportJob], None] | None = None
    fail: Callable[[ExportJob], None] | None = None


EXPORTERS: dict[str, Exporter] = {}


def register_exporter(exporter: Exporter) -> None:
    """Call from an AppConfig.ready(). A kind is registered once."""
    if exporter.kind in EXPORTERS:
        raise ValueError(f"export kind {exporter.kind!r} is already registered")
    if len(exporter.kind) > ExportJob._meta.get_field("kind").max_length:
        raise ValueError(f"export kind {exporter.kind!r} is too long")
    EXPORTERS[exporter.kind] = exporter


def label(kind: str) -> str:
    """What an export of this kind is called, in the active language."""
    exporter = EXPORTERS.get(kind)
    return str(exporter.label) if exporter is not None else kind


def kinds_for(user: AbstractBaseUser, *, needs_case: bool = False) -> list[tuple[str, str]]:
    """The kinds this user may request (those for a whole campaign, or those for one case), as choices."""
    return [(e.kind, e.label) for e in EXPORTERS.values() if e.needs_case == needs_case and user.has_perm(e.permission)]


def may_see(user: AbstractBaseUser, job: ExportJob) -> bool:
    """Whether the user may follow and download this job: each kind asks for its own permission."""
    exporter = EXPORTERS.get(job.kind)
    return exporter is not None and user.has_perm(exporter.permission)


def hidden_kinds(user: AbstractBaseUser) -> list[str]:
    """The kinds this user may not see, to leave out of the list of recent exports."""
    return [kind for kind, exporter in EXPORTERS.items() if not user.has_perm(exporter.permission)]


# --- Writers: one row at a time, nothing kept in memory -----------------------------------------------------


class _CsvWriter:
    def __init__(self, path: Path, sheet_title: str) -> None:
        # The byte-order mark makes spreadsheets read the file as UTF-8 (case names in Arabic, French accents).
        self._file = path.open("w", newline="", encoding="utf-8-sig")
        self._csv = csv.writer(self._file)

    def write(self, row: list) -> None:
        self._csv.writerow(v.isoformat() if isinstance(v, datetime.date) else v for v in row)

    def close(self) -> None:
        self._file.close()


class _XlsxWriter:
    # A worksheet holds at most 1,048,576 rows: a bigger export goes on in another sheet, header repeated.
    max_rows = 1_048_576

    def __init__(self, path: Path, sheet_title: str) -> None:
        # write_only mode streams rows to a temporary file instead of building the sheet in memory.
        self._path = path
        self._book = Workbook(write_only=True)
        # Sheet titles are at most 31 characters and cannot contain []:*?/\ .
        self._title = "".join(c for c in sheet_title if c not in "[]:*?/\\")[:27]
        self._header: list | None = None
        self._sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        title = self._title if self._sheets == 1 else f"{self._title} {self._sheets}"
        self._sheet = self._book.create_sheet(title=title)
        self._rows = 0
        if self._header is not None:
            self.write(self._header)

    def write(self, row: list) -> None:
        if self._header is None:
            self._header = row
        elif self._rows >= self.max_rows:
            self._new_sheet()
        self._sheet.append(row)
        self._rows += 1

    def close(self) -> None:
        self._book.save(self._path)


WRITERS = {ExportJob.Format.CSV: _CsvWriter, ExportJob.Format.XLSX: _XlsxWriter}


def iter_export_rows(job: ExportJob) -> Iterator[list]:
    """The header, then every row of the export, neutralised. Rows come from a server-side cursor."""
    return EXPORTERS[job.kind].rows(job)


def _write_rows(job: ExportJob, path: Path, every: int) -> int:
    """Write the export row by row through Python (XLSX, summaries, and CSV off PostgreSQL)."""
    done = 0
    writer = WRITERS[job.format](path, EXPORTERS[job.kind].sheet_title())
    try:
        rows = iter_export_rows(job)
        writer.write(next(rows))
        for row in rows:
            writer.write(row)
            done += 1
            if done % every == 0:
                ExportJob.objects.filter(pk=job.pk).update(progress_done=done)
    finally:
        writer.close()
    return done


# --- The big CSV through PostgreSQL's COPY ------------------------------------------------------------------
# As CSV, the export by day and the registered exports that offer it (the signature list) are written by
# PostgreSQL itself with COPY, with the labels that Python prepared (translated, neutralised) passed as
# parameters: the rows only pass through this process on their way to the file, at close to \copy's speed.
# The result is the same as `_write_rows` gives (tested for each).


def can_copy() -> bool:
    """Whether the database can COPY to this process (PostgreSQL through psycopg2)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return hasattr(cursor.cursor, "copy_expert")  # psycopg2's API


def count_rows(job: ExportJob) -> int:
    """How many rows the job's export has (the progress bar's total)."""
    return EXPORTERS[job.kind].count(job)


# How often the progress of a COPY is read and written on the job row.
PROGRESS_SECONDS = 0.5


class _CopyProgress(threading.Thread):
    """Counts the rows of a COPY export, then follows the COPY, on a thread and a connection of its own (the
    job's connection is busy with the COPY). See `copy_to_csv`.

    Once the COPY has run for PROGRESS_SECONDS (a shorter one needs no progress bar, and is spared the count
    and the connection), it writes the number of rows to come on the job (`count_rows`); then, every
    PROGRESS_SECONDS until `stop()`, it reads how many rows the COPY has sent from PostgreSQL's
    pg_stat_progress_copy (PostgreSQL 14 and later) and writes it on the job when it moved by `every` rows
    or more. Progress is for the person watching: a failure here is logged and the export goes on.
    """

    def __init__(self, job: ExportJob, backend_pid: int, every: int) -> None:
        super().__init__(name=f"export-{job.pk}-progress", daemon=True)
        self.job, self.backend_pid, self.every = job, backend_pid, every
        self._stopping = threading.Event()
        # This thread's psycopg2 connection once it has one, so that stop() can cancel a count still running.
        self._lock = threading.Lock()
        self._connection = None

    def run(self) -> None:
        if self._stopping.wait(PROGRESS_SECONDS):
            return
        jobs = ExportJob.objects.filter(pk=self.job.pk)
        try:
            # This thread's own connection: Django's connections are per thread.
            connection.ensure_connection()
            with self._lock:
                if self._stopping.is_set():
                    return
                self._connection = connection.connection
            total = count_rows(self.job)
            jobs.update(progress_total=total)
            self.written(progress_total=total)
            reported = 0
            while not self._stopping.wait(PROGRESS_SECONDS):
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT tuples_processed FROM pg_stat_progress_copy WHERE pid = %s", [self.backend_pid]
                    )
                    row = cursor.fetchone()
                if row is not None and row[0] - reported >= self.every:
                    reported = row[0]
                    jobs.update(progress_done=reported)
                    self.written(progress_done=reported)
        except Exception:
            # A query that stop() cancelled is no failure: the export is written, its total is the rows written.
            if not self._stopping.is_set():
                log.exception("Export %s: its progress is no longer reported", self.job.pk)
        finally:
            connections.close_all()

    def written(self, **progress: int) -> None:
        """Called on this thread after each write of the progress on the job, with what was written. Does
        nothing: tests replace it to follow a COPY without sleeping (tests/organizers/test_exports.py)."""

    def stop(self) -> None:
        """Stop following the COPY, which has ended; a count still running is cancelled."""
        with self._lock:
            self._stopping.set()
            if self._connection is not None:
                self._connection.cancel()
        self.join()


def copy_to_csv(job: ExportJob, path: Path, every: int, query: str, params: list, header: list[str]) -> int:
    """Write `header` then the rows of the SELECT `query` (with %s parameters) to `path` as CSV through
    PostgreSQL's COPY. Returns the number of rows. Meanwhile another thread writes the job's total and its
    progress (`_CopyProgress`), so that every row goes from psycopg2 to the file without Python code.

    The file has the byte-order mark and the header that `_CsvWriter` writes; the rows must be exactly what
    the Python path yields (neutralised in SQL, labels passed as parameters): each exporter tests that.
    """
    first = io.StringIO()
    csv.writer(first).writerow(header)
    with connection.cursor() as cursor, path.open("wb") as file:
        raw = cursor.cursor
        sql = raw.mogrify(query, params).decode()
        file.write(first.getvalue().encode("utf-8-sig"))
        progress = _CopyProgress(job, raw.connection.get_backend_pid(), every)
        progress.start()
        try:
            # The file itself: psycopg2 hands it each row with a C call, no Python code per row.
            raw.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", file)
        finally:
            progress.stop()
        # COPY's own count of the rows it sent.
        return raw.rowcount


# --- Workflows ----------------------------------------------------------------------------------------------


@transaction.atomic
def request_export(
    *,
    requested_by: AbstractBaseUser,
    kind: str,
    format: str,
    campaign: Campaign | None = None,
    case: Case | None = None,
    country: str = "",
    language: str = "",
) -> ExportJob:
    """Create an export job and hand it to a worker once the job row is committed. `case` and `country` are
    for registered kinds that take them (a petition's signatures)."""
    exporter = EXPORTERS.get(kind)
    if exporter is None:
        raise ValueError(f"unknown export kind {kind!r}")
    if format not in exporter.formats or (exporter.needs_case and case is None):
        raise ValueError(f"export {kind!r} cannot be made as {format!r} without its parameters")
    job = ExportJob.objects.create(
        requested_by=requested_by,
        kind=kind,
        format=format,
        campaign=campaign,
        case=case,
        country=country,
        language=language or translation.get_language() or settings.LANGUAGE_CODE,
    )
    run_export_task.delay_on_commit(job.pk)
    return job


@shared_task(name="organizers.exports.run_export", ignore_result=True)
def run_export_task(job_id: int) -> None:
    """Write an export's file (enqueued by request_export after commit; organizers/tasks.py imports it for the
    worker)."""
    run_export(job_id)


def _write_printed(job: ExportJob, partial: Path, every: int) -> tuple[int, str]:
    """A printed kind writes its own file; its progress (names or letters) goes on the job as it comes."""
    exporter = EXPORTERS[job.kind]
    total = count_rows(job)
    ExportJob.objects.filter(pk=job.pk).update(progress_total=total)

    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(progress_done=done)

    return exporter.write_file(job, partial, progress)


def failure_message(exc: BaseException) -> str:
    """What the job keeps of a failure: the error's class and text, a full disk said plainly."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"DiskFull: the disk of the export files is full ({exc.strerror})"
    return f"{type(exc).__name__}: {exc}"[:1000]


def run_export(job_id: int) -> ExportJob | None:
    """Write the job's file, recording progress on the row. Called by the task; safe to call again for a job
    whose worker died (it starts over). Returns None for a job that was deleted, finished or expired."""
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING, progress_done=0, error="")
    if not claimed:
        return None
    # The case and campaign loaded now: the thread that counts the rows of a COPY reads them too.
    job = ExportJob.objects.select_related("case", "campaign").get(pk=job_id)
    directory = exports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    # An unguessable name: even a misconfigured web server listing the directory would not give files away.
    stem = f"{job.pk}-{secrets.token_urlsafe(12)}"
    partial = directory / f"{stem}.{job.format}.part"
    every = max(1, settings.EXPORT_PROGRESS_EVERY_ROWS)
    done = total = 0
    exporter = EXPORTERS[job.kind]
    name = final = None
    try:
        extension = job.format
        with translation.override(job.language):
            copy = exporter.copy_csv if job.format == ExportJob.Format.CSV and can_copy() else None
            if exporter.write_file is not None:
                done, extension = _write_printed(job, partial, every)
            elif copy is not None:
                # Through copy_to_csv, which counts the rows on another thread while the COPY runs.
                done = copy(job, partial, every)
            else:
                total = count_rows(job)
                ExportJob.objects.filter(pk=job.pk).update(progress_total=total)
                done = _write_rows(job, partial, every)
        name = f"{stem}.{extension}"
        final = directory / name
        partial.rename(final)
        now = timezone.now()
        # The file is offered (and a letters pack marked ready) together, or not at all.
        with transaction.atomic():
            if exporter.finish is not None:
                exporter.finish(job)
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportJob.Status.DONE,
                file=f"exports/{name}",
                progress_done=done,
                progress_total=max(done, total),
                finished_at=now,
                expires_at=now + datetime.timedelta(hours=settings.EXPORT_FILES_KEEP_HOURS),
            )
    except Exception as exc:
        log.exception("Export %s failed", job.pk)
        partial.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=failure_message(exc), finished_at=timezone.now()
        )
        if exporter.fail is not None:
            exporter.fail(job)
        return None
    job.refresh_from_db()
    return job


def file_response(job: ExportJob, path: Path) -> FileResponse:
    """The download of a finished job's file, private to the browser that asked for it. A printed export
    may be a PDF or a ZIP of volumes: the file's own extension decides its type and name."""
    extension = path.suffix.lstrip(".")
    filename = job.download_name.rsplit(".", 1)[0] + "." + extension
    content_type = CONTENT_TYPES.get(extension, "application/octet-stream")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    return response


def delete_expired_exports(now: datetime.datetime | None = None) -> int:
    """Delete the files of expired exports and mark the jobs expired. Returns how many jobs expired.

    Also sweeps the directory of files no job accounts for any more (the `.part` file of a worker that was
    killed, the file of a job deleted in the admin): anything older than the keeping time and an hour.
    """
    now = now or timezone.now()
    expired = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(status=ExportJob.Status.EXPIRED):
        path = export_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
        # Conditional: a job that a worker is finishing right now keeps its status until the next run.
        expired += ExportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=ExportJob.Status.EXPIRED, file=""
        )
    directory = exports_dir()
    if directory.is_dir():
        cutoff = (now - datetime.timedelta(hours=settings.EXPORT_FILES_KEEP_HOURS + 1)).timestamp()
        for path in directory.iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
    return expired
