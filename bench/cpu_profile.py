"""Where the web processes spend their CPU: cProfile of the case page and of the sign view, in process.

    python -m bench.cpu_profile /en/<campaign>/<case>/ OUT.txt

Run by bench/run.py on its database and Redis, with the same settings as gunicorn. Like a browser, it reads
the case page (CSRF cookie and the petition form's hidden fields), waits for the form's minimum fill time,
then profiles page views and signatures (each with a new email; CSRF checked) and writes the functions
that take the most time, cumulated, to OUT.txt. The figures are for reading, not for comparing: a
profiler slows Python code down several times.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_VIEWS = 30
SIGNATURES = 100


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()
    from django.test import Client

    from bench.sign_form import SignForm

    case_path, out = sys.argv[1], Path(sys.argv[2])
    client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    form = SignForm()
    form.feed(client.get(case_path).content.decode())
    if not form.action:
        sys.exit(f"no petition form on {case_path}")
    # The form flags what is sent sooner than its minimum fill time after the page was shown.
    time.sleep(4)

    def sign(n: int):
        fields = {"website": "", "name": f"Profile {n}", "email": f"bench-p{n}@example.org", "country": "FR"}
        return client.post(form.action, {**form.hidden, **fields})

    report = io.StringIO()
    for label, count, request in (
        ("case page", PAGE_VIEWS, lambda n: client.get(case_path)),
        ("sign", SIGNATURES, sign),
    ):
        statuses: dict[int, int] = {}
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for n in range(count):
            status = request(n).status_code
            statuses[status] = statuses.get(status, 0) + 1
        profile.disable()
        elapsed = time.perf_counter() - started
        report.write(f"=== {label}: {count} requests, {1000 * elapsed / count:.1f} ms each under the profiler, ")
        report.write(f"statuses {statuses}\n")
        pstats.Stats(profile, stream=report).sort_stats("cumulative").print_stats(35)
    out.write_text(report.getvalue())


if __name__ == "__main__":
    main()
