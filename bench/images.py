"""What letter images cost a web process: its peak memory while 8 uploads arrive together, against its idle size.

    .venv/bin/python bench/images.py                   # this checkout
    .venv/bin/python bench/images.py --tree /tmp/old   # another checkout of Plume (an older commit, say)

Runs the web as production does (the Procfile's `web` line: gunicorn, WEB_CONCURRENCY sync workers, DEBUG off)
on a database and a Redis database of its own (plume_bench_images and Redis db 14 by default; never the shared
ones' data), then for each kind of picture: every worker serves the letter page, its peak resident memory is
reset (/proc/<pid>/clear_refs), UPLOADS letters with that picture are posted at the same moment, and the
workers' peak (VmHWM) is read against their size before. Target (docs/letters.md): under 150 MiB above idle.

The pictures: the one of the report (a PNG of about 100 KB declaring 40 megapixels), and the largest of each kind
that the pixel cap (LETTERS_IMAGE_MAX_PIXELS) and the decoding budget accept: a 16-megapixel PNG with
transparency, a 16-megapixel JPEG photo, a 6-megapixel WebP (and a 12-megapixel one, refused).

Settings through the environment: BENCH_IMAGES_DATABASE, BENCH_IMAGES_REDIS_DB, BENCH_IMAGES_UPLOADS (8),
WEB_CONCURRENCY (2, as the Procfile), BENCH_IMAGES_ONLY (measure only the pictures whose name holds it).
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

import psycopg2
import redis
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
TARGET_MIB = 150


# --- The pictures ------------------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_rows(width: int, height: int, colour_type: int, row: bytes) -> bytes:
    """A whole, valid PNG of `height` copies of `row` (filter byte included), compressed as it is written:
    no picture of that size is ever held in memory here."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def pictures() -> list[tuple[str, str, str, bytes]]:
    """(name, file name, content type, bytes) of each picture measured."""
    # The report's: 8000 x 5000 RGB, all black, about 92 KB.
    bomb = png_rows(8000, 5000, 2, b"\x00" + b"\x00" * 8000 * 3)
    # 4000 x 4000 RGBA: the left half transparent, the right half red.
    half = b"\x00\x00\x00\x00" * 2000 + b"\xc8\x00\x00\xff" * 2000
    transparent = png_rows(4000, 4000, 6, b"\x00" + half)
    photo = io.BytesIO()
    Image.radial_gradient("L").resize((4000, 4000)).convert("RGB").save(photo, "JPEG", quality=90)
    webps = []
    for size in ((4000, 3000), (3000, 2000)):
        webp = io.BytesIO()
        Image.new("RGB", size, (0, 90, 200)).save(webp, "WEBP", quality=80)
        webps.append(webp.getvalue())
    return [
        ("40 MP PNG (refused by the cap)", "bomb.png", "image/png", bomb),
        ("16 MP PNG with transparency", "drawing.png", "image/png", transparent),
        ("16 MP JPEG photo", "photo.jpg", "image/jpeg", photo.getvalue()),
        ("12 MP WebP (refused by the budget)", "photo.webp", "image/webp", webps[0]),
        ("6 MP WebP", "photo.webp", "image/webp", webps[1]),
    ]


# --- The web, as production runs it -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_web(tree: Path) -> str:
    for line in (tree / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"No web line in {tree / 'Procfile'}")


def rss(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (VmRSS) or its peak since the last reset (VmHWM), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) * 1024


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


class Web:
    def __init__(self, tree: Path, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)}
        self.log = open(env["PLUME_VAR_DIR"] + "/gunicorn.log", "w")  # noqa: SIM115 (closed in stop)
        # `exec`: the shell becomes gunicorn's master, whose children are the workers measured.
        self.process = subprocess.Popen(
            ["sh", "-c", "exec " + procfile_web(tree)],
            cwd=tree,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers = workers
        deadline = time.monotonic() + 60
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {self.log.name}")
            time.sleep(0.3)

    def _answers(self) -> bool:
        try:
            return self.request("GET", "/api/totals")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


# --- A writer -----------------------------------------------------------------------------------------------


class Writer:
    """One browser: its CSRF cookie and the form's hidden values, then one letter posted with a picture."""

    def __init__(self, web: Web, path: str) -> None:
        self.web, self.path = web, path
        status, headers, body = web.request("GET", path)
        assert status == 200, (status, body[:300])
        html = body.decode()
        self.cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "csrftoken" in v)
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        self.started = re.search(r'name="started" value="([^"]+)"', html).group(1)

    def post(self, file_name: str, content_type: str, data: bytes) -> int:
        fields = {
            "csrfmiddlewaretoken": self.token,
            "started": self.started,
            "website": "",
            "addressed_to": "person",
            "text": "Stay strong, the whole world is with you. " + secrets.token_hex(4),
            "language": "en",
            "first_name": "Ana",
            "country": "PT",
            "writer_email": "",
        }
        boundary = "plume" + secrets.token_hex(8)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{file_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": self.cookie,
            "Referer": f"http://127.0.0.1:{self.web.port}{self.path}",
            "Origin": f"http://127.0.0.1:{self.web.port}",
        }
        return self.web.request("POST", self.path, body, headers)[0]


