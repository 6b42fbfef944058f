"""End to end, three real Plume installations on loopback: a hub and two sections, each with its own PostgreSQL
database, its own Redis database (on a redis-server this test starts), its web process (gunicorn) and its worker
(a Celery worker running beat). Then:

- a signature signed and confirmed in section A, through its pages, reaches the hub's global count (the hub
  fetching every 2 seconds);
- section B stopped shows as stale on the hub with its last figures, and comes back by itself when it restarts;
- a third section that does not run Plume pushes a CSV with its token, and it counts;
- nothing personal reaches the hub's database: the signer's name and address are nowhere in it.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

from tests.conftest import free_port, wait_until

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[2]
PREFIX = os.environ.get("TEST_DATABASE_NAME", "test_plume") + "_e2e"
KHALED = "write-for-rights-2020/khaled-drareni"
SIGNER = ("Ana Lima-Unique-Signer", "ana.lima.e2e@example.org")


def call(url: str, data: dict | bytes | None = None, headers: dict | None = None, opener=None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310 (loopback URLs we built)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Installation:
    """One Plume: its database, Redis database, web process and worker (with beat)."""

    def __init__(self, name: str, redis_url: str, tmp_path: Path, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = f"{PREFIX}_{name}"
        db = settings.DATABASES["default"]
        server = f"{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE")},
            "DATABASE_URL": f"postgres://{server}/{self.database}",
            "REDIS_URL": redis_url,
            "SITE_URL": self.url,
            "EMAIL_URL": "dummymail://",
            "PLUME_VAR_DIR": str(tmp_path / name),
            "PYTHONUNBUFFERED": "1",
            "PETITION_MIN_SECONDS_TO_FILL": "0",
            "PETITION_ROLLUP_INTERVAL_SECONDS": "1",
            "PETITION_MAIL_INTERVAL_SECONDS": "1",
            "TOTALS_CACHE_SECONDS": "1",
            **env,
        }
        self.logs = tmp_path / f"{name}.log"
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{self.name}: manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def python(self, code: str) -> str:
        """Run `code` in the installation's shell; what it printed last."""
        lines = self.manage("shell", "-v", "0", "-c", code).strip().splitlines()
        return lines[-1] if lines else ""

    def _start(self, command: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=self.logs.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_web(self) -> None:
        gunicorn = [sys.executable, "-m", "gunicorn", "campaign.wsgi:application", "--config", "gunicorn.conf.py"]
        self.web = self._start([*gunicorn, "--bind", f"127.0.0.1:{self.port}", "--workers", "1"])
        wait_until(self._answers, timeout=60, message=f"{self.name} did not start:\n{self.log()}")

    def _answers(self) -> bool:
        if self.web.poll() is not None:
            raise AssertionError(f"{self.name}'s web process stopped:\n{self.log()}")
        try:
            return call(f"{self.url}/healthz")[0] in (200, 503)
        except (urllib.error.URLError, ConnectionError):
            return False

    def start_worker(self) -> None:
        celery = [sys.executable, "-m", "celery", "-A", "campaign", "worker", "--beat", "--loglevel", "INFO"]
        schedule = str(self.logs.with_suffix(".schedule"))
        self.worker = self._start([*celery, "--concurrency", "1", "--schedule", schedule, "-n", f"{self.name}@%h"])

    def log(self) -> str:
        return self.logs.read_text(errors="replace")[-4000:]

    @staticmethod
    def _stop(process: subprocess.Popen | None) -> None:
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop_web(self) -> None:
        self._stop(self.web)

    def stop(self) -> None:
        self._stop(self.web)
        self._stop(self.worker)


def _admin_connection():
    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    connection.autocommit = True
    return connection


@pytest.fixture
def redis_server(tmp_path) -> str:
    """A redis-server of this test's own, on a free port (the shared one is never touched)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed for this test: apt-get install redis-server", pytrace=False)
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=(tmp_path / "redis.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import redis

    wait_until(lambda: _pings(redis, port), timeout=20, message="redis-server did not start")
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


def _pings(redis, port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


@pytest.fixture
def installations(redis_server, tmp_path):
    hub_env = {
        "SECTIONS_FETCH_INTERVAL_SECONDS": "2",
        "SECTIONS_FETCH_TIMEOUT_SECONDS": "2",
        "SECTIONS_MAX_BACKOFF_SECONDS": "4",
        "SECTIONS_STALE_AFTER_SECONDS": "8",
        # The test polls the public JSON.
        "OPEN_DATA_RATE_LIMIT_PER_MINUTE": "100000",
    }
    hub = Installation("hub", f"{redis_server}/0", tmp_path, **hub_env)
    a = Installation("a", f"{redis_server}/1", tmp_path)
    b = Installation("b", f"{redis_server}/2", tmp_path)
    every = (hub, a, b)
    admin = _admin_connection()
    with admin.cursor() as cursor:
        for one in every:
            cursor.execute(f'DROP DATABASE IF EXISTS "{one.database}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{one.database}"')
    try:
        for one in every:
            one.manage("migrate", "--no-input", "-v", "0")
            one.manage("seed_demo", "-v", "0")
        yield every
    finally:
        for one in every:
            one.stop()
        with admin.cursor() as cursor:
            for one in every:
                cursor.execute(f'DROP DATABASE IF EXISTS "{one.database}" WITH (FORCE)')
        admin.close()


def movement(hub: Installation) -> dict:
    status, body = call(f"{hub.url}/api/v1/movement")
    assert status == 200, body
    return json.loads(body)


def sign_and_confirm(section: Installation) -> None:
    """Sign Khaled Drareni's petition on the section's page, then confirm it through its confirmation page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page_url = f"{section.url}/en/petitions/write-for-rights-2020/khaled-drareni/sign/"
    status, page = call(page_url, opener=opener)
    assert status == 200, page[-2000:]
    fields = dict(re.findall(r'<input type="hidden" name="(csrfmiddlewaretoken|started)" value="([^"]*)"', page))
    fields.update(name=SIGNER[0], email=SIGNER[1], country="BR", website="")
    status, _ = call(page_url, fields, headers={"Referer": page_url}, opener=opener)
    assert status == 200, "signing failed"
    token = section.python(
        "from petitions.models import Signature; from petitions.services import links; "
        f"print(links.confirmation_token(Signature.objects.get(email={SIGNER[1]!r}).pk))"
    )
    confirm_url = f"{section.url}/en/petitions/confirm/{token}/"
    status, page = call(confirm_url, opener=opener)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, page = call(confirm_url, {"csrfmiddlewaretoken": csrf}, headers={"Referer": confirm_url}, opener=opener)
    assert status == 200, page[-2000:]


def test_a_hub_and_two_sections_and_a_section_that_pushes(installations):
    hub, a, b = installations
    # Section B has counted 300 letters at events (an organizer's report).
    b.python(
        "import datetime; from campaign.models import Case; from organizers.offline_reports import "
        "record_offline_report as r; r(case=Case.objects.get(slug='khaled-drareni'), kind='letter', "
        "day=datetime.date.today(), count=300, country='PT')"
    )
    for one in installations:
        one.start_web()
        one.start_worker()
    hub.python(
        "from sections.models import Section; "
        f"Section.objects.create(name='Section A', countries=['BR'], totals_url='{a.url}/api/v1/totals'); "
        f"Section.objects.create(name='Section B', countries=['PT'], totals_url='{b.url}/api/v1/totals'); "
        "Section.objects.create(name='Section C', countries=['SN'])"
    )

    def khaled(data: dict) -> int:
        return next((c["total"] for c in data["cases"] if c["key"] == KHALED), 0)

    wait_until(lambda: khaled(movement(hub)) == 300, timeout=60, message=f"B never counted:\n{hub.log()}")

    # A signature confirmed in section A reaches the hub's global count.
    sign_and_confirm(a)
    wait_until(lambda: khaled(movement(hub)) == 301, timeout=60, message=f"A's signature never arrived:\n{a.log()}")

    # Section B stopped: stale with its last figures, then back by itself.
    b.stop_web()

    def b_state(data: dict) -> dict:
        return next(s for s in data["sections"] if s["name"] == "Section B")

    stale = wait_until(lambda: b_state(movement(hub))["stale"] and movement(hub), timeout=60, message="B not stale")
    assert b_state(stale)["total"] == 300 and khaled(stale) == 301
    b.start_web()
    wait_until(lambda: not b_state(movement(hub))["stale"], timeout=60, message=f"B did not come back:\n{hub.log()}")

    # A third section that does not run Plume pushes a CSV with its token.
    token = hub.python(
        "from sections.models import Section; from sections.services.tokens import create_token; "
        "print(create_token(Section.objects.get(name='Section C'), created_by=None))"
    )
    csv_body = f"case,kind,country,count\n{KHALED},signature,SN,50\n".encode()
    status, body = call(
        f"{hub.url}/api/v1/sections/totals",
        csv_body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert status == 200, body
    wait_until(lambda: khaled(movement(hub)) == 351, timeout=30, message="C's push never counted")

    # Nothing personal in the hub's database: a dump of all its data has neither the name nor the address.
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", "127.0.0.1", "-U", "postgres", hub.database],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Section A" in dump  # the dump is the hub's data
    assert SIGNER[0] not in dump and SIGNER[1] not in dump and "ana.lima" not in dump
    a_dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", "127.0.0.1", "-U", "postgres", a.database],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert SIGNER[1] in a_dump  # it stayed with the section that collected it
