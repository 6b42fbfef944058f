"""Plume's benchmark: `make bench` (bash bench/run, which runs `python -m bench.run`; QUICK=1 for a smoke run).

Runs the whole platform as production does, on this machine only (127.0.0.1): gunicorn, a Celery worker and
beat, PostgreSQL (its own database, plume_bench), Redis (db 5) and Postfix's smtp-sink for the mail server.
Then measures, each next to a baseline taken in the same run (docs/performance.md says what and why), in
stages that BENCH_STAGES picks (all by default, always in this order):

    pages    the case page and the JSON totals under wrk with a warm cache, and the database transactions they
             cause; then each page-caching layer turned off in turn, while the total moves as in a surge
    sign     a bare Django view inserting one row (the baseline) against the petition's sign view
    e2e      signatures signed, mailed, confirmed through their links, counted in the ledger
    exports  the streaming exports against psql's \\copy, and the exporting process's peak memory

Raw results go to bench/results/<time>/, the summary is printed at the end (and saved as summary.md there).
Everything it starts is stopped on exit, even on Ctrl+C or an error. A new stage is a function taking the
`Bench` and the `Site`, listed in STAGES, with its section in bench/report.py.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench import report
from bench.harness import PYTHON, ROOT, Bench, answers, free_port, listening
from bench.journey import journey
from bench.page_layers import page_layers
from bench.sign_form import read_sign_form

TOOLS = ("wrk", "psql", "redis-cli", "smtp-sink")
REDIS_DB = 5
# Run by `manage.py shell`: the case the stages load (the first of the demo campaign) and the paths they GET.
PAGES_UNDER_TEST = """
import json
from django.urls import reverse
from django.utils import translation
from campaign.models import Case
case = Case.objects.public().order_by("display_order", "pk").first()
with translation.override("en"):
    print(json.dumps({
        "id": case.pk,
        "case": case.get_absolute_url(),
        "thanks": reverse("petitions:thanks", kwargs={"campaign": case.campaign.slug, "case": case.slug}),
        "unknown": reverse("campaign:case", kwargs={"campaign": case.campaign.slug, "slug": "nobody"}),
    }))
