"""Letters packs built by real Celery workers: the organizer asks, a worker writes the PDF and the organizer
downloads it; and a worker SIGKILLed in the middle of a pack prints no letter twice and loses none.

The worker is held on the database, as in test_browser_export.py: its first progress report on the pack's
export waits on an advisory lock the test holds (a trigger on the job table), so the test kills it half-way
through the pack, at a moment it chose, with no race against the worker's speed."""

# ruff: noqa: F811 (the letters fixtures imported below)
from __future__ import annotations

import datetime
import io
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from campaign.models import ExportJob
from letters.models import FamilyContact, Letter, LetterPack, LetterPackItem
from letters.services import packs
from organizers.exports import letters_pack
from tests.conftest import wait_until
from tests.letters.conftest import approved_letter, make_letter  # noqa: F401 (fixtures)
from tests.organizers.conftest import wait_for_export

pytestmark = pytest.mark.django_db(transaction=True)

HOLD = 2**40 + 1313  # an advisory lock key of this test alone


@pytest.fixture
def post_contact(case):
    return FamilyContact.objects.create(
        case=case, name="Prison of El Harrach", delivery="post", postal_address="El Harrach, Alger", language="en"
    )


@pytest.fixture
def first_report_held() -> Iterator[None]:
    """While the test holds HOLD, a running export's first progress report waits for it."""
    table = ExportJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION test_hold_first_report() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.status = 'running' AND OLD.progress_done = 0 AND NEW.progress_done > 0 THEN
                    PERFORM pg_advisory_xact_lock({HOLD});
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_hold_first_report BEFORE UPDATE ON {table}
                FOR EACH ROW EXECUTE FUNCTION test_hold_first_report();
            SELECT pg_advisory_lock({HOLD});
            """
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT pg_advisory_unlock_all();
                DROP TRIGGER test_hold_first_report ON {table};
                DROP FUNCTION test_hold_first_report();
                """
            )


def held_at_first_report(job: ExportJob) -> bool:
    """Whether the worker's session waits on HOLD (its first progress report is blocked)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            [HOLD & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0] > 0


def printed_marks(client, job: ExportJob) -> list[str]:
    response = client.get(f"/en/staff/exports/{job.pk}/download")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    text = " ".join(page.extract_text() for page in reader.pages)
    return sorted(text.split("Pack letter ")[1:], key=str)


def test_a_worker_killed_half_way_through_a_pack_prints_no_letter_twice_and_loses_none(
    start_worker, settings, organizer, organizer_client, post_contact, approved_letter, first_report_held
):
    letters = [approved_letter(text=f"Pack letter {n:03d}") for n in range(60)]
    env = {"PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT)}
    doomed = start_worker(name="doomed", **env)
    response = organizer_client.post("/en/staff/paper/letters-pack/", {"contact": post_contact.pk, "format": "pdf"})
    first = ExportJob.objects.get()
    assert response["Location"] == f"/en/staff/exports/{first.pk}/"
    wait_until(lambda: held_at_first_report(first), timeout=60, message="the worker never reported progress")
    doomed.kill()  # 25 of 60 letters laid out, nothing published
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD])

    # While its lease runs, the pack holds its letters: nothing can be printed twice meanwhile.
    response = organizer_client.post(
        "/en/staff/paper/letters-pack/", {"contact": post_contact.pk, "format": "pdf"}, follow=True
    )
    assert "A pack for this contact is being prepared" in response.content.decode()
    # Its lease over (as beat's hourly run would find it), its letters go back and its export fails.
    assert packs.resolve_stale_packs(now=timezone.now() + packs.PACK_LEASE + datetime.timedelta(seconds=1)) == 1
    first.refresh_from_db()
    assert first.status == "failed" and not first.file
    assert Letter.objects.not_yet_printed_for(post_contact).count() == len(letters)

    start_worker(name="survivor", **env)
    organizer_client.post("/en/staff/paper/letters-pack/", {"contact": post_contact.pk, "format": "pdf"})
    second = ExportJob.objects.exclude(pk=first.pk).get()
    state = wait_for_export(organizer_client, second, timeout=120)
    assert state["status"] == "done", state
    marks = printed_marks(organizer_client, second)
    counts = Counter(mark.split()[0] for mark in marks)
    assert set(counts) == {f"{n:03d}" for n in range(60)} and max(counts.values()) == 1
    assert LetterPack.objects.filter(status="ready").count() == 1
    assert LetterPackItem.objects.filter(pack__status="ready").count() == 60
    assert letters_pack.count_letters(second) == 60
