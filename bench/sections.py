"""A hub following 100 sections of 10 cases and 200 countries: one round of fetches, and the hub's pages.

    .venv/bin/python -m bench.sections [--sections 100] [--countries 200]

On its own database (plume_bench_sections, created and dropped on the shared PostgreSQL) and Redis db 11 (or
REDIS_URL). The sections are served by a separate process (a threaded HTTP server on loopback holding every
section's /api/v1/totals document, with an ETag), so the CPU this process spends is the hub's worker's alone:
the round runs here exactly as the Celery task runs it (`sections.services.fetching.fetch_due_sections`).

Measured, each next to a baseline taken in the same run:
- one round where every section's figures are new (fetch, check, store, the movement's summary computed again),
  against the same 100 downloads through the same fetcher and threads with nothing done with them, and against
  `json.loads` of the same documents;
- one round where nothing changed (every section answers 304 to the ETag of its last answer);
- the movement's summary computed from the database, against reading it from the cache;
- the hub's staff page of the movement and its public JSON with a warm cache: the queries they make (none but the
  sign-in's for the page, none at all for the JSON) and their time a request, against the same page computed
  with a cold cache each time.
Prints one JSON object and writes it to bench/results/sections-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "plume_bench_sections"
KINDS = ("signature", "letter", "postcard")

SERVER = textwrap.dedent(
    """
    import hashlib, json, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    documents = json.load(open(sys.argv[1]))
    state = {"version": 0}

    def body(i):
        data = documents[i]
        if state["version"]:
            for case in data["cases"]:
                for entry in case["by_country"].values():
                    entry["by_kind"]["letter"] = entry["by_kind"].get("letter", 0) + 1
                    entry["total"] += 1
                case["by_kind"]["letter"] = case["by_kind"].get("letter", 0) + len(case["by_country"])
                case["total"] += len(case["by_country"])
            data["total"] = sum(c["total"] for c in data["cases"])
        return json.dumps(data).encode()

    cache = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            if self.path == "/bump":
                state["version"] += 1
                cache.clear()
                self.send_response(204); self.end_headers(); return
            i = int(self.path.split("/")[2])
            key = (i, state["version"])
            if key not in cache:
                cache[key] = body(i)
            data = cache[key]
            etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304); self.send_header("ETag", etag); self.end_headers(); return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
    """
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(function) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    print(f"  {getattr(function, '__name__', '?')}: {wall:.2f} s, CPU {cpu:.2f} s", file=sys.stderr, flush=True)
    return result, wall, cpu


def documents(case_keys: list[str], sections: int, countries: list[str]) -> list[dict]:
    out = []
    for _ in range(sections):
        cases = []
        for key in case_keys:
            per_country = {}
            for code in countries:
                kinds = {kind: random.randint(0, 500) for kind in KINDS}
                per_country[code] = {"total": sum(kinds.values()), "by_kind": kinds}
            by_kind = {kind: sum(c["by_kind"][kind] for c in per_country.values()) for kind in KINDS}
            campaign, slug = key.split("/")
            cases.append(
                {
                    "key": key,
                    "campaign": campaign,
                    "slug": slug,
                    "total": sum(by_kind.values()),
                    "by_kind": by_kind,
                    "by_country": per_country,
                }
            )
        out.append({"version": 1, "total": sum(c["total"] for c in cases), "cases": cases})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sections", type=int, default=100)
    parser.add_argument("--countries", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    import psycopg2

    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    os.environ["DJANGO_SETTINGS_MODULE"] = "campaign.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_countries import countries as all_countries

    from campaign.lib.cache import ProcessCache
    from sections.models import Section
    from sections.services import fetching, movement
    from sections.services.http import fetch

    server = None
    report: dict = {"load_before": os.getloadavg(), "sections": args.sections, "countries": args.countries}
    try:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", verbosity=0)
        cache.clear()
        from campaign.models import Case

        keys = list(Case.objects.values_list("key", flat=True))
        codes = [code for code, _name in all_countries][: args.countries]
        docs = documents(keys, args.sections, codes)
        folder = ROOT / "bench" / "results"
        folder.mkdir(parents=True, exist_ok=True)
        docs_file = folder / "sections-documents.json"
        docs_file.write_text(json.dumps(docs))
        raw = [json.dumps(d).encode() for d in docs]
        report["document_bytes"] = sum(len(r) for r in raw) // len(raw)

        port = 20000 + random.randint(0, 20000)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(docs_file), str(port)], stdout=subprocess.PIPE, text=True
        )
        assert server.stdout.readline().strip() == "ready"
        urls = [f"http://127.0.0.1:{port}/s/{i}/totals" for i in range(args.sections)]
        Section.objects.bulk_create(Section(name=f"Section {i}", totals_url=url) for i, url in enumerate(urls))
        ids = list(Section.objects.values_list("pk", flat=True))

        def download_only() -> None:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(settings.SECTIONS_FETCH_CONCURRENCY) as pool:
                list(pool.map(fetch, urls))

        download_only()  # the server's own cache warm, as it would be on a real section
        server_cpu = process_cpu(server.pid)
        _, report["download_only_s"], report["download_only_cpu_s"] = timed(download_only)
        _, report["json_loads_s"], _ = timed(lambda: [json.loads(r) for r in raw])
        from sections.services.documents import parse_json

        _, report["parse_and_check_s"], _ = timed(lambda: [parse_json(r) for r in raw])

        result, report["round_new_s"], report["round_new_cpu_s"] = timed(lambda: fetching.fetch_due_sections(only=ids))
        report["round_new"] = result.__dict__
        _, report["refresh_summary_s"], _ = timed(movement.refresh)
        result, report["round_unchanged_s"], report["round_unchanged_cpu_s"] = timed(
            lambda: fetching.fetch_due_sections(only=ids)
        )
        report["round_unchanged"] = result.__dict__
        urllib.request.urlopen(f"http://127.0.0.1:{port}/bump", timeout=10).close()
        result, report["round_changed_s"], report["round_changed_cpu_s"] = timed(
            lambda: fetching.fetch_due_sections(only=ids)
        )
        report["round_changed"] = result.__dict__
        report["server_cpu_s_three_rounds"] = round(process_cpu(server.pid) - server_cpu, 2)
        report["movement_total"] = movement.refresh()["total"]

        # The summary: computed against read from the cache.
        _, report["summary_compute_s"], _ = timed(movement.compute)
        movement.refresh()
        _, warm, _ = timed(lambda: [movement.summary() for _ in range(1000)])
        report["summary_cached_read_ms"] = round(warm, 4)

        # The staff page and the public JSON, warm against cold.
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        user = get_user_model().objects.create_user("bench-organizer", is_staff=True)
        user.groups.add(Group.objects.get(name="Organizers"))
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get("/en/staff/sections/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/en/staff/sections/").status_code == 200
        report["staff_page_warm_queries"] = [q["sql"][:80] for q in queries]
        client.get("/api/v1/movement")
        with CaptureQueriesContext(connection) as queries:
            client.get("/api/v1/movement")
        report["json_warm_queries"] = len(queries)

        def pages(path: str, cold: bool) -> float:
            start = time.perf_counter()
            for _ in range(args.requests):
                if cold:
                    cache.delete(movement.CACHE_KEY)
                    ProcessCache.forget_all()
                client.get(path)
            return (time.perf_counter() - start) / args.requests * 1000

        settings.OPEN_DATA_RATE_LIMIT_PER_MINUTE = 10**9
        for path, name in (("/en/staff/sections/", "staff_page"), ("/api/v1/movement", "json")):
            warm_ms, cold_ms = pages(path, cold=False), pages(path, cold=True)
            report[f"{name}_warm_ms"], report[f"{name}_cold_ms"] = round(warm_ms, 2), round(cold_ms, 2)
        report["load_after"] = os.getloadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        from django.db import connections

        connections.close_all()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.close()
    for key, value in list(report.items()):
        if isinstance(value, float):
            report[key] = round(value, 3)
    out = ROOT / "bench" / "results" / f"sections-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
