"""Exports run by a real Celery worker, from the organizer's click to the downloaded file: the totals by day
(written by PostgreSQL's COPY) and the list for the authority, requested from their pages, one worker for both."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models import Sum

from campaign.models import ExportJob, Tally
from tests.organizers.conftest import LISTS_URL, expected_rows, wait_for_export


def download(client, state: dict) -> list[list[str]]:
    response = client.get(state["download_url"])
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"), newline="")))


@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_the_exports_and_the_organizer_downloads_them(
    start_worker, mixed_ledger, signed, organizer_client, settings
):
    start_worker(PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT))
    response = organizer_client.post("/en/staff/exports/", {"kind": "by_day", "format": "csv"})
    totals = ExportJob.objects.get()
    assert response["Location"] == f"/en/staff/exports/{totals.pk}/"
    organizer_client.post(LISTS_URL, {"case": signed.pk, "format": "csv"})
    names = ExportJob.objects.exclude(pk=totals.pk).get()

    state = wait_for_export(organizer_client, totals)
    assert state["status"] == "done", state
    rows = download(organizer_client, state)
    assert sum(int(r[7]) for r in rows[1:]) == Tally.objects.aggregate(n=Sum("count"))["n"]
    totals.refresh_from_db()
    assert totals.progress_done == len(rows) - 1 and totals.file.startswith("exports/")

    state = wait_for_export(organizer_client, names)
    assert state["status"] == "done", state
    assert download(organizer_client, state) == [["Name", "Country"], *expected_rows()]
