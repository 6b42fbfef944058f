"""Shared fixtures: the real parts (PostgreSQL, Redis, a Celery worker, an SMTP server, Chromium) and
named personas.

A missing part is an error that says how to get it, never a skipped test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the same tests are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The tests run on PostgreSQL, as production does. Run them with `make test`, or set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/plume (start PostgreSQL with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`)."
        )
    if not settings.REDIS_URL:
        raise pytest.UsageError(
            "The tests need Redis: run them with `make test`, or set REDIS_URL=redis://127.0.0.1:6379/1 "
            '(start Redis with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""`).'
        )
    import psycopg2
    import redis

    db = settings.DATABASES["default"]
    try:
        psycopg2.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
        ).close()
    except psycopg2.OperationalError as exc:
        raise pytest.UsageError(
            f"PostgreSQL is not reachable at {db['HOST']}:{db['PORT']} ({exc}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or run `.ci/run`, "
            "which installs and starts it."
        ) from exc
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise pytest.UsageError(
            f"Redis is not reachable at {settings.REDIS_URL} ({exc}). Start it with "
            '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`, '
            "or run `.ci/run`, which installs and starts it."
        ) from exc


# The slow parts of the suite, marked from the fixtures a test uses (pytest.ini's markers say what each is), so
# that `make test-fast` can leave them out. A test that starts other processes itself is marked `subprocess`.
_MARKED_BY_FIXTURE = {"page": "browser", "browser": "browser", "start_worker": "worker", "start_beat": "worker"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks the slow tests (see _MARKED_BY_FIXTURE).

    Transactional tests (real workers, live servers, concurrency) end by emptying every table, rows written
    by data migrations included (staff groups and their permissions, rejection reasons, email rules). Django's
    serialized rollback puts those rows back before each of them; pytest-django reads it from the marker."""
    for item in items:
        for fixture, marker in _MARKED_BY_FIXTURE.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)
        marker = item.get_closest_marker("django_db")
        transactional = "transactional_db" in item.fixturenames or "live_server" in item.fixturenames
        if marker is not None:
            transactional = transactional or bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
        if not transactional:
            continue
        kwargs = {k: v for k, v in (marker.kwargs if marker else {}).items() if k not in ("transaction",)}
        item.add_marker(
            pytest.mark.django_db(**{**kwargs, "transaction": True, "serialized_rollback": True}), append=False
        )


