"""Plume under faults: what is lost and what goes twice when a part of the platform fails under load.

    .venv/bin/python bench/faults/run.py                  # every fault, about 20 minutes
    QUICK=1 .venv/bin/python bench/faults/run.py          # shorter outages and fewer signatures, about 8 minutes
    FAULTS="redis worker-kill" .venv/bin/python bench/faults/run.py     # some of them

Starts everything it needs on this machine and stops it at the end, however the run ends: its own PostgreSQL
cluster (initdb in a temporary directory, a free port; as root, run as the `postgres` user), its own redis-server
(a free port, no persistence), a mail server that keeps every message it accepts (bench/faults/mailserver.py),
then migrates, loads the demo campaign, and runs gunicorn, a Celery worker and beat against them as production
does (DEBUG off). The shared PostgreSQL and Redis of the machine are never touched. Then, one after another:

  marks           the cost of marking one mail sent: a synchronous commit against an asynchronous one
  redis           Redis stopped for REDIS_DOWN seconds (60; QUICK 15) under signing load
  postgres        PostgreSQL restarted (pg_ctl restart -m fast) under signing load
  postgres-crash  PostgreSQL killed (pg_ctl stop -m immediate, as a crash) and started again under signing load
  mail-down       the mail server down MAIL_DOWN seconds (60; QUICK 20) while signatures arrive
  worker-kill     KILLS (3; QUICK 2) workers killed with SIGKILL while they mail SIGNATURES (3,000; QUICK 1,000)

and prints, for each: signatures accepted (the visitor was sent to "check your inbox"), answered with an error,
stored, lost (accepted but not stored), and the confirmation mails: sent, twice, missing (stored but never
mailed). After each fault it waits until every signature of that fault is mailed (or a deadline passes). Raw
results, logs and a summary go to bench/results/faults-<time>/. The figures are in docs/reliability.md.

The signing load comes from SIGNERS (8) threads of this script posting the case page's form as a browser does,
each request with a new address, rather than from wrk: each answer is then matched to its row, so a signature
accepted and not stored cannot hide among requests cut off when the load stops.

Needs redis-server and PostgreSQL 15's initdb and pg_ctl (PG_BIN, by default /usr/lib/postgresql/15/bin):
apt-get install redis-server postgresql.
"""

from __future__ import annotations

import collections
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
QUICK = os.environ.get("QUICK") == "1"
ALL_FAULTS = ["marks", "redis", "postgres", "postgres-crash", "mail-down", "worker-kill"]
FAULTS = os.environ.get("FAULTS", " ".join(ALL_FAULTS)).split()
REDIS_DOWN = float(os.environ.get("REDIS_DOWN", 15 if QUICK else 60))
MAIL_DOWN = float(os.environ.get("MAIL_DOWN", 20 if QUICK else 60))
SIGNATURES = int(os.environ.get("SIGNATURES", 1000 if QUICK else 3000))
KILLS = int(os.environ.get("KILLS", 2 if QUICK else 3))
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", 2))  # as the Procfile
SIGNERS = int(os.environ.get("SIGNERS", 8))
# How long to wait, after a fault, for every signature of it to be mailed: a mail that failed waits for its
# retry (1 minute after the first failure, 4 after the second), a killed worker's batch for its lease (60 s).
DRAIN_SECONDS = float(os.environ.get("DRAIN_SECONDS", 300 if QUICK else 600))
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
# What a person types in the form; {n} becomes what is unique to each request.
TYPED = "name=Bench+Signer&email=bench-{n}%40example.org&country=FR"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition: Callable[[], object], timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(interval)


def letters_tag(prefix: str) -> str:
    """A tag made of letters only (names and addresses keep no long runs of digits)."""
    return prefix + "".join(random.choices(string.ascii_lowercase, k=6))