"""


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass(frozen=True)
class Config:
    """What the environment asks for (docs/performance.md lists every variable)."""

    quick: bool
    duration: int  # seconds of each wrk measurement
    e2e_signatures: int
    export_rows: int
    page_seconds: int  # seconds of each wrk measurement of a page-caching layer
    page_rounds: int
    web_workers: int
    worker_concurrency: int
    worker_niceness: int
    connections: int
    stages: tuple[str, ...]
    stage_timeout: int  # every wait gives up after this many seconds, so a run always ends
    database: str
    keep_database: bool

    @classmethod
    def from_environment(cls) -> Config:
        quick = os.environ.get("QUICK", "0") == "1"
        stages = tuple((os.environ.get("BENCH_STAGES") or " ".join(STAGES)).split())
        unknown = set(stages) - set(STAGES)
        if unknown:
            raise SystemExit(f"BENCH_STAGES: no stage {' '.join(sorted(unknown))} (stages: {' '.join(STAGES)})")
        return cls(
            quick=quick,
            duration=env_int("BENCH_DURATION", 5 if quick else 20),
            e2e_signatures=env_int("BENCH_E2E_SIGNATURES", 500 if quick else 10_000),
            export_rows=env_int("BENCH_EXPORT_ROWS", 50_000 if quick else 1_000_000),
            page_seconds=env_int("BENCH_PAGE_SECONDS", 2),
            page_rounds=env_int("BENCH_PAGE_ROUNDS", 1 if quick else 6),
            web_workers=env_int("BENCH_WEB_WORKERS", 4),
            worker_concurrency=env_int("BENCH_WORKER_CONCURRENCY", 2),
            worker_niceness=env_int("WORKER_NICENESS", 10),
            connections=env_int("BENCH_CONNECTIONS", 16),
            stages=stages,
            stage_timeout=env_int("BENCH_STAGE_TIMEOUT", 240),
            database=os.environ.get("BENCH_DATABASE") or "plume_bench",
            keep_database=os.environ.get("BENCH_KEEP_DB") == "1",
        )


@dataclass
class Site:
    """The platform under test: where it answers and what the stages load."""

    base: str
    case_id: int
    case_path: str
    thanks_path: str  # "check your inbox", where signing redirects
    unknown_path: str  # a case address that does not exist (404)
    mail_dump: Path
    sign_form: dict[str, str] | None = None


# --- Setting up ------------------------------------------------------------------------------------------


def production_environment(bench: Bench, web_port: int, smtp_port: int) -> None:
    """The settings every process of the run inherits: production's, set here explicitly, on this machine."""
    config = bench.config
    os.environ.pop("PLUME_BENCH_PAGE_LAYERS_OFF", None)  # only the `pages` stage sets it, on servers of its own
    os.environ.update(
        {
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}:/usr/sbin",
            "DEBUG": "false",
            "SECRET_KEY": f"bench-only-{bench.run_id}-{secrets.token_hex(24)}",
            "SITE_URL": f"http://127.0.0.1:{web_port}",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{config.database}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "PLUME_VAR_DIR": str(bench.run_dir / "var"),
            # Serves the baseline view at /bench/insert (bench/baseline.py).
            "PLUME_BENCH_BASELINE": "1",
            "PGHOST": "127.0.0.1",
            "PGPORT": "5432",
            "PGUSER": "postgres",
            "PGDATABASE": config.database,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL") or "WARNING",
            # All of wrk's traffic comes from 127.0.0.1 and one email domain: the limits are still checked on every
            # request (a Redis round trip each), only set high enough never to refuse.
            "PETITION_IP_RATE_LIMIT": "1000000000",
            "PETITION_DOMAIN_RATE_LIMIT": "1000000000",
        }
    )


def psql(database: str, *commands: str) -> str:
    argv = ["psql", "-X", "-q", "-tA", "-d", database]
    for command in commands:
        argv += ["-c", command]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def set_up(bench: Bench) -> Site:
    """A fresh database with the demo campaign, static files, the SMTP sink and gunicorn."""
    config = bench.config
    web_port, smtp_port = free_port(), free_port()
    production_environment(bench, web_port, smtp_port)
    bench.say(
        f"run {bench.run_id}: results in {bench.run_dir} (QUICK={int(config.quick)}, {config.duration}s per "
        f"measurement, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})"
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    bench.write_json(
        "setup",
        {
            "run": bench.run_id,
            "quick": int(config.quick),
            "stages": list(config.stages),
            "duration_s": config.duration,
            "web_workers": config.web_workers,
            "worker_concurrency": config.worker_concurrency,
            "connections": config.connections,
            "cores": os.cpu_count(),
            "commit": commit.stdout.strip() or "unknown",
            "postgres": psql("postgres", "SHOW server_version"),
            "load_before": [round(x, 2) for x in os.getloadavg()],
        },
    )
    psql("postgres", f"DROP DATABASE IF EXISTS {config.database} WITH (FORCE)", f"CREATE DATABASE {config.database}")
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], check=True, capture_output=True)
    for command in (["migrate", "--no-input"], ["seed_demo"], ["collectstatic", "--no-input"]):
        bench.manage(*command)
    # The baseline's own table (bench/baseline.py), of the same shape as a signature.
    bench.sql(
        "CREATE TABLE bench_baseline_row (id bigserial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, "
        "country varchar(2) NOT NULL, created_at timestamptz NOT NULL)"
    )
    found = json.loads(bench.manage("shell", "--verbosity", "0", "-c", PAGES_UNDER_TEST))
    bench.say(f"case page {found['case']} (case {found['id']})")

    # Postfix's smtp-sink (C, made to measure mail throughput) stands for the mail server, which in production is
    # another machine: it takes every message and appends it to one dump file, at a fraction of a millisecond of
    # CPU per mail. Run as root, it must drop to an unprivileged user, who then writes the dump.
    mail = bench.run_dir / "mail"
    mail.mkdir(mode=0o1777)
    mail.chmod(0o1777)
    dump = mail / "dump.txt"
    as_user = ["-u", "nobody"] if os.getuid() == 0 else []
    bench.start(
        "smtp_sink", ["smtp-sink", *as_user, "-D", str(dump), f"127.0.0.1:{smtp_port}", "1024"], cpu_group="smtp_sink"
    )
    bench.start_web("gunicorn", web_port)
    if not bench.wait_for("the SMTP sink", 10, lambda: listening(smtp_port)):
        raise SystemExit("the SMTP sink did not start (see smtp_sink.log)")
    dump.touch()
    dump.chmod(0o666)
    return Site(
        base=f"http://127.0.0.1:{web_port}",
        case_id=found["id"],
        case_path=found["case"],
        thanks_path=found["thanks"],
        unknown_path=found["unknown"],
        mail_dump=dump,
    )


