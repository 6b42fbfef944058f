"""Exports of a large number of rows, each next to psql's \\copy of the same rows, and their peak memory.

    python -m bench.export --rows 1000000 --out-dir bench/results/<run>

Run by bench/run.py on its own database (DATABASE_URL). Two exports are measured, each at a tenth of --rows
and at --rows, so that a memory that grows with the rows shows:

- `signatures`: the list of a petition's signatures for the authority (name and country, never an email), as
  CSV through `organizers.exports.base.run_export` for the kind "signatures" (organizers/exports/signatures.py:
  COPY);
- `totals`: the ledger's totals by day as CSV, through `organizers.exports.base.run_export`, the function the
  Celery worker runs for an export job.

Each export runs in a fresh Python process, whose peak resident memory (ru_maxrss) is read when it exits:
that includes Django itself, so what matters is that it stays the same for both sizes. The rows are made
with SQL (generate_series) and marked as already counted, so that the rollup does not pick them up.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTRIES = ["FR", "DZ", "GB", "DE", "ES", "IT", "MA", "TN", "SN", "CN", "BR", "MX", "US", "CA", "IN", "NG", "KE"]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()


# --- Children: one export each, in a process of its own ---------------------------------------------------


def child_signatures(case_id: int, out: Path) -> dict:
    from django.contrib.auth import get_user_model

    from campaign.models import Case, ExportJob
    from organizers.exports.base import export_path, run_export

    job = ExportJob.objects.create(
        requested_by=get_user_model().objects.get(username="bench-exporter"),
        kind="signatures",
        format=ExportJob.Format.CSV,
        case=Case.objects.get(pk=case_id),
        language="en",
    )
    started = time.monotonic()
    job = run_export(job.pk)
    seconds = time.monotonic() - started
    if job is None or export_path(job) is None:
        raise SystemExit("the signatures export wrote no file")
    export_path(job).rename(out)
    return {"seconds": seconds, "file": str(out)}


def child_totals(out: Path) -> dict:
    from django.contrib.auth import get_user_model

    from campaign.models import ExportJob
    from organizers.exports.base import export_path, run_export

    job = ExportJob.objects.create(
        requested_by=get_user_model().objects.get(username="bench-exporter"),
        kind="by_day",
        format=ExportJob.Format.CSV,
    )
    started = time.monotonic()
    job = run_export(job.pk)
    seconds = time.monotonic() - started
    if job is None or export_path(job) is None:
        raise SystemExit("the totals export wrote no file")
    path = export_path(job)
    path.rename(out)
    return {"seconds": seconds, "file": str(out)}


# --- The parent: makes the rows, runs \copy and the children ----------------------------------------------


def sql(statement: str, params: list | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def make_signatures(case_id: int, rows: int) -> None:
    # Names of several scripts, as real lists have; every one is confirmed, unflagged and already counted.
    sql(
        """
        INSERT INTO petitions_signature (case_id, name, email, email_normalised, country, language, wants_news,
            source, status, flagged, flag_rule, confirmed_at, counted_at, created_at, repeat_mails,
            mail_status, mail_attempts, mail_next_attempt_at, mail_sent_at, mail_last_error)
        SELECT %s, (ARRAY['Ana Lima', 'Khaled Saïd', 'خالد درارني', '张伟', 'Jean-Luc Moreau'])[1 + i %% 5] || ' ' || i,
            'export-' || %s || '-' || i || '@example.org', 'export-' || %s || '-' || i || '@example.org',
            (%s::text[])[1 + i %% %s], 'en', false, 'online', 'confirmed', false, '', now(), now(), now(), 0,
            'sent', 1, now(), now(), ''
        FROM generate_series(1, %s) AS i
        """,
        [case_id, case_id, case_id, COUNTRIES, len(COUNTRIES), rows],
    )


def make_tallies(rows: int, offset: int) -> None:
    """`rows` tallies of signatures, on days starting `offset` days before 2000-01-01 (no clash with real ones)."""
    from campaign.models import Case

    case_ids = list(Case.objects.values_list("pk", flat=True))
    kinds = ["signature", "letter", "postcard", "drawing", "email", "tweet"]
    per_day = len(case_ids) * len(kinds) * 2 * len(COUNTRIES)
    days = rows // per_day + 1
    sql(
        """
        INSERT INTO campaign_tally (case_id, kind, source, country, day, count)
        SELECT c, k, s, co, DATE '2000-01-01' - (%s + d), 1 + (d * 7 + c) %% 50
        FROM generate_series(0, %s) AS d, unnest(%s::bigint[]) AS c, unnest(%s::text[]) AS k,
             unnest(ARRAY['online', 'paper']) AS s, unnest(%s::text[]) AS co
        ORDER BY d LIMIT %s
        """,
        [offset, days - 1, case_ids, kinds, COUNTRIES, rows],
    )


def psql_copy(query: str, out: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-d",
            os.environ["DATABASE_URL"],
            "-c",
            f"\\copy ({query}) TO '{out}' WITH (FORMAT csv, HEADER)",
        ],
        check=True,
    )
    return time.monotonic() - started


def run_child(args: list[str]) -> tuple[dict, float]:
    """Run one export in a fresh process; its result and its peak resident memory in MiB."""
    process = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"export child {args} failed with {process.returncode}")
    return json.loads(output), usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def count_lines(path: Path) -> int:
    with path.open("rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))


def measure(name: str, rows: int, child_args: list[str], copy_query: str, out_dir: Path) -> dict:
    copy_file = out_dir / f"export-{name}-{rows}-copy.csv"
    export_file = out_dir / f"export-{name}-{rows}.csv"
    copy_s = psql_copy(copy_query, copy_file)
    result, peak = run_child([*child_args, "--file", str(export_file)])
    # Both files have a header line; the export's must hold every row.
    exported = count_lines(export_file) - 1
    copied = count_lines(copy_file) - 1
    measured = {
        "rows": rows,
        "exported_rows": exported,
        "copied_rows": copied,
        "export_s": round(result["seconds"], 2),
        "copy_s": round(copy_s, 2),
        "export_rows_per_s": exported / result["seconds"],
        "copy_rows_per_s": copied / copy_s,
        "ratio": (exported / result["seconds"]) / (copied / copy_s),
        "peak_rss_mib": peak,
        "file_mib": export_file.stat().st_size / 2**20,
    }
    # The files served their purpose; a million rows is a few dozen megabytes each.
    copy_file.unlink()
    export_file.unlink()
    return measured


def parent(rows: int, out_dir: Path) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from campaign.models import Case

    User = get_user_model()
    if not User.objects.filter(username="bench-exporter").exists():
        User.objects.create_superuser("bench-exporter", "bench-exporter@example.org", None)
    small, big = max(rows // 10, 1), rows
    cases = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    small_case, big_case = cases[-2], cases[-1]
    results: dict = {"rows": rows, "exports": []}

    make_signatures(small_case, small)
    make_signatures(big_case, big)
    make_tallies(small, 0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE petitions_signature")
        cursor.execute("ANALYZE campaign_tally")
    signature_runs = []
    for case_id, n in ((small_case, small), (big_case, big)):
        query = (
            f"SELECT name, country FROM petitions_signature WHERE case_id = {case_id} AND status = 'confirmed' "  # noqa: S608
            "AND NOT flagged ORDER BY id"
        )
        signature_runs.append(
            measure("signatures", n, ["--child", "signatures", "--case", str(case_id)], query, out_dir)
        )
    function = "organizers.exports.base.run_export (signatures, CSV through COPY; the worker's task)"
    results["exports"].append({"name": "signatures", "function": function, "runs": signature_runs})

    totals_query = (
        "SELECT case_id, kind, source, country, day, count FROM campaign_tally WHERE count > 0 "
        "ORDER BY day, case_id, kind, source, country"
    )
    totals_runs = [measure("totals", small, ["--child", "totals"], totals_query, out_dir)]
    make_tallies(big - small, 10_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaign_tally")
    totals_runs.append(measure("totals", big, ["--child", "totals"], totals_query, out_dir))
    results["exports"].append(
        {
            "name": "totals",
            "function": "organizers.exports.base.run_export (by day, CSV; the worker's task)",
            "runs": totals_runs,
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out-dir", type=Path, default=Path("."))
    parser.add_argument("--child", choices=["signatures", "totals"])
    parser.add_argument("--case", type=int)
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    setup_django()
    if args.child == "signatures":
        print(json.dumps(child_signatures(args.case, args.file)))
    elif args.child == "totals":
        print(json.dumps(child_totals(args.file)))
    else:
        print(json.dumps(parent(args.rows, args.out_dir)))


if __name__ == "__main__":
    main()