def all_at_once(web: Web, path: str, picture: tuple[str, str, str, bytes], uploads: int) -> Counter:
    """`uploads` writers post a letter with `picture` at the same moment; the statuses they got."""
    _name, file_name, content_type, data = picture
    writers = [Writer(web, path) for _ in range(uploads)]
    barrier = threading.Barrier(uploads)
    statuses: list[int] = []

    def run(writer: Writer) -> None:
        barrier.wait()
        statuses.append(writer.post(file_name, content_type, data))

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return Counter(statuses)


# --- The run ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the Plume checkout to run (default: this one)")
    args = parser.parse_args()
    tree = args.tree.resolve()
    database = os.environ.get("BENCH_IMAGES_DATABASE", "plume_bench_images")
    redis_db = int(os.environ.get("BENCH_IMAGES_REDIS_DB", "14"))
    uploads = int(os.environ.get("BENCH_IMAGES_UPLOADS", "8"))
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
    var = Path(tempfile.mkdtemp(prefix="plume-bench-images-"))
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "SITE_URL": "http://127.0.0.1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "EMAIL_URL": "dummymail://",
        "PLUME_VAR_DIR": str(var),
        "PRIVATE_MEDIA_ROOT": str(var / "private"),
        "MEDIA_ROOT": str(var / "media"),
        "LOG_LEVEL": "WARNING",
        # Every upload comes from 127.0.0.1: the limits are still checked, only high enough never to refuse.
        "LETTERS_RATE_LIMIT_PER_HOUR": "1000000",
        "LETTERS_SAME_TEXT_PER_DAY": "1000000",
        "PYTHONPATH": str(tree),
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{database}"')
    web = None
    try:
        for command in (["migrate", "--no-input"], ["seed_demo"], ["collectstatic", "--no-input"]):
            subprocess.run([python, "manage.py", *command], cwd=tree, env=env, check=True, capture_output=True)
        find_page = (
            "from django.urls import reverse; from django.utils import translation; translation.activate('en'); "
            "print(reverse('letters:write', kwargs={'campaign': 'write-for-rights-2020', 'case': 'khaled-drareni'}))"
        )
        shell = [python, "manage.py", "shell", "-c", find_page]
        path = subprocess.run(shell, cwd=tree, env=env, check=True, capture_output=True, text=True).stdout.split()[-1]
        web = Web(tree, env, workers)
        commit = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        print(f"tree {tree} ({commit or 'not a git checkout'}), {workers} gunicorn workers, {uploads} uploads at once")
        print(f"letter page {path}; database {database}, Redis db {redis_db}")
        print()
        small = ("warm-up", "card.png", "image/png", png_rows(64, 48, 2, b"\x00" + b"\x7f" * 64 * 3))
        results = []
        only = os.environ.get("BENCH_IMAGES_ONLY", "")
        for picture in [p for p in pictures() if only in p[0]]:
            # Every worker has served pages and decoded a small picture: what a worker is like when idle.
            for _ in range(2 * workers):
                all_at_once(web, path, small, 1)
            pids = workers_of(web.process.pid)
            idle = {pid: rss(pid) for pid in pids}
            for pid in pids:
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak resident memory starts again from now
            started = time.monotonic()
            statuses = all_at_once(web, path, picture, uploads)
            seconds = time.monotonic() - started
            peak = max(rss(pid, "VmHWM") - idle[pid] for pid in pids)
            after = max(rss(pid) - idle[pid] for pid in pids)
            results.append((picture[0], len(picture[3]), statuses, peak, after, seconds))
        print(f"{'picture':34} {'file':>9} {'answers':22} {'peak above idle':>16} {'after':>9} {'time':>7}")
        for name, size, statuses, peak, after, seconds in results:
            answers = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
            verdict = "ok" if peak < TARGET_MIB * MIB else f"over {TARGET_MIB} MiB"
            print(
                f"{name:34} {size / 1024:>6.0f} KB {answers:22} {peak / MIB:>10.0f} MiB {verdict:>5}"
                f" {after / MIB:>5.0f} MiB {seconds:>6.1f}s"
            )
    finally:
        if web is not None:
            web.stop()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()
        redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # this run's own Redis database only
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
