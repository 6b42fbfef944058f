"""The one way the hub reads another server: a section's totals, a case pack given by its address.

It calls the address it was given and nothing else: a redirect is followed only to the same scheme, host and
port (or from http:// to https:// on the same host); anything else is refused, so no answer can send the hub
to another address (no SSRF through a redirect). One deadline bounds the whole exchange (connecting, headers,
every read), so a server that answers a byte at a time is cut off like a silent one; the body stops being read
past `max_bytes`. Nothing here touches the database.
"""

from __future__ import annotations

import http.client
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 3
CHUNK = 64 * 1024


class FetchProblem(Exception):
    """Why an address gave nothing usable: `code` (translated for the organizer by sections.services.problems)
    and a plain `detail`."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:300]


@dataclass
class Fetched:
    status: int  # 200, or 304 when the validators sent still hold
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""


def check_address(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an http(s) address, or FetchProblem("address")."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise FetchProblem("address", url[:100])
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchProblem("address", url[:100]) from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _same_place(first: tuple, then: tuple) -> bool:
    (scheme, host, port, _path), (scheme2, host2, port2, _path2) = first, then
    if host.lower() != host2.lower():
        return False
    return (scheme, port) == (scheme2, port2) or (scheme == "http" and scheme2 == "https")


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    accept: str = "application/json",
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> Fetched:
    """GET `url` as described above. Raises FetchProblem: "timeout", "too_large", "redirect", "http_status",
    "unreachable" or "address"."""
    timeout = settings.SECTIONS_FETCH_TIMEOUT_SECONDS if timeout is None else timeout
    max_bytes = settings.SECTIONS_MAX_DOCUMENT_BYTES if max_bytes is None else max_bytes
    deadline = time.monotonic() + timeout
    first = place = check_address(url)
    for _ in range(MAX_REDIRECTS + 1):
        headers = {"Accept": accept, "Accept-Encoding": "identity", "User-Agent": "Plume hub"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        status, response_headers, body = _exchange(place, headers, deadline, max_bytes)
        if status in (301, 302, 303, 307, 308):
            location = response_headers.get("location", "")
            scheme, host, port, path = place
            target = check_address(urljoin(f"{scheme}://{host}:{port}{path}", location))
            if not _same_place(first, target):
                raise FetchProblem("redirect", f"{target[0]}://{target[1]}:{target[2]}")
            place = target
            continue
        if status == 304:
            return Fetched(304, etag=etag, last_modified=last_modified)
        if status != 200:
            raise FetchProblem("http_status", str(status))
        return Fetched(
            200,
            body,
            etag=response_headers.get("etag", "")[:300],
            last_modified=response_headers.get("last-modified", "")[:100],
            content_type=response_headers.get("content-type", ""),
        )
    raise FetchProblem("redirect", "too many")


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchProblem("timeout")
    return left


def _exchange(place: tuple, headers: dict, deadline: float, max_bytes: int) -> tuple[int, dict, bytes]:
    scheme, host, port, path = place
    if scheme == "https":
        connection = http.client.HTTPSConnection(
            host, port, timeout=_left(deadline), context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=_left(deadline))
    try:
        connection.request("GET", path, headers=headers)
        # Kept: the connection lets go of its socket once a response says it will close, the reads go on.
        sock = connection.sock
        sock.settimeout(_left(deadline))
        response = connection.getresponse()
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status != 200:
            return response.status, response_headers, b""
        length = response_headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchProblem("too_large", length)
        chunks, size = [], 0
        while True:
            sock.settimeout(_left(deadline))
            chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchProblem("too_large", str(size))
            chunks.append(chunk)
        return response.status, response_headers, b"".join(chunks)
    except FetchProblem:
        raise
    except TimeoutError as exc:
        raise FetchProblem("timeout") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchProblem("unreachable", type(exc).__name__) from exc
    finally:
        connection.close()
