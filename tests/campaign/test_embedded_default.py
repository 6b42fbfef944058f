"""The demo starts on the embedded default: no DATABASE_URL, no REDIS_URL, nothing installed.

Migrate, seed, serve a page with gunicorn, and run a task through the filesystem broker with a real worker
and beat, as `make run` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


pytestmark = pytest.mark.subprocess


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a loopback URL we built)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_it_starts_the_demo_with_nothing_configured(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TEST_DATABASE_NAME"}
    }
    env.update(PLUME_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    port = free_port()

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--no-input")
    assert "10 cases" in manage("seed_demo")
    assert (tmp_path / "var" / "plume.sqlite3").exists()

    processes = [
        subprocess.Popen(
            [str(BIN / "gunicorn"), "campaign.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "campaign",
                "worker",
                "--beat",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env={**env, "BEAT_STALE_AFTER_SECONDS": "90"},
            stdout=(tmp_path / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]
    try:
        deadline = time.monotonic() + 90
        status, body = 0, ""
        while time.monotonic() < deadline:
            try:
                status, body = get(f"http://127.0.0.1:{port}/en/")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert status == 200
        assert "Khaled Drareni" in body and "Nassima al-Sada" in body

        # Beat sends beat_tick every 10 seconds through the filesystem broker; the worker runs it and
        # /healthz sees the tick.
        health: tuple[int, str] = (0, "")
        while time.monotonic() < deadline + 60:
            health = get(f"http://127.0.0.1:{port}/healthz")
            if health[0] == 200:
                break
            time.sleep(1)
        assert health[0] == 200, f"{health}\n{(tmp_path / 'worker.log').read_text()}"
        assert '"beat": {"ok": true' in health[1]
        assert "campaign.tasks.beat_tick" in (tmp_path / "worker.log").read_text()
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(30)