class Run:
    """One run: its folder, ports, environment and processes; `close()` stops everything it started."""

    def __init__(self) -> None:
        self.id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.dir = ROOT / "bench" / "results" / f"faults-{self.id}"
        self.dir.mkdir(parents=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="plume-faults-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.pg = Postgres(self.tmp / "pg", self.dir / "postgres.log")
        self.redis_port, self.mail_port, self.web_port = free_port(), free_port(), free_port()
        self.mail_log = self.dir / "mail.tsv"
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "DEBUG": "false",
            "SECRET_KEY": "faults-only-" + "".join(random.choices(string.ascii_letters + string.digits, k=40)),
            "SITE_URL": self.base,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg.port}/plume_faults",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.mail_port}",
            "PLUME_VAR_DIR": str(self.dir / "var"),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            # All the signing comes from one address and one domain, as fast as it can: the checks still
            # run on every request, with limits never reached.
            "PETITION_IP_RATE_LIMIT": "1000000000",
            "PETITION_DOMAIN_RATE_LIMIT": "1000000000",
            "PETITION_MIN_SECONDS_TO_FILL": "0",
        }
        self.results: dict[str, dict] = {}
        self.log_file = (self.dir / "run.log").open("a")

    def say(self, message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')}  {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    # --- Processes ---------------------------------------------------------------------------------

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.dir / f"{name}.log").open("a")
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        except ProcessLookupError:
            pass

    def log_of(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        (self.dir / "manage.log").open("a").write(result.stdout + result.stderr)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def start_redis(self) -> None:
        self.start(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        wait_for("redis-server", lambda: _listening(self.redis_port), 10)

    def start_mail(self) -> None:
        self.start(
            "mailserver",
            [PYTHON, str(ROOT / "bench" / "faults" / "mailserver.py"), str(self.mail_port), str(self.mail_log)],
        )
        wait_for("the mail server", lambda: _listening(self.mail_port), 10)

    def start_worker(self, name: str = "worker") -> None:
        offset = len(self.log_of(name))
        self.start(
            name,
            ["celery", "-A", "campaign", "worker", "--loglevel", "INFO", "--concurrency", str(WORKER_CONCURRENCY),
             "--hostname", f"faults-{self.id}-{time.monotonic_ns()}@%h"],
        )  # fmt: skip
        wait_for("the worker", lambda: "ready." in self.log_of(name)[offset:], 60)

    def setup(self) -> None:
        self.say(f"run {self.id}: results in {self.dir} (QUICK={int(QUICK)}, faults: {' '.join(FAULTS)})")
        self.pg.init()
        self.pg.start()
        self.pg.create_database("plume_faults")
        self.start_redis()
        self.start_mail()
        self.manage("migrate", "--no-input")
        self.manage("seed_demo")
        self.manage("collectstatic", "--no-input")
        self.case_path = self.manage(
            "shell",
            "--verbosity",
            "0",
            "-c",
            "from campaign.models import Case; "
            "print(Case.objects.public().order_by('display_order', 'pk').first().get_absolute_url())",
        ).strip()
        self.start("gunicorn", ["gunicorn", "campaign.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}",
                                "--workers", "4", "--graceful-timeout", "5"])  # fmt: skip
        wait_for("gunicorn", lambda: _answers(self.base + "/healthz") is not None, 60)
        self.start_worker()
        self.start("beat", ["celery", "-A", "campaign", "beat", "--loglevel", "INFO",
                            "--schedule", str(self.dir / "var" / "celerybeat-schedule")])  # fmt: skip
        time.sleep(5)
        self.say(
            f"platform up: web {self.base}, PostgreSQL :{self.pg.port}, Redis :{self.redis_port}, "
            f"mail :{self.mail_port}"
        )

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        self.pg.stop("fast", missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- The database, the mail log, the signing load ----------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """One query on the run's own database, waiting for it to accept connections (it may be restarting)."""

        def attempt():
            try:
                connection = psycopg2.connect(
                    host="127.0.0.1", port=self.pg.port, user="postgres", dbname="plume_faults", connect_timeout=3
                )
            except psycopg2.OperationalError:
                return None
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    return [cursor.fetchall()]
            except psycopg2.OperationalError:
                return None
            finally:
                connection.close()

        return wait_for("the database", attempt, 120, interval=0.5)[0]

    def signatures(self, tag: str, condition: str = "") -> int:
        # The tag is made of letters only (letters_tag): it is safe in a LIKE pattern.
        return self.query(
            f"SELECT count(*) FROM petitions_signature WHERE email LIKE %s {condition}",  # noqa: S608 (constant)
            (f"bench-{tag}%",),
        )[0][0]

    def mails(self, tag: str) -> list[str]:
        """The recipients of every mail the server accepted for this tag, one per message, in order."""
        if not self.mail_log.exists():
            return []
        marker = f"\tbench-{tag}"
        return [line.split("\t", 1)[1].strip() for line in self.mail_log.read_text().splitlines() if marker in line]

    def sign_form(self) -> dict[str, str]:
        return read_sign_form(self.base + self.case_path)

    def signers(self, tag: str, maximum: int = 0) -> Signers:
        """SIGNERS threads signing with addresses of this tag, until stopped or `maximum` requests were sent."""
        return Signers(self, tag, maximum)

    def drain(self, tag: str, deadline: float = DRAIN_SECONDS) -> float | None:
        """Wait until no signature of this tag waits for its mail; the seconds it took, None past the deadline."""
        started = time.monotonic()
        try:
            wait_for(f"the mail of {tag}", lambda: self.signatures(tag, "AND mail_status = 'pending'") == 0,
                     deadline, interval=1)  # fmt: skip
        except RuntimeError:
            self.say(f"{tag}: mail not drained after {deadline:.0f}s")
            return None
        time.sleep(1)  # the last mail's line reaches the log before its mark
        return round(time.monotonic() - started, 1)

    def account(self, tag: str, signers: Signers) -> dict:
        """Signatures accepted, refused and stored for this tag, and its confirmation mails."""
        stored = {row[0] for row in self.query(
            "SELECT email FROM petitions_signature WHERE email LIKE %s", (f"bench-{tag}%",))}  # fmt: skip
        mailed = self.mails(tag)
        answers = dict(signers.answers)
        return {
            "accepted": len(signers.accepted),
            "refused": sum(n for answer, n in answers.items() if answer != 302),
            "answers": {str(answer): n for answer, n in answers.items()},
            "stored": len(stored),
            "lost": len(signers.accepted - stored),
            # The visitor saw an error or no answer, and yet the signature is there (and its mail goes out).
            "stored_unanswered": len(stored - signers.accepted),
            "mails": len(mailed),
            "mailed_twice": len(mailed) - len(set(mailed)),
            "not_mailed": len(stored - set(mailed)),
            "gave_up": self.signatures(tag, "AND mail_status = 'failed'"),
        }


class Signers:
    """Threads posting the petition form as browsers do, each request with a new address, keeping each answer:
    `accepted` holds the addresses answered with the redirect to "check your inbox" (302)."""

    def __init__(self, run: Run, tag: str, maximum: int = 0) -> None:
        form = run.sign_form()
        self.port, self.path, self.body = run.web_port, form["path"], form["body"]
        self.headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": form["cookie"]}
        self.tag, self.maximum = tag, maximum
        self.numbers = itertools.count(1)
        self.accepted: set[str] = set()
        self.answers: collections.Counter = collections.Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._sign, daemon=True) for _ in range(SIGNERS)]
        for thread in self.threads:
            thread.start()

    def _sign(self) -> None:
        while not self.stopping.is_set():
            number = next(self.numbers)
            if self.maximum and number > self.maximum:
                return
            unique = f"{self.tag}n{number}"
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                connection.request("POST", self.path, self.body.replace("{n}", unique), self.headers)
                response = connection.getresponse()
                response.read()
                answer: int | str = response.status
            except (OSError, http.client.HTTPException) as error:
                answer = f"no answer ({type(error).__name__})"
                time.sleep(0.1)
            finally:
                connection.close()
            with self.lock:
                self.answers[answer] += 1
                if answer == 302:
                    self.accepted.add(f"bench-{unique}@example.org")

    def stop(self) -> Signers:
        """Stop sending and wait for the answers of the requests in flight."""
        self.stopping.set()
        return self.wait()

    def wait(self) -> Signers:
        for thread in self.threads:
            thread.join()
        return self


class Postgres:
    """A PostgreSQL cluster of this run's own, in a temporary directory, on a free port."""

    def __init__(self, directory: Path, log: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = log
        self.port = free_port()
        # initdb and postgres refuse to run as root.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_owner, *argv], capture_output=True, text=True, check=check)

    def init(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise SystemExit(f"PostgreSQL's initdb was not found in {PG_BIN} (set PG_BIN; apt-get install postgresql)")
        self.directory.mkdir(parents=True)
        self.log.touch()
        if self.as_owner:
            shutil.chown(self.directory, "postgres")
            shutil.chown(self.directory.parent, "postgres")
            shutil.chown(self.log, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        return self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                         *args, check=check)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str, missing_ok: bool = False) -> None:
        if self.data.exists():
            self._ctl("stop", "-m", mode, check=not missing_ok)

    def restart(self, mode: str) -> None:
        self._ctl("restart", "-m", mode)

    def create_database(self, name: str) -> None:
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute(f"CREATE DATABASE {name}")
        connection.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class _SignForm(HTMLParser):
    """The first <form> whose action ends in /sign/, and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action, self.inside, self.hidden = "", False, {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "form" and not self.action and (attrs.get("action") or "").rstrip("/").endswith("/sign"):
            self.action, self.inside = attrs["action"], True
        elif tag == "input" and self.inside and attrs.get("type") == "hidden" and attrs.get("name"):
            self.hidden[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def read_sign_form(url: str) -> dict[str, str]:
    """The petition form as a browser reads it from the case page: where it posts, the CSRF cookie, the body."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        html = response.read().decode()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    form = _SignForm()
    form.feed(html)
    if not form.action:
        raise RuntimeError(f"no petition form on {url}")
    fields = {**form.hidden, "website": ""}  # the honeypot stays empty, as a person leaves it
    return {
        "path": form.action,
        "cookie": "; ".join(f"{k}={v.value}" for k, v in cookies.items()),
        "body": urlencode(fields) + "&" + TYPED,
    }


def _log_times(text: str, pattern: str) -> list[float]:
    """The times (epoch seconds) of the log lines matching `pattern` (Plume's LOGGING format, local time)."""
    times = []
    for match in re.finditer(rf"^(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{{3}}) .*{pattern}", text, re.MULTILINE):
        times.append(time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")) + int(match.group(2)) / 1000)
    return times


# --- The faults ----------------------------------------------------------------------------------------


def fault_marks(run: Run) -> dict:
    """One mark (UPDATE ... WHERE id = %s AND mail_status = 'pending', in its own transaction), 3,000 times,
    committed synchronously and asynchronously, on the run's own PostgreSQL (fsync on, as installed)."""
    connection = psycopg2.connect(host="127.0.0.1", port=run.pg.port, user="postgres", dbname="plume_faults")
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute(
        "CREATE TABLE faults_marks (id bigserial PRIMARY KEY, mail_status text, mail_sent_at timestamptz); "
        "INSERT INTO faults_marks (mail_status) SELECT 'pending' FROM generate_series(1, 6000)"
    )
    result = {}
    for mode, extra, first in (
        ("synchronous_ms", "", 1),
        ("asynchronous_ms", " AND set_config('synchronous_commit', 'off', true) IS NOT NULL", 3001),
    ):
        started = time.perf_counter()
        for pk in range(first, first + 3000):
            cursor.execute(
                "UPDATE faults_marks SET mail_status = 'sent', mail_sent_at = now() "  # noqa: S608 (constants only)
                f"WHERE id = %s AND mail_status = 'pending'{extra}",
                (pk,),
            )
        result[mode] = round((time.perf_counter() - started) / 3000 * 1000, 3)
    cursor.execute("DROP TABLE faults_marks")
    connection.close()
    return result


def fault_redis(run: Run) -> dict:
    tag = letters_tag("r")
    before, after = 10, 15
    signers = run.signers(tag)
    time.sleep(before)
    run.say(f"redis: stopping Redis for {REDIS_DOWN:.0f}s under signing load")
    stopped_at = time.time()
    run.stop("redis")
    stored_before = run.signatures(tag)
    time.sleep(REDIS_DOWN)
    stored_during = run.signatures(tag) - stored_before
    run.start_redis()
    back_at = time.time()
    run.say("redis: Redis is back")
    time.sleep(after)
    signers.stop()
    drained = run.drain(tag)
    worker_log = run.log_of("worker")
    connected = [t for t in _log_times(worker_log, "Connected to redis") if t >= back_at - 1]
    received = [t for t in _log_times(worker_log, r"Task [\w.]+\[[0-9a-f-]+\] received") if t >= back_at]
    reconnected = round(connected[0] - back_at, 1) if connected else None
    first_task = round(received[0] - back_at, 1) if received else None
    return {
        **run.account(tag, signers),
        "down_s": REDIS_DOWN,
        "stored_while_down": stored_during,
        "worker_reconnected_after_s": reconnected,
        "first_task_after_s": first_task,
        "redis_stopped_at": stopped_at,
        "mail_drained_s": drained,
        "note": f"down {REDIS_DOWN:.0f} s, {stored_during} stored meanwhile; the worker reconnected {reconnected} s "
        f"after Redis returned, ran a task {first_task} s after",
    }


def fault_postgres(run: Run, mode: str) -> dict:
    tag = letters_tag("p" if mode == "fast" else "c")
    before, after = 10, 20
    signers = run.signers(tag)
    time.sleep(before)
    started = time.monotonic()
    if mode == "fast":
        run.say("postgres: restarting PostgreSQL (pg_ctl restart -m fast) under signing load")
        run.pg.restart("fast")
    else:
        run.say("postgres-crash: killing PostgreSQL (pg_ctl stop -m immediate) under signing load, then starting it")
        run.pg.stop("immediate")
        run.pg.start()
    down = round(time.monotonic() - started, 1)
    time.sleep(after)
    signers.stop()
    drained = run.drain(tag)
    return {
        **run.account(tag, signers),
        "restart_s": down,
        "mail_drained_s": drained,
        "note": f"{'restart' if mode == 'fast' else 'crash and start'} took {down} s",
    }


def fault_mail_down(run: Run) -> dict:
    tag = letters_tag("m")
    run.say(f"mail-down: the mail server stops for {MAIL_DOWN:.0f}s while signatures arrive")
    run.stop("mailserver")
    stopped = time.monotonic()
    count = SIGNATURES // 2
    signers = run.signers(tag, maximum=count).wait()
    time.sleep(max(0.0, MAIL_DOWN - (time.monotonic() - stopped)))
    failed_attempts = run.signatures(tag, "AND mail_attempts > 0")
    run.start_mail()
    back = time.time()
    run.say("mail-down: the mail server is back")
    drained = run.drain(tag)
    mail_times = [
        float(line.split("\t")[0]) for line in run.mail_log.read_text().splitlines() if f"\tbench-{tag}" in line
    ]
    last = round(max(mail_times) - back, 1) if mail_times else None
    return {
        **run.account(tag, signers),
        "down_s": MAIL_DOWN,
        "signatures_with_a_failed_attempt": failed_attempts,
        "last_mail_after_server_back_s": last,
        "mail_drained_s": drained,
        "note": f"down {MAIL_DOWN:.0f} s; {failed_attempts} mails had a failed attempt; the last went out {last} s "
        "after the server returned",
    }


def fault_worker_kill(run: Run) -> dict:
    tag = letters_tag("k")
    run.say(f"worker-kill: {SIGNATURES} signatures queued with no worker, then {KILLS} workers killed while mailing")
    run.stop("worker")
    signers = run.signers(tag, maximum=SIGNATURES).wait()
    stored = run.signatures(tag)
    kills = []
    for kill in range(1, KILLS + 1):
        run.start_worker()
        threshold = stored * kill // (KILLS + 1)
        wait_for(f"{threshold} mails", lambda threshold=threshold: len(run.mails(tag)) >= threshold, 300, 0.1)
        sending = run.signatures(tag, "AND mail_status = 'pending' AND mail_next_attempt_at > now()")
        run.stop("worker", signal.SIGKILL)
        mailed = run.mails(tag)
        kills.append({"after_mails": len(mailed), "leased_when_killed": sending,
                      "twice_so_far": len(mailed) - len(set(mailed))})  # fmt: skip
        run.say(f"worker-kill: kill {kill} after {len(mailed)} mails ({sending} mails leased to the workers)")
    run.start_worker()
    drained = run.drain(tag)
    result = run.account(tag, signers)
    per_kill = round(result["mailed_twice"] / KILLS, 2)
    return {
        **result,
        "note": f"{KILLS} workers killed ({KILLS * WORKER_CONCURRENCY} sending processes): {per_kill} mails twice "
        "per kill",
        "kills": KILLS,
        "killed_processes": KILLS * WORKER_CONCURRENCY,
        "twice_per_kill": per_kill,
        "each_kill": kills,
        "mail_drained_s": drained,
    }


FAULT_FUNCTIONS: dict[str, Callable[[Run], dict]] = {
    "marks": fault_marks,
    "redis": fault_redis,
    "postgres": lambda run: fault_postgres(run, "fast"),
    "postgres-crash": lambda run: fault_postgres(run, "immediate"),
    "mail-down": fault_mail_down,
    "worker-kill": fault_worker_kill,
}


def summary(run: Run) -> str:
    lines = [
        f"Plume under faults, run {run.id} (QUICK={int(QUICK)}), {os.cpu_count()} cores, "
        f"{SIGNERS} signers, worker concurrency {WORKER_CONCURRENCY}",
        "",
        "| fault | signatures accepted | refused | stored | lost | mails | twice | not mailed | notes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in run.results.items():
        if name == "marks":
            continue
        notes = r.get("note", "")
        refused = {answer: n for answer, n in r["answers"].items() if answer != "302"}
        if refused:
            notes += "; refused: " + ", ".join(f"{n} x {answer}" for answer, n in sorted(refused.items()))
        if r["stored_unanswered"]:
            notes += f"; {r['stored_unanswered']} stored though the visitor got no answer or an error"
        if r.get("mail_drained_s") is None:
            notes += "; NOT ALL MAILED before the deadline"
        lines.append(
            f"| {name} | {r['accepted']} | {r['refused']} | {r['stored']} | {r['lost']} | "
            f"{r['mails']} | {r['mailed_twice']} | {r['not_mailed']} | {notes} |"
        )
    if "marks" in run.results:
        m = run.results["marks"]
        lines += [
            "",
            f"A mark: {m['synchronous_ms']} ms committed synchronously, {m['asynchronous_ms']} ms asynchronously.",
        ]
    return "\n".join(lines)


def main() -> None:
    if not shutil.which("redis-server"):
        raise SystemExit("bench/faults/run.py needs redis-server (apt-get install redis-server)")
    unknown = set(FAULTS) - set(FAULT_FUNCTIONS)
    if unknown:
        raise SystemExit(f"unknown faults {sorted(unknown)}; choose among {ALL_FAULTS}")
    run = Run()
    try:
        run.setup()
        for name in FAULTS:
            run.results[name] = FAULT_FUNCTIONS[name](run)
            run.say(f"{name}: {json.dumps(run.results[name])}")
            (run.dir / "results.json").write_text(json.dumps(run.results, indent=2))
        text = summary(run)
        (run.dir / "summary.md").write_text(text + "\n")
        print("\n" + text)
    finally:
        run.close()


if __name__ == "__main__":
    main()
