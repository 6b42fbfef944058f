"""The web process's logs keep no token from a link and no full network address (campaign.lib.accesslog).

A real gunicorn, started with the Procfile's web command, answers links from mails; its access log, its own
warnings and Django's log lines are read for the tokens and the client's address.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from campaign.lib import accesslog
from tests.conftest import free_port, worker_env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "SeCrEt-ToKeN-4711"
LINKS = [
    f"/en/petitions/confirm/{SECRET}a/",
    f"/fr/petitions/not-me/{SECRET}b/",
    f"/en/petitions/no-more-news/{SECRET}c/",
    f"/ar/letters/drawing/{SECRET}d/",
]


def procfile_web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise AssertionError("The Procfile has no web process")


def request(url: str, **headers: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.subprocess
def test_the_web_process_logs_no_token_and_no_full_address(db, tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    env = worker_env(DEBUG="false", HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1", PLUME_VAR_DIR=str(tmp_path))
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    process = subprocess.Popen(
        ["sh", "-c", f"exec {procfile_web_command()}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}") from None
                time.sleep(0.3)

        statuses = [request(base + link) for link in LINKS]
        assert all(status < 500 for status in statuses), statuses
        # A page opened from a link carries it as its referrer; a query string may name one too.
        request(f"{base}/en/?next=/en/petitions/confirm/{SECRET}e/", Referer=f"{base}/en/petitions/confirm/{SECRET}f/")
        # A request gunicorn cannot parse: it warns with the client's address and what it read.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(f"GET /en/petitions/confirm/{SECRET}g/ HTTP/1.1 trailing\r\n\r\n".encode())
            raw.recv(1024)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)

    text = log.read_text()
    access = [line for line in text.splitlines() if ' HTTP/1.1" ' in line]
    assert len(access) >= len(LINKS) + 2, text
    assert SECRET not in text, text
    for link in ["/en/petitions/confirm/<token>/", "/fr/petitions/not-me/<token>/", "/ar/letters/drawing/<token>/"]:
        assert any(link in line for line in access), text
    assert any('"http://127.0.0.1:' in line and "/confirm/<token>/" in line for line in access)  # the referrer
    # Client addresses are cut to their network, in the access log and in gunicorn's warning.
    assert all(line.startswith("127.0.0.0/24 ") for line in access), access
    assert "ip=127.0.0.0/24" in text, text
    assert "ip=127.0.0.1" not in text


def atoms(**environ) -> dict:
    from types import SimpleNamespace

    base = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/en/petitions/confirm/abc:def/",
        "PATH_INFO": "/en/petitions/confirm/abc:def/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        **environ,
    }
    logger = accesslog.AccessLogger.__new__(accesslog.AccessLogger)
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    headers = [(k[5:].replace("_", "-").lower(), v) for k, v in base.items() if k.startswith("HTTP_")]
    raw = logger.atoms(response, SimpleNamespace(headers=headers), base, SimpleNamespace(seconds=0, microseconds=5))
    return accesslog.PrivateAtoms(raw)


def test_it_cuts_ipv6_addresses_to_their_48_and_ipv4_to_their_24():
    assert atoms(REMOTE_ADDR="2001:db8:1:2:3:4:5:6")["h"] == "2001:db8:1::/48"
    assert atoms(REMOTE_ADDR="203.0.113.77")["h"] == "203.0.113.0/24"
    assert atoms(REMOTE_ADDR="::ffff:203.0.113.77")["h"] == "203.0.113.0/24"


def test_it_cuts_the_addresses_proxies_pass_on_whatever_the_log_format_names():
    found = atoms(
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.77, 2001:db8:1:2::9",
        HTTP_FORWARDED='for="[2001:db8:cafe::17]:4711";proto=https',
    )
    assert found["{x-forwarded-for}i"] == "203.0.113.0/24, 2001:db8:1::/48"
    assert found["{http_x_forwarded_for}e"] == "203.0.113.0/24, 2001:db8:1::/48"
    assert "2001:db8:cafe::17" not in found["{forwarded}i"] and "2001:db8:cafe::/48" in found["{forwarded}i"]
    assert found["{remote_addr}e"] == "10.0.0.0/24"


def test_it_replaces_the_token_in_every_place_a_path_appears():
    found = atoms(
        RAW_URI="/en/petitions/confirm/abc:def/?x=1",
        QUERY_STRING="next=/en/petitions/not-me/abc/",
        HTTP_REFERER="https://plume.example.org/en/letters/drawing/xyz/",
    )
    assert found["r"] == "GET /en/petitions/confirm/<token>/?x=1 HTTP/1.1"
    assert found["U"] == "/en/petitions/confirm/<token>/"
    assert found["q"] == "next=/en/petitions/not-me/<token>/"
    assert found["f"] == "https://plume.example.org/en/letters/drawing/<token>/"
    assert found["{raw_uri}e"] == "/en/petitions/confirm/<token>/?x=1"
    # Other paths are left as they are.
    assert atoms(RAW_URI="/en/write-for-rights-2020/khaled-drareni/")["r"].startswith("GET /en/write-for-rights")


def test_django_log_lines_lose_their_tokens_too(caplog):
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/en/petitions/no-more-news/abc/",), None
    )
    accesslog.RedactTokensFilter().filter(record)
    assert record.getMessage() == "Not Found: /en/petitions/no-more-news/<token>/"