def start_worker_and_beat(bench: Bench) -> None:
    """As in the Procfile: the worker runs at a lower CPU priority than the web, so that a surge of signatures is
    taken first and the mail catches up (sign_rows.json records how far behind it was, and for how long)."""
    config = bench.config
    worker = ["nice", "-n", str(config.worker_niceness), "celery", "-A", "campaign", "worker", "--loglevel", "WARNING"]
    worker += ["--concurrency", str(config.worker_concurrency), "--hostname", f"bench-{bench.run_id}@%h"]
    bench.start("worker", worker, cpu_group="worker")
    schedule = Path(os.environ["PLUME_VAR_DIR"]) / "celerybeat-schedule"
    bench.start(
        "beat",
        ["celery", "-A", "campaign", "beat", "--loglevel", "WARNING", "--schedule", str(schedule)],
        cpu_group="beat",
    )
    # Let them start (imports, connections, the first beat tick) before measuring: their start-up CPU must not be
    # counted against the baseline.
    time.sleep(8)


# --- The stages ------------------------------------------------------------------------------------------


def db_stats(bench: Bench) -> dict:
    """What the database did so far: transactions committed and rows read."""
    commits, returned, fetched = bench.sql(
        "SELECT xact_commit, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = current_database()"
    )[0]
    return {"xact_commit": commits, "tup_returned": returned, "tup_fetched": fetched}


def stage_pages(bench: Bench, site: Site) -> None:
    """The case page and the JSON totals with a warm cache, then the page-caching layers (bench/page_layers.py).

    No worker or beat yet, so the database only sees what the web processes ask. PostgreSQL's statistics reach
    pg_stat_database when a connection goes idle, at most every 10 s: hence the pauses."""
    for path in (site.case_path, "/api/totals"):
        answers(site.base + path)
    bench.say("warm-up done; waiting 11 s for PostgreSQL's statistics")
    time.sleep(11)
    bench.write_json("db_before_case_page", db_stats(bench))
    bench.wrk("case_page", "get.lua", bench.config.duration, site.base, BENCH_PATH=site.case_path)
    time.sleep(11)
    bench.write_json("db_after_case_page", db_stats(bench))
    bench.wrk("totals_json", "get.lua", bench.config.duration, site.base, BENCH_PATH="/api/totals")
    time.sleep(11)
    bench.write_json("db_after_totals_json", db_stats(bench))
    page_layers(bench, site)


def tag(bench: Bench, letter: str) -> str:
    """What the emails of one measurement's signatures start with, after "bench-"."""
    return f"{letter}{bench.run_id}".lower()


