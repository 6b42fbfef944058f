"""Redis, the Celery broker, goes away and comes back: a real worker and beat, on a redis-server of this test's
own (never the shared one), are back at work within a few seconds of its return (the broker's retry options in
settings.py and campaign.celery.BrokerConsumer)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, WorkerProcess, free_port, wait_until, worker_env
from tests.petitions.conftest import make_signature

pytestmark = [pytest.mark.subprocess, pytest.mark.worker]

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


def start_celery(directory: Path, kind: str, env: dict[str, str], *args: str) -> WorkerProcess:
    """`celery -A campaign worker` or `beat` on this test's Redis, logging to `directory`/<kind>.log."""
    log_path = directory / f"{kind}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "campaign", kind, "--loglevel", "INFO", *args],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return WorkerProcess(process, log_path)


def received(log: str, task: str) -> int:
    return len(re.findall(rf"Task {re.escape(task)}\[[0-9a-f-]+\] received", log))


def test_a_worker_mailing_when_redis_goes_away_is_back_with_beat_within_seconds_of_its_return(
    own_redis, transactional_db, start_smtp_server, case, tmp_path
):
    from kombu import Connection

    from campaign.celery import app

    mailbox = start_smtp_server(delay=0.5)
    emails = {f"p{n}@example.org" for n in range(16)}
    for email in emails:
        make_signature(case, email=email)
    env = worker_env(mailbox, REDIS_URL=own_redis.url, PETITION_MAIL_INTERVAL_SECONDS="1")
    # As the Procfile runs them: two pool processes, gossip and mingle on.
    worker = start_celery(tmp_path, "worker", env, "--concurrency", "2", "--hostname", f"reconnect-{os.getpid()}@%h")
    beat = None
    tick = "petitions.tasks.send_confirmations"  # what beat sends every second here
    try:
        wait_until(lambda: "ready." in worker.log(), timeout=60, message=worker.log())
        beat = start_celery(tmp_path, "beat", env, "--schedule", str(tmp_path / "celerybeat-schedule"))
        # Redis goes away while the worker is mailing: a task in flight, not yet acknowledged (acks_late).
        mailbox.wait_for(2, timeout=60)
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
            f"beat's ticks:\n{worker.log()[-6000:]}",
        )
        assert worker.process.poll() is None, worker.log()
        assert beat.process.poll() is None, beat.log()
        # The mail went on through it all, each confirmation once.
        wait_until(lambda: len(mailbox.messages) >= len(emails), timeout=60)
        assert sorted(m["To"] for m in mailbox.messages) == sorted(emails)
    finally:
        if beat is not None:
            beat.stop()
        worker.stop()
