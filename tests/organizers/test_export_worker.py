"""An export run by a real Celery worker, from the organizer's click to the downloaded file."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models import Sum

from campaign.models import ExportJob, Tally
from tests.organizers.conftest import wait_for_export


@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_the_export_and_the_organizer_downloads_it(
    start_worker, mixed_ledger, organizer_client, settings
):
    start_worker(PRIVATE_MEDIA_ROOT=str(settings.PRIVATE_MEDIA_ROOT))
    response = organizer_client.post("/en/staff/exports/", {"kind": "by_day", "format": "csv"})
    job = ExportJob.objects.get()
    assert response["Location"] == f"/en/staff/exports/{job.pk}/"
    state = wait_for_export(organizer_client, job)
    assert state["status"] == "done", state
    download = organizer_client.get(state["download_url"])
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert sum(int(r[7]) for r in rows[1:]) == Tally.objects.aggregate(n=Sum("count"))["n"]
    job.refresh_from_db()
    assert job.progress_done == len(rows) - 1 and job.file.startswith("exports/")
