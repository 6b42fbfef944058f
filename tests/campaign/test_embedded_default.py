"""The demo starts on the embedded default: no DATABASE_URL, no REDIS_URL, nothing installed.

`make run`, as the README says: it migrates, seeds, creates the demo staff and starts gunicorn, a worker and
beat (a task runs through the filesystem broker). And the key printed in the source never serves a site: with
it Plume answers on loopback only, whatever hosts it is asked to serve.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What the test run sets for itself and an operator running the demo would not have.
NOT_SET = {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TEST_DATABASE_NAME", "DEBUG", "SECRET_KEY", "SITE_URL"}
NOT_SET |= {"ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}


pytestmark = pytest.mark.subprocess


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_SET}
    env.update(PLUME_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1", **extra)
    return env


def get(url: str, opener=None, headers: dict | None = None, data: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 (a loopback URL we built)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for_page(url: str, process: subprocess.Popen, log: Path, timeout: float) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"It stopped (exit {process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise AssertionError(f"Nothing answered at {url} within {timeout}s:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def procfile_web_command() -> str:
    """The Procfile's web process, as honcho runs it."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("The Procfile has no web process")


def test_make_run_starts_the_demo_with_nothing_configured(tmp_path):
    port = free_port()
    log = tmp_path / "make-run.log"
    env = demo_env(tmp_path, WEB_CONCURRENCY="1", WORKER_CONCURRENCY="1", BEAT_STALE_AFTER_SECONDS="90")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = wait_for_page(f"{base}/en/", process, log, timeout=240)
        assert status == 200
        assert "Khaled Drareni" in body and "Nassima al-Sada" in body
        assert "10 cases" in log.read_text()
        assert (tmp_path / "var" / "plume.sqlite3").exists()

        # The demo staff sign in with the password the README gives (no second factor in the demo).
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        status, form = get(f"{base}/admin/login/", opener)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        fields = {"csrfmiddlewaretoken": token, "username": "moderator", "password": "plume-demo-password"}
        status, page = get(f"{base}/admin/login/?next=/admin/", opener, data=urllib.parse.urlencode(fields).encode())
        assert status == 200 and "Log out" in page and "Letters" in page, page[-2000:]

        # The demo's key is public: another host name is refused, loopback names are served.
        assert get(f"{base}/en/", headers={"Host": "plume.example.org"})[0] == 400
        assert get(f"http://localhost:{port}/en/")[0] == 200

        # Beat sends beat_tick every 10 seconds through the filesystem broker; the worker runs it and
        # /healthz sees the tick.
        deadline = time.monotonic() + 90
        health: tuple[int, str] = (0, "")
        while time.monotonic() < deadline:
            health = get(f"{base}/healthz")
            if health[0] == 200:
                break
            time.sleep(1)
        assert health[0] == 200, f"{health}\n{log.read_text()[-4000:]}"
        assert '"beat": {"ok": true' in health[1]
        assert "campaign.tasks.beat_tick" in log.read_text()
    finally:
        stop(process)


def test_the_demo_key_never_serves_another_host(tmp_path):
    """Asked to serve a public name with the key printed in the source, the web process stops at start-up
    and says why: anyone could forge confirmation links with that key."""
    port = free_port()
    log = tmp_path / "web.log"
    env = demo_env(
        tmp_path, DEBUG="true", ALLOWED_HOSTS="plume.example.org,127.0.0.1", HOST="127.0.0.1", PORT=str(port)
    )
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["WEB_CONCURRENCY"] = "1"
    process = subprocess.Popen(
        ["sh", "-c", f"exec {procfile_web_command()}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/healthz", headers={"Host": "plume.example.org"})
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
                continue
            raise AssertionError(f"It answered {status} for plume.example.org with the demo key")
        assert process.poll() is not None, "The web process neither served nor stopped"
        assert process.returncode != 0
        assert "SECRET_KEY must be set to serve plume.example.org" in log.read_text()
    finally:
        stop(process)


def test_the_demo_key_never_listens_on_the_network(tmp_path):
    """A Host header is easy to fake: with the demo key the web process listens on loopback only."""
    port = free_port()
    log = tmp_path / "web.log"
    env = demo_env(tmp_path, HOST="0.0.0.0", PORT=str(port), WEB_CONCURRENCY="1")  # noqa: S104 (refused below)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    process = subprocess.Popen(
        ["sh", "-c", f"exec {procfile_web_command()}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                get(f"http://127.0.0.1:{port}/healthz")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
                continue
            raise AssertionError(f"It listened on 0.0.0.0 with the demo key:\n{log.read_text()}")
        assert process.poll() is not None, "The web process neither listened nor stopped"
        assert process.returncode != 0
        assert "SECRET_KEY must be set to listen on 0.0.0.0" in log.read_text()
    finally:
        stop(process)