def stage_sign(bench: Bench, site: Site) -> None:
    """The baseline (a bare view inserting one row), PostgreSQL alone, then the petition's sign view."""
    config = bench.config
    body = "name=Bench+{n}&email=bench-{n}%40example.org&country=FR"
    bench.wrk(
        "baseline_warmup",
        "post_unique.lua",
        2,
        site.base,
        BENCH_PATH="/bench/insert",
        BENCH_BODY=body,
        BENCH_RUN_ID=f"w{bench.run_id}",
    )
    bench.wrk(
        "baseline",
        "post_unique.lua",
        config.duration,
        site.base,
        BENCH_PATH="/bench/insert",
        BENCH_BODY=body,
        BENCH_RUN_ID=f"b{bench.run_id}",
    )
    rows = bench.value("SELECT count(*) FROM bench_baseline_row WHERE email LIKE %s", ["bench-b%"])
    bench.write_json("baseline_rows", {"rows": rows})
    # The same INSERT with PostgreSQL alone (pgbench, as many clients as gunicorn has workers): how much of the
    # baseline's time is the database's (commit and WAL flush) and how much is Python, HTTP and wrk.
    if shutil.which("pgbench"):
        argv = ["pgbench", "-n", "-c", str(config.web_workers), "-j", "1", "-T", str(config.duration)]
        argv += ["-f", str(ROOT / "bench" / "pg_insert.sql"), config.database]
        out = subprocess.run(argv, capture_output=True, text=True).stdout
        (bench.run_dir / "pgbench.txt").write_text(out)
        bench.write_json("pgbench", report.parse_pgbench(out))
        bench.say(f"pgbench insert: {report.parse_pgbench(out)}")

    form = site.sign_form
    warm_up, _ = bench.wrk("sign_warmup", "post_unique.lua", 2, site.base, **sign_env(form, tag(bench, "w")))
    if warm_up and any(int(status) >= 400 for status in warm_up["statuses"]):
        show_refusal(bench, site)
    bench.wrk("sign", "post_unique.lua", config.duration, site.base, **sign_env(form, tag(bench, "s")))
    # How far the confirmation mail was behind when the load stopped, and how long it took to catch up.
    like = f"bench-{tag(bench, 's')}%"

    def signatures(condition: str = "") -> int:
        return bench.value(f"SELECT count(*) FROM petitions_signature WHERE email LIKE %s {condition}", [like])  # noqa: S608

    unmailed = signatures("AND mail_status = 'pending'")
    signed = time.monotonic()
    bench.wait_for(
        "the sign run's confirmation mail", config.stage_timeout, lambda: signatures("AND mail_status = 'pending'") == 0
    )
    rows = {
        "stored": signatures(),
        "flagged": signatures("AND flagged"),
        "unmailed_at_end": unmailed,
        "mail_caught_up_s": round(time.monotonic() - signed, 1),
    }
    bench.write_json("sign_rows", rows)
    bench.say(f"sign rows: {rows}")


