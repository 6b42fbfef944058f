"""The sections' tests: a hub with the demo campaign, sections it follows, documents as sections send them, and
real HTTP servers on loopback that answer as a section would (well, slowly, too much, or elsewhere)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sections.models import Section

KHALED = "write-for-rights-2020/khaled-drareni"
NASSIMA = "write-for-rights-2020/nassima-al-sada"


def document(figures: dict[str, dict[str, dict[str, int]]], **extra) -> dict:
    """A /api/v1/totals document (version 1) for {case key: {country: {kind: n}}}, its sums right."""
    cases = []
    for key, per_country in figures.items():
        by_kind: dict[str, int] = {}
        for kinds in per_country.values():
            for kind, n in kinds.items():
                by_kind[kind] = by_kind.get(kind, 0) + n
        campaign, slug = key.split("/")
        cases.append(
            {
                "id": len(cases) + 1,
                "key": key,
                "campaign": campaign,
                "slug": slug,
                "name": slug.replace("-", " ").title(),
                "country": "DZ",
                "url": f"https://section.example.org/en/{key}/",
                "goal": 100000,
                "total": sum(by_kind.values()),
                "by_kind": by_kind,
                "by_country": {c: {"total": sum(k.values()), "by_kind": k} for c, k in per_country.items()},
            }
        )
    data = {
        "version": 1,
        "generated_at": "2026-12-10T18:04:11+00:00",
        "kinds": ["signature", "letter", "postcard", "drawing", "email", "tweet", "post"],
        "total": sum(c["total"] for c in cases),
        "cases": cases,
    }
    data.update(extra)
    return data


def as_bytes(data: dict) -> bytes:
    return json.dumps(data).encode()


@pytest.fixture
def section(demo_campaign):
    return Section.objects.create(
        name="Amnesty Brazil", countries=["BR"], totals_url="http://127.0.0.1:9/api/v1/totals"
    )


class Answer:
    """What the loopback server answers next: a status, headers and a body, after `delay` seconds, or one
    byte every `drip` seconds."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict | None = None, delay: float = 0, drip=0):
        self.status, self.body, self.headers, self.delay, self.drip = status, body, headers or {}, delay, drip


class SectionServer:
    """A real HTTP server on 127.0.0.1 whose answers the test sets (`answer`); it keeps the requests it got."""

    def __init__(self) -> None:
        self.answer: Answer | Callable[[BaseHTTPRequestHandler], Answer] = Answer(404)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                answer = server.answer(self) if callable(server.answer) else server.answer
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.drip:
                        self.send_header("Content-Length", str(len(answer.body)))
                        self.end_headers()
                        for i in range(len(answer.body)):
                            self.wfile.write(answer.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(answer.drip)
                        return
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the hub gave up, as it should

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/api/v1/totals") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def start_section_server() -> Iterator[Callable[[], SectionServer]]:
    servers: list[SectionServer] = []

    def start() -> SectionServer:
        servers.append(SectionServer())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def section_server(start_section_server) -> SectionServer:
    return start_section_server()
