"""Printed packs (#13): a hand-over pack of 10,000 and 100,000 names and a letters pack of 1,000 letters with
200 drawings, each next to a baseline measured in the same run, with the worker's peak memory.

    createdb -h 127.0.0.1 -U postgres plume_bench_packs
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/plume_bench_packs .venv/bin/python -m bench.packs \\
        --out bench/results/packs.json

It migrates that database and loads the demo campaign (`seed_demo`), makes the signatures with SQL
(generate_series: names in five scripts, every one confirmed and counted) and the letters through the ORM
(approved, texts in several scripts, 200 with a drawing), then runs each pack in a fresh Python process
through `organizers.exports.base.run_export`, the function the Celery worker runs for an export job. The
child's peak resident memory (ru_maxrss, read when it exits) includes Django and WeasyPrint themselves: what
matters is that it stays the same for 10,000 and 100,000 names.

Baseline: WeasyPrint alone laying out the first 5,000 names as one document (one volume, no parts, no
joining): the pack's pages per second against it says what the parts, the joining and the ZIP cost, and its
memory what the parts save. Prints and writes one JSON object. QUICK=1 makes 20,000 names and 200 letters.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["Ana Lima", "Khaled Saïd", "خالد درارني", "张伟", "Иван Петров", "Jean-Luc Moreau"]
COUNTRIES = ["FR", "DZ", "GB", "DE", "ES", "IT", "MA", "TN", "SN", "CN", "BR", "MX", "US", "CA", "IN", "NG", "KE"]
LETTER_TEXTS = [
    ("en", "Stay strong, Khaled. The whole world is watching and we are with you, today and every day."),
    ("fr", "Nous pensons à vous chaque jour. Tenez bon : vous n'êtes pas seul, le monde entier vous soutient."),
    ("ar", "نحن معك يا خالد، لن ننساك أبدا. العالم كله يقف إلى جانبك ويطالب بحريتك."),
    ("zh-hans", "我们和你在一起。坚持下去，全世界都在关注你的案子。"),  # noqa: RUF001
    ("ru", "Мы с тобой, Халед! Держись, весь мир следит за твоим делом."),  # noqa: RUF001
    ("es", "Mucho ánimo. No estás solo: miles de personas en todo el mundo piden tu libertad."),
]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()


def pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return sum(len(PdfReader(io.BytesIO(archive.read(name))).pages) for name in archive.namelist())
    return len(PdfReader(path).pages)


# --- Children: one pack each, in a process of its own -------------------------------------------------------


def child_handover(case_id: int) -> dict:
    from django.contrib.auth import get_user_model

    from campaign.models import Case
    from organizers.exports.base import export_path, run_export
    from organizers.exports.handover import request_handover_pack

    job = request_handover_pack(
        requested_by=get_user_model().objects.get(username="bench-packs"), case=Case.objects.get(pk=case_id)
    )
    started = time.monotonic()
    job = run_export(job.pk)
    seconds = time.monotonic() - started
    if job is None:
        raise SystemExit("the hand-over pack failed")
    path = export_path(job)
    return {"seconds": seconds, "names": job.progress_done, "pages": pdf_pages(path), "file_mib": _mib(path)}


def child_letters(contact_id: int) -> dict:
    from django.contrib.auth import get_user_model

    from letters.models import FamilyContact
    from organizers.exports.base import export_path, run_export
    from organizers.exports.letters_pack import request_letters_pack

    job = request_letters_pack(
        requested_by=get_user_model().objects.get(username="bench-packs"),
        contact=FamilyContact.objects.get(pk=contact_id),
    )
    started = time.monotonic()
    job = run_export(job.pk)
    seconds = time.monotonic() - started
    if job is None:
        raise SystemExit("the letters pack failed")
    path = export_path(job)
    return {"seconds": seconds, "letters": job.progress_done, "pages": pdf_pages(path), "file_mib": _mib(path)}


def child_baseline(case_id: int, names: int) -> dict:
    """WeasyPrint alone: the same names, template and fonts, as one document."""
    from django.template.loader import render_to_string
    from django.utils import translation
    from django.utils.safestring import mark_safe
    from django_countries import countries

    from campaign.models import Case
    from organizers.exports import handover
    from organizers.exports.pdf import css_string, render_pdf
    from petitions.models import Signature

    case = Case.objects.select_related("campaign").get(pk=case_id)
    language = handover.authority_language(case)
    with translation.override(language):
        country_names = {code: str(name) for code, name in countries}
        rows = Signature.objects.for_authority(case).values_list("name", "country")[:names]
        listed = list(handover._names(rows, country_names))
        html = render_to_string(
            handover.TEMPLATE,
            {
                "case": case,
                "language": language,
                "direction": "rtl" if translation.get_language_bidi() else "ltr",
                "part": "names",
                "names": listed,
                "paper": "A4",
                "first_page": 1,
                "footer_css": mark_safe(css_string("bench")),  # noqa: S308,
            },
        )
    started = time.monotonic()
    data, pages = render_pdf(html)
    return {"seconds": time.monotonic() - started, "names": len(listed), "pages": pages, "file_mib": len(data) / 2**20}


def _mib(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 2)


# --- The parent: makes the data, runs the children ------------------------------------------------------------


def run_child(args: list[str], env: dict[str, str]) -> tuple[dict, float]:
    """One measurement in a fresh process; its result and its peak resident memory in MiB."""
    process = subprocess.Popen([sys.executable, "-m", "bench.packs", *args], stdout=subprocess.PIPE, cwd=ROOT, env=env)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench child {args} failed")
    return json.loads(output), round(usage.ru_maxrss / 1024, 1)


def make_signatures(case_id: int, rows: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM petitions_signature WHERE case_id = %s", [case_id])
        cursor.execute(
            """
            INSERT INTO petitions_signature (case_id, name, email, email_normalised, email_marker, country,
                language, wants_news, source, status, flagged, flag_rule, confirmed_at, counted_at, created_at,
                repeat_mails, mail_status, mail_attempts, mail_next_attempt_at, mail_sent_at, mail_last_error)
            SELECT %s, (%s::text[])[1 + i %% %s] || ' ' || i, '', '', '', (%s::text[])[1 + i %% %s], 'en', false,
                'paper', 'confirmed', false, '', now(), now(), now(), 0, 'none', 0, now(), NULL, ''
            FROM generate_series(1, %s) AS i
            """,
            [case_id, SCRIPTS, len(SCRIPTS), COUNTRIES, len(COUNTRIES), rows],
        )


def make_letters(case, count: int, drawings: int, media: Path) -> int:
    """`count` approved letters of `case`, `drawings` of them with a drawing; returns a contact reached by post."""
    from django.utils import timezone
    from PIL import Image, ImageDraw

    from letters.models import FamilyContact, Letter

    shapes = []
    for n in range(10):
        image = Image.new("RGB", (1200, 900), (250, 245, 235))
        draw = ImageDraw.Draw(image)
        rng = random.Random(n)
        for _ in range(60):
            x, y = rng.randrange(1200), rng.randrange(900)
            draw.ellipse((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)), outline=(20, 40, 120), width=6)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        shapes.append(out.getvalue())
    (media / "letters").mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    letters = []
    for n in range(count):
        language, text = LETTER_TEXTS[n % len(LETTER_TEXTS)]
        image = ""
        if n % (count // drawings) == 0 and sum(1 for x in letters if x.image) < drawings:
            image = f"letters/bench-{n}.jpg"
            (media / image).write_bytes(shapes[n % len(shapes)])
        letters.append(
            Letter(
                case=case,
                first_name=f"Writer{n}",
                country=COUNTRIES[n % len(COUNTRIES)],
                language=language,
                text=f"{text} ({n})" * (1 + n % 3),
                image=image,
                status=Letter.Status.APPROVED,
                moderated_at=now,
                text_hash=f"bench-{n}",
            )
        )
    Letter.objects.bulk_create(letters, batch_size=500)
    contact = FamilyContact.objects.create(
        case=case, name="Family (bench)", delivery="post", postal_address="Alger", language="fr"
    )
    return contact.pk


def parent(out: Path, quick: bool) -> dict:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from campaign.models import Campaign

    call_command("migrate", verbosity=0)
    if not Campaign.objects.filter(slug="write-for-rights-2020").exists():
        call_command("seed_demo", verbosity=0)
    get_user_model().objects.get_or_create(username="bench-packs")
    campaign = Campaign.objects.get(slug="write-for-rights-2020")
    case = campaign.cases.get(slug="khaled-drareni")
    letters_case = campaign.cases.get(slug="gustavo-gatica")
    media = Path(tempfile.mkdtemp(prefix="plume-bench-packs-"))
    env = {**os.environ, "PRIVATE_MEDIA_ROOT": str(media)}
    sizes = [2_000, 20_000] if quick else [10_000, 100_000]
    letters, drawings = (200, 40) if quick else (1_000, 200)
    results: dict = {"machine_load": os.getloadavg(), "handover": [], "authority_language": case.authority_language}

    make_signatures(case.pk, sizes[-1])
    baseline, peak = run_child(["baseline", str(case.pk), "5000"], env)
    baseline.update(peak_rss_mib=peak, pages_per_s=round(baseline["pages"] / baseline["seconds"], 2))
    results["baseline_weasyprint_5000_names"] = baseline
    print(json.dumps({"baseline": baseline}), file=sys.stderr)
    for size in sizes:
        make_signatures(case.pk, size)
        measured, peak = run_child(["handover", str(case.pk)], env)
        pages_per_s = measured["pages"] / measured["seconds"]
        measured.update(
            peak_rss_mib=peak,
            pages_per_s=round(pages_per_s, 2),
            names_per_s=round(measured["names"] / measured["seconds"]),
            ratio_to_baseline=round(pages_per_s / baseline["pages_per_s"], 2),
        )
        results["handover"].append(measured)
        print(json.dumps({"handover": measured}), file=sys.stderr)

    contact = make_letters(letters_case, letters, drawings, media)
    measured, peak = run_child(["letters", str(contact)], env)
    measured.update(drawings=drawings, peak_rss_mib=peak, pages_per_s=round(measured["pages"] / measured["seconds"], 2))
    measured["ratio_to_baseline"] = round(measured["pages_per_s"] / baseline["pages_per_s"], 2)
    results["letters"] = measured
    results["machine_load_after"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", default="parent", choices=["parent", "handover", "letters", "baseline"])
    parser.add_argument("ids", nargs="*", type=int)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "packs.json")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to a database of its own (see this script's docstring).")
    setup_django()
    if args.what == "parent":
        print(json.dumps(parent(args.out, os.environ.get("QUICK") == "1"), indent=2))
        return
    result = {"handover": child_handover, "letters": child_letters, "baseline": child_baseline}[args.what](*args.ids)
    result["peak_rss_self_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