def show_refusal(bench: Bench, site: Site) -> None:
    """The sign view refused wrk's signatures: send one more as wrk does and keep the page it answers with."""
    form = site.sign_form
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        site.base + form["path"],
        data=form["body"].replace("{n}", tag(bench, "x")).encode(),
        headers={"Cookie": form["cookie"], "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
            status, page = response.status, response.read()
    except urllib.error.HTTPError as refused:
        status, page = refused.code, refused.read()
    (bench.run_dir / "sign_refused.html").write_bytes(page)
    bench.say(f"the sign view answers {status} to wrk's signatures: its page is in sign_refused.html")


def sign_env(form: dict[str, str], run_tag: str) -> dict[str, str]:
    return {
        "BENCH_PATH": form["path"],
        "BENCH_BODY": form["body"],
        "BENCH_COOKIE": form["cookie"],
        "BENCH_RUN_ID": run_tag,
    }


def stage_e2e(bench: Bench, site: Site) -> None:
    """The whole journey twice (bench/journey.py): overlapping, as in a surge, then one stage after another."""
    for name, letter, mode in (("e2e", "e", "overlap"), ("e2e_stages", "g", "stages")):
        journey(
            bench,
            name,
            tag(bench, letter),
            mode,
            site.base,
            site.sign_form,
            site.mail_dump,
            bench.config.e2e_signatures,
        )


def stage_exports(bench: Bench, site: Site) -> None:
    rows = bench.config.export_rows
    bench.say(f"exports: making {rows} signature rows and as many tallies, then exporting")
    try:
        out = bench.run(
            [PYTHON, "-m", "bench.export", "--rows", str(rows), "--out-dir", str(bench.run_dir)],
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
    except subprocess.CalledProcessError:
        bench.say("export benchmark failed (see run.log)")
        return
    (bench.run_dir / "export.json").write_text(out)
    bench.say(f"export: {out.strip()}")


STAGES = {"pages": stage_pages, "sign": stage_sign, "e2e": stage_e2e, "exports": stage_exports}


def profile(bench: Bench, site: Site) -> None:
    """Where the web processes' CPU goes, for whoever wants to make a path faster (read it, don't compare it)."""
    out = bench.run_dir / "profile.txt"
    try:
        bench.run([PYTHON, "-m", "bench.cpu_profile", site.case_path, str(out)])
        bench.say(f"profile of the case page and the sign view: {out}")
    except subprocess.CalledProcessError:
        bench.say("profiling failed (see run.log)")


def measure(bench: Bench) -> None:
    stages = bench.config.stages
    site = set_up(bench)
    if "pages" in stages:
        stage_pages(bench, site)
    if "sign" in stages or "e2e" in stages:
        start_worker_and_beat(bench)
        # The sign form's fields, CSRF cookie and signed start time, read from the case page like a browser.
        site.sign_form = read_sign_form(site.base + site.case_path)
        if site.sign_form is None:
            bench.say(f"no sign form found on {site.case_path}: signing and end to end skipped")
        else:
            # The form flags a submission sent sooner than PETITION_MIN_SECONDS_TO_FILL (3 s) after the page was
            # shown; every request reuses that page's signed start time, so waiting once keeps the check on.
            time.sleep(4)
            for name in ("sign", "e2e"):
                if name in stages:
                    STAGES[name](bench, site)
        # Done with them: only the export and psql use the cores from here.
        bench.stop("beat")
        bench.stop("worker")
    if "pages" in stages or "sign" in stages:
        profile(bench, site)
    if "exports" in stages:
        stage_exports(bench, site)


def clean_up(bench: Bench) -> None:
    bench.stop_all()
    bench.close_db()
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], capture_output=True)
    if not bench.config.keep_database:
        subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-d",
                "postgres",
                "-c",
                f"DROP DATABASE IF EXISTS {bench.config.database} WITH (FORCE)",
            ],
            capture_output=True,
        )


def main() -> None:
    os.environ["PATH"] = f"{os.environ['PATH']}:/usr/sbin"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"bench/run needs {', '.join(missing)} (see docs/performance.md: "
            "apt-get install wrk postgresql-client redis-tools postfix)"
        )
    config = Config.from_environment()
    bench = Bench(config, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    # Ctrl+C raises KeyboardInterrupt; a TERM ends the run the same way, through clean_up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        measure(bench)
        setup = json.loads((bench.run_dir / "setup.json").read_text())
        bench.write_json("setup", {**setup, "load_after": [round(x, 2) for x in os.getloadavg()]})
        summary = report.summary(bench.run_dir)
        (bench.run_dir / "summary.md").write_text(summary + "\n")
        print(summary)
    except BaseException:
        print(f"bench/run failed; logs in {bench.run_dir}", file=sys.stderr)
        raise
    finally:
        clean_up(bench)


if __name__ == "__main__":
    main()
