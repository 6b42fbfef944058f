"""Redis, the Celery broker, goes away and comes back: a real worker and beat, on a redis-server of this test's
own (never the shared one), are back at work within a few seconds of its return (the broker's retry options in
settings.py and campaign.celery.BrokerConsumer)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_until, worker_env

pytestmark = pytest.mark.subprocess

# How long Redis stays down. Celery's own back-off (retries 2, 4, 6, 8, 10 s apart) would next try 9 s after
# its return; the worker must be back well within RETURN_DEADLINE.
DOWN_SECONDS = 21
RETURN_DEADLINE = 6


class OwnRedis:
    """A redis-server on a free port for one test, without persistence: stopped, it comes back empty."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is needed (apt-get install redis-server).", pytrace=False)
        self.process = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=(self.directory / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_until(lambda: _pings(client), timeout=10, message="our own redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def received(log: str, task: str) -> int:
    return len(re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] received", log))


def test_worker_and_beat_are_back_within_seconds_of_redis_returning(own_redis, start_worker, tmp_path):
    from kombu import Connection

    from campaign.celery import app

    env = {"REDIS_URL": own_redis.url, "PETITION_MAIL_INTERVAL_SECONDS": "1"}
    worker = start_worker(name="reconnect", **env)
    beat_log = tmp_path / "beat.log"
    schedule = str(tmp_path / "celerybeat-schedule")
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "campaign", "beat", "--loglevel", "INFO", "--schedule", schedule],
        cwd=ROOT,
        env=worker_env(**env),
        stdout=beat_log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    tick = "petitions.tasks.send_confirmations"  # what beat sends every second here
    try:
        wait_until(lambda: received(worker.log(), tick) >= 2, timeout=60, message="beat and the worker never met")

        own_redis.stop()
        wait_until(lambda: "Connection to broker lost" in worker.log(), timeout=30, message=worker.log())
        time.sleep(DOWN_SECONDS)  # Redis is down: the worker and beat retry as they are set to
        own_redis.start()
        offset = len(worker.log())
        task_id = str(uuid.uuid4())
        with Connection(own_redis.url) as connection:
            app.send_task("campaign.tasks.beat_tick", task_id=task_id, connection=connection)

        def back_at_work() -> bool:
            since = worker.log()[offset:]
            return f"beat_tick[{task_id}] succeeded" in since and received(since, tick) >= 2

        wait_until(
            back_at_work,
            timeout=RETURN_DEADLINE,
            message=f"{RETURN_DEADLINE}s after Redis returned, the worker had not run a task sent then, or two of "
            f"beat's ticks:\n{worker.log()[offset:][-3000:]}",
        )
        assert beat.poll() is None, beat_log.read_text()
    finally:
        if beat.poll() is None:
            beat.terminate()
            beat.wait(20)
