"""deploy/nginx.conf, run by a real nginx (Debian's) in front of a small backend of the test's own: what it
forwards, what it caches and for whom, what it serves stale, what it serves itself, and what it logs."""

from __future__ import annotations

import http.server
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.hosts import nginx
from tests.conftest import free_port

pytestmark = pytest.mark.subprocess


class Backend(http.server.ThreadingHTTPServer):
    """Stands for gunicorn: counts its hits per path and says what headers reached it."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.seen: dict[str, dict[str, str]] = {}
        super().__init__(("127.0.0.1", free_port()), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Backend

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        self.server.seen[path] = dict(self.headers)
        body = f"{path} hit {self.server.hits[path]}".encode()
        self.send_response(200)
        if path.startswith("/en/case/"):
            self.send_header("Cache-Control", "public, max-age=60")
        elif path.startswith("/en/stale/"):
            self.send_header("Cache-Control", "public, max-age=1")
        elif path.startswith("/en/cookie/"):
            self.send_header("Cache-Control", "public, max-age=60")
            self.send_header("Set-Cookie", "csrftoken=abc; Path=/")
        else:
            self.send_header("Cache-Control", "private, no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    directory = tmp_path_factory.mktemp("nginx")
    static, media = directory / "static", directory / "media"
    static.mkdir()
    media.mkdir()
    (static / "plume.css").write_text("body{}")
    (media / "photo.txt").write_text("a photo")
    backend = Backend()
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    https_port, http_port = free_port(), free_port()
    main = nginx.render(directory, upstreams=[f"127.0.0.1:{backend.server_port}"], listen="127.0.0.1",
                        http_port=http_port, https_port=https_port, static_root=static, media_root=media)  # fmt: skip
    nginx.start(main)
    try:
        yield {"backend": backend, "url": f"https://127.0.0.1:{https_port}", "http": f"http://127.0.0.1:{http_port}",
               "dir": directory}  # fmt: skip
    finally:
        nginx.stop(main)
        backend.shutdown()


_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, *, method: str = "GET", headers: dict | None = None) -> tuple[int, dict, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_TLS), _NoRedirect)
    headers = {"Host": "plume.example.org", **(headers or {})}
    request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310 (https:// and http:// of the test)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_it_passes_the_clients_address_last_and_says_https(front):
    fetch(front["url"] + "/en/echo/", headers={"X-Forwarded-For": "203.0.113.66"})
    seen = front["backend"].seen["/en/echo/"]
    # What the client wrote comes first; the address nginx saw is appended last: TRUSTED_PROXY_COUNT=1 reads it.
    assert seen["X-Forwarded-For"] == "203.0.113.66, 127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "https"
    assert seen["Host"] == "plume.example.org"


def test_it_serves_a_public_page_from_its_cache(front):
    first = fetch(front["url"] + "/en/case/khaled/")
    second = fetch(front["url"] + "/en/case/khaled/")
    assert first[1]["X-Cache-Status"] == "MISS"
    assert second[1]["X-Cache-Status"] == "HIT"
    assert second[2] == "/en/case/khaled/ hit 1"
    assert front["backend"].hits["/en/case/khaled/"] == 1


def test_staff_with_a_session_never_read_nor_fill_the_cache(front):
    fetch(front["url"] + "/en/case/staff/")
    _, headers, body = fetch(front["url"] + "/en/case/staff/", headers={"Cookie": "sessionid=s3cret"})
    assert headers["X-Cache-Status"] == "BYPASS"
    assert body == "/en/case/staff/ hit 2"


def test_a_page_that_sets_a_cookie_or_is_private_is_never_cached(front):
    for path in ("/en/cookie/", "/en/private/"):
        fetch(front["url"] + path)
        fetch(front["url"] + path)
        assert front["backend"].hits[path] == 2, path


def test_a_post_always_reaches_plume(front):
    fetch(front["url"] + "/en/case/post/", method="POST")
    fetch(front["url"] + "/en/case/post/", method="POST")
    assert front["backend"].hits["/en/case/post/"] == 2


def test_it_serves_the_last_good_page_while_plume_is_down(front, tmp_path):
    assert fetch(front["url"] + "/en/stale/")[0] == 200
    backend = front["backend"]
    port = backend.server_port
    backend.shutdown()
    backend.server_close()
    try:
        time.sleep(1.5)  # the page's max-age (1 s) runs out: only a stale copy is left
        status, headers, body = fetch(front["url"] + "/en/stale/")
        assert status == 200
        assert headers["X-Cache-Status"] == "STALE"
        assert body == "/en/stale/ hit 1"
        # A page it never had is an error, not a guess.
        assert fetch(front["url"] + "/en/never-seen/")[0] == 502
    finally:
        revived = Backend.__new__(Backend)
        revived.hits, revived.seen = backend.hits, backend.seen
        http.server.ThreadingHTTPServer.__init__(revived, ("127.0.0.1", port), _Handler)
        threading.Thread(target=revived.serve_forever, daemon=True).start()
        front["backend"] = revived


def test_it_serves_static_files_and_media_itself_and_never_the_metrics(front):
    status, headers, body = fetch(front["url"] + "/static/plume.css")
    assert (status, body) == (200, "body{}")
    assert "immutable" in headers["Cache-Control"]
    assert fetch(front["url"] + "/media/photo.txt")[2] == "a photo"
    assert fetch(front["url"] + "/metrics")[0] == 404
    assert "/static/plume.css" not in front["backend"].hits
    assert "/metrics" not in front["backend"].hits


def test_plain_http_is_sent_to_https(front):
    status, headers, _ = fetch(front["http"] + "/en/")
    assert status == 301
    assert headers["Location"] == "https://plume.example.org/en/"


def test_its_log_keeps_no_token_and_no_address(front):
    fetch(front["url"] + "/en/petitions/confirm/Zm9vLXNlY3JldC10b2tlbg/", headers={"X-Forwarded-For": "198.51.100.9"})
    fetch(front["url"] + "/en/logged/?email=ana@example.org")
    log = Path(front["dir"] / "plume.access.log")
    deadline = time.monotonic() + 5
    while "/en/logged/" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert "/en/logged/" in text
    assert "Zm9vLXNlY3JldC10b2tlbg" not in text
    assert "ana@example.org" not in text
    assert "127.0.0.1 " not in text.replace("upstream=127.0.0.1", "")
    assert "198.51.100.9" not in text