@pytest.fixture(scope="session", autouse=True)
def _no_stray_sessions_at_teardown(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Workers killed on purpose may leave their PostgreSQL session behind for a moment, which would stop
    the test database from being dropped at the end of the run: end those sessions first."""
    yield
    from django.conf import settings
    from django.db import connection

    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    name = connection.settings_dict["NAME"]
    if not (name.startswith("test") or name == test_name):
        return  # no test of this run used the database: none was created
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path: Path) -> Iterator[None]:
    """Fast settings that do not change behaviour, and a clean cache for every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    from django.core.cache import cache
    from django.utils import translation

    from campaign.lib.cache import ProcessCache

    cache.clear()
    ProcessCache.forget_all()
    # Django leaves the last request's language active in this thread: start every test in English, so that
    # reverse() and messages do not depend on which test ran before.
    translation.activate("en")
    yield
    translation.deactivate()


class MailWithoutServer(BaseEmailBackend):
    """The mail backend of a test that asked for no mail server: it refuses every message and remembers it,
    and the test then fails (pytest-django's in-memory backend would swallow a send the test never meant)."""

    attempts: list[str] = []

    def send_messages(self, messages) -> int:
        MailWithoutServer.attempts += [", ".join(m.to) + ": " + m.subject for m in messages]
        raise ConnectionRefusedError("No mail server in this test: use the smtp_server fixture.")


@pytest.fixture(autouse=True)
def _no_mail_without_a_server(settings, request) -> Iterator[None]:
    """A test that sends mail uses a real SMTP server (smtp_server, start_smtp_server) or, to look at mail
    Django would send, pytest-django's `mailoutbox`. Any other send fails the test, even one the code caught
    and stored as a failed attempt (the outbox does)."""
    if "mailoutbox" in request.fixturenames:
        yield
        return
    settings.EMAIL_BACKEND = "tests.conftest.MailWithoutServer"
    MailWithoutServer.attempts = []
    yield
    unexpected, MailWithoutServer.attempts = MailWithoutServer.attempts, []
    assert not unexpected, f"Mail sent without a mail server (use the smtp_server fixture): {unexpected}"


# --- Data and personas -------------------------------------------------------------------------------


@pytest.fixture
def demo_campaign(db):
    """The Write for Rights 2020 campaign with its ten cases, open now."""
    from campaign.models import Campaign

    call_command("seed_demo", verbosity=0)
    return Campaign.objects.get(slug="write-for-rights-2020")


@pytest.fixture
def case(demo_campaign):
    """Khaled Drareni's case, open for action."""
    return demo_campaign.cases.get(slug="khaled-drareni")


def _staff(django_user_model, username: str, group: str | None, superuser: bool = False):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(
        username=username, password="correct horse battery", is_staff=True, is_superuser=superuser
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def moderator(db, django_user_model):
    """Staff in the Moderators group: reads and moderates letters, nothing else."""
    return _staff(django_user_model, "moderator", "Moderators")


@pytest.fixture
def organizer(db, django_user_model):
    """Staff in the Organizers group: cases, totals and exports; no letter moderation."""
    return _staff(django_user_model, "organizer", "Organizers")


@pytest.fixture
def superuser(db, django_user_model):
    return _staff(django_user_model, "root", None, superuser=True)


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def organizer_client(client, organizer):
    client.force_login(organizer)
    return client


# --- Helpers for supporters' forms and for concurrency -------------------------------------------------


def form_started(seconds_ago: int = 60) -> str:
    """A form's signed "shown at" time, as if the visitor opened the page `seconds_ago` seconds ago."""
    from campaign.lib.abuse import sign_form_time

    return sign_form_time(time.time() - seconds_ago)


def run_in_threads(target: Callable[[int], object], count: int) -> list:
    """Run `target(i)` in `count` threads released at the same moment, each on its own database connection
    (closed at the end); returns the results in thread order, re-raising the first error."""
    from django.db import connection

    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


# --- A real SMTP server on loopback -------------------------------------------------------------------


class Mailbox:
    """What the loopback SMTP server received, as parsed messages."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # The client's (address, port) of the SMTP session each message came in: one per connection.
        self.sessions: list[tuple] = []
        self._lock = threading.Condition()

    def add(self, mail_from: str, rcpt_tos: list[str], data: bytes, session: tuple = ()) -> None:
        with self._lock:
            self.messages.append(message_from_bytes(data, policy=policy.default))
            self.envelopes.append((mail_from, list(rcpt_tos)))
            self.sessions.append(tuple(session))
            self._lock.notify_all()

    @property
    def connections(self) -> int:
        """How many SMTP sessions (TCP connections) delivered the messages received so far."""
        with self._lock:
            return len(set(self.sessions))

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; fail with what did arrive otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"Expected {count} mails within {timeout}s, got {len(self.messages)}")
                self._lock.wait(left)
            return list(self.messages)

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html_of(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    @property
    def smtp_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """Real SMTP servers (aiosmtpd) on 127.0.0.1 for one test: `start(delay=...)` starts one that keeps every
    message it received in full (as a real server does) and answers each DATA after `delay` seconds (to kill a
    worker in the middle of a batch). The first one started is where Django in this process sends."""

    def __init__(self, settings) -> None:
        self._settings = settings
        self._controllers: list = []

    def start(self, delay: float = 0.0) -> Mailbox:
        import asyncio

        from aiosmtpd.controller import Controller

        mailbox = Mailbox(free_port())

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                # Kept before the answer, as a real server queues a message before its "250" reaches the
                # sender: a sender killed during the delay has sent the mail without knowing it.
                mailbox.add(
                    envelope.mail_from,
                    envelope.rcpt_tos,
                    envelope.original_content or envelope.content,
                    session=session.peer,
                )
                if delay:
                    await asyncio.sleep(delay)
                return "250 OK"

        controller = Controller(Handler(), hostname="127.0.0.1", port=mailbox.port)
        controller.start()
        if not self._controllers:
            self._settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            self._settings.EMAIL_HOST = "127.0.0.1"
            self._settings.EMAIL_PORT = mailbox.port
            self._settings.EMAIL_USE_TLS = self._settings.EMAIL_USE_SSL = False
            self._settings.EMAIL_HOST_USER = self._settings.EMAIL_HOST_PASSWORD = ""
        self._controllers.append(controller)
        return mailbox

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()


@pytest.fixture
def start_smtp_server(settings) -> Iterator[Callable[..., Mailbox]]:
    """`start_smtp_server(delay=0.3)`: another real SMTP server on loopback (see MailServer)."""
    servers = MailServer(settings)
    yield servers.start
    servers.stop()


@pytest.fixture
def smtp_server(start_smtp_server) -> Mailbox:
    """A real SMTP server on 127.0.0.1; Django in this process sends to it over SMTP."""
    return start_smtp_server()


# --- A real Celery worker -----------------------------------------------------------------------------


class WorkerProcess:
    """A Celery process a test started (a worker, or beat), with its log."""

    def __init__(self, process: subprocess.Popen, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash or OOM would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(mailbox: Mailbox | None = None, **extra: str) -> dict[str, str]:
    """Environment for a subprocess that must see this test run's database (data committed by tests
    that use `transactional_db` or `live_server`) and Redis."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "true",
        "PYTHONUNBUFFERED": "1",
    }
    if mailbox is not None:
        env["EMAIL_URL"] = mailbox.smtp_url
    env.update(extra)
    return env


def start_celery(role: str, arguments: list[str], log_path: Path, env: dict[str, str], ready: str) -> WorkerProcess:
    """Start `celery -A campaign <role> <arguments>` in a session of its own (so that it can be killed whole),
    logging to `log_path`; return once the log says `ready`, or fail with the log."""
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "campaign", role, "--loglevel", "INFO", *arguments],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = WorkerProcess(process, log_path)
    deadline = time.monotonic() + 60
    while ready not in started.log():
        if process.poll() is not None or time.monotonic() > deadline:
            started.stop()
            raise AssertionError(f"Celery {role} did not start:\n{started.log()}")
        time.sleep(0.2)
    return started


@pytest.fixture
def start_worker(transactional_db, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real `celery -A campaign worker` processes on this run's Redis and test database.

    `start_worker(mailbox=smtp_server, concurrency=1)`; every worker started is stopped at the end.
    The queue is purged first so that no message of an earlier run is picked up.
    """
    from campaign.celery import app

    app.control.purge()
    started: list[WorkerProcess] = []

    def start(mailbox: Mailbox | None = None, concurrency: int = 1, name: str = "", **extra_env: str) -> WorkerProcess:
        name = name or f"w{len(started)}"
        arguments = ["--concurrency", str(concurrency), "--hostname", f"{name}-{os.getpid()}@%h"]
        arguments += ["--without-gossip", "--without-mingle"]
        worker = start_celery(
            "worker", arguments, tmp_path / f"worker-{name}.log", worker_env(mailbox, **extra_env), "ready."
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_beat(transactional_db, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `celery -A campaign beat` on this run's Redis and test database: `start_beat(schedule_file,
    **env)`, with beat's schedule file (where it keeps when each entry last ran) at `schedule_file`. Stopped at
    the end. Exactly one beat runs in a deployment: start one per test."""
    started: list[WorkerProcess] = []

    def start(schedule_file: Path, **extra_env: str) -> WorkerProcess:
        assert not started, "one beat at a time"
        arguments = ["--schedule", str(schedule_file), "--pidfile", ""]
        beat = start_celery("beat", arguments, tmp_path / "beat.log", worker_env(**extra_env), "beat: Starting...")
        started.append(beat)
        return beat

    yield start
    for beat in started:
        beat.stop()


def wait_until(condition: Callable[[], object], timeout: float = 30, interval: float = 0.2, message: str = ""):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or f"Condition not met within {timeout}s")
        time.sleep(interval)


# --- Chromium through Playwright ------------------------------------------------------------------------


@pytest.fixture
def browser():
    """Debian's Chromium, driven by Playwright. Never a downloaded browser.

    One per test, not per session: while Playwright's sync API is started, an asyncio loop counts as running
    in this thread, and asgiref then hands Django other connection objects than the ones the test database
    was set up on (those that carry the serialized data transactional tests are restored from).
    """
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is needed for the browser tests and was not found at {CHROMIUM}. "
            "Install it with `apt-get update && apt-get install -y chromium` (or run `.ci/run`), "
            "or point CHROMIUM_PATH at it.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path: Path):
    """A fresh browser context (no cookies) and page. A Content-Security-Policy violation on any page the
    test opened fails the test: it means something the site needs was blocked."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not blocked, f"The Content-Security-Policy blocked: {blocked}"


def total_shown(html: str, case_pk: int) -> int:
    """The live total a page (the case page, the embedded counter) shows for a case."""
    import re

    return int(re.search(rf'data-total-for="{case_pk}">([0-9,]+)<', html).group(1).replace(",", ""))
