"""The list of signatures for the authority as an export job: contents, COPY against Python, the admin page
that requests it, who may follow and download it. (A real worker writes it in test_export_worker.py.)"""

from __future__ import annotations

import csv
import dataclasses

import pytest
from django.contrib.auth.models import Permission
from openpyxl import load_workbook

from campaign.models import Case, ExportJob
from organizers.exports import base as exports
from organizers.exports.base import run_export_task
from organizers.exports.signatures import SIGNATURES
from tests.organizers.conftest import HOSTILE, LISTS_URL, expected_rows


def job_for(user, case: Case, format: str = "csv", country: str = "", language: str = "en") -> ExportJob:
    return ExportJob.objects.create(
        requested_by=user, kind="signatures", format=format, case=case, country=country, language=language
    )


def run(job: ExportJob) -> ExportJob:
    """Through the Celery task's own function, in this process."""
    run_export_task(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    return job


def read_csv(job: ExportJob) -> list[list[str]]:
    with exports.export_path(job).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def read_xlsx(job: ExportJob) -> list[list[str]]:
    book = load_workbook(exports.export_path(job), read_only=True)
    return [["" if v is None else v for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]


# --- Contents -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_writes_names_and_countries_only_neutralised_confirmed_and_of_that_case(signed, organizer):
    job = run(job_for(organizer, signed))
    rows = read_csv(job)
    assert rows[0] == ["Name", "Country"]
    assert rows[1:] == expected_rows()
    assert ['\'=HYPERLINK("http://evil","x")', "France"] in rows and ["'\rReturned", "Algeria"] in rows
    text = exports.export_path(job).read_text(encoding="utf-8-sig")
    assert "@example.org" not in text
    for left_out in ("Pending Person", "Flagged Person", "Invalid Person", "Other Case Person"):
        assert left_out not in text
    assert job.progress_done == job.progress_total == len(HOSTILE)


@pytest.mark.django_db
def test_it_keeps_to_one_country_when_asked(signed, organizer):
    rows = read_csv(run(job_for(organizer, signed, country="DZ")))
    assert rows[1:] == expected_rows("DZ") and {r[1] for r in rows[1:]} == {"Algeria"}


@pytest.mark.django_db
def test_postgresqls_copy_writes_the_same_rows_as_python_for_hostile_names(signed, organizer, monkeypatch):
    copies = []

    def counting_copy(job, path, every):
        copies.append(job.pk)
        return SIGNATURES.copy_csv(job, path, every)

    monkeypatch.setitem(exports.EXPORTERS, "signatures", dataclasses.replace(SIGNATURES, copy_csv=counting_copy))
    copied = run(job_for(organizer, signed, language="fr"))
    assert copies == [copied.pk]
    monkeypatch.setattr(exports, "can_copy", lambda: False)
    written = run(job_for(organizer, signed, language="fr"))
    assert copies == [copied.pk]  # the second one went through Python
    assert read_csv(copied) == read_csv(written)
    # In the requester's language: French country names.
    assert {r[1] for r in read_csv(copied)[1:]} == {"Algérie", "France"}
    assert [r[0] for r in read_csv(copied)[1:]] == [exports.neutralise(n) for n in HOSTILE]


@pytest.mark.django_db
def test_the_xlsx_file_has_the_same_rows_and_no_formula(signed, organizer):
    job = run(job_for(organizer, signed, format="xlsx"))
    assert job.download_name.startswith(f"plume-signatures-{signed.slug}-") and job.download_name.endswith(".xlsx")
    assert read_xlsx(job) == [["Name", "Country"], *expected_rows()]


@pytest.mark.django_db
def test_a_job_whose_case_was_deleted_is_left_alone(signed, organizer):
    unsigned = Case.objects.exclude(signatures__isnull=False).first()
    job = job_for(organizer, unsigned)
    unsigned.delete()
    assert not ExportJob.objects.filter(pk=job.pk).exists()
    assert exports.run_export(job.pk) is None


@pytest.mark.django_db
def test_a_signatures_export_needs_a_case_and_a_known_format(organizer, case):
    with pytest.raises(ValueError):
        exports.request_export(requested_by=organizer, kind="signatures", format="csv")
    with pytest.raises(ValueError):
        exports.request_export(requested_by=organizer, kind="signatures", format="pdf", case=case)
    assert not ExportJob.objects.exists()


# --- The admin page that requests it, and who sees it ---------------------------------------------------------


@pytest.mark.django_db
def test_an_organizer_prepares_the_csv_file_which_is_enqueued_after_commit(
    organizer_client, organizer, signed, django_capture_on_commit_callbacks
):
    page = organizer_client.get(LISTS_URL)
    assert page.status_code == 200 and "Prepare the CSV file" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = organizer_client.post(LISTS_URL, {"case": signed.pk, "country": "DZ", "format": "csv"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/staff/exports/{job.pk}/")
    assert (job.requested_by, job.kind, job.format, job.case, job.country) == (
        organizer,
        "signatures",
        "csv",
        signed,
        "DZ",
    )
    assert len(callbacks) == 1
    detail = organizer_client.get(f"/en/staff/exports/{job.pk}/").content.decode()
    assert "Signatures for the authority" in detail and "Algeria" in detail and signed.name in detail


@pytest.mark.django_db
def test_a_bad_request_is_explained_and_starts_nothing(organizer_client, signed):
    response = organizer_client.post(LISTS_URL, {"case": "999999", "country": "XX", "format": "pdf"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ExportJob.objects.exists()


@pytest.mark.django_db
def test_an_organizer_downloads_a_colleagues_file(organizer_client, superuser, signed):
    job = run(job_for(superuser, signed))
    status = organizer_client.get(f"/en/staff/exports/{job.pk}/status").json()
    assert status["status"] == "done" and status["download_url"]
    response = organizer_client.get(status["download_url"])
    assert response.status_code == 200
    assert f'filename="plume-signatures-{signed.slug}-' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("Name,Country")


@pytest.mark.django_db
def test_moderators_get_no_list_and_no_task(moderator_client, organizer, signed):
    job = run(job_for(organizer, signed))
    assert moderator_client.get(LISTS_URL).status_code == 403
    assert moderator_client.post(LISTS_URL, {"case": signed.pk, "format": "csv"}).status_code == 403
    for url in (
        f"/en/staff/exports/{job.pk}/",
        f"/en/staff/exports/{job.pk}/status",
        f"/en/staff/exports/{job.pk}/download",
    ):
        assert moderator_client.get(url).status_code == 403, url
    assert ExportJob.objects.count() == 1


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client, organizer, signed):
    job = run(job_for(organizer, signed))
    assert client.post(LISTS_URL, {"case": signed.pk, "format": "csv"})["Location"].startswith("/admin/login/")
    for url in (f"/en/staff/exports/{job.pk}/", f"/en/staff/exports/{job.pk}/download"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    assert ExportJob.objects.count() == 1


@pytest.mark.django_db
def test_who_may_export_totals_but_not_signatures_neither_sees_nor_downloads_the_list(
    client, django_user_model, organizer, signed
):
    totals_only = django_user_model.objects.create_user("totals-only", is_staff=True)
    totals_only.user_permissions.add(Permission.objects.get(codename="export_totals"))
    client.force_login(totals_only)
    job = run(job_for(organizer, signed))
    assert client.get(f"/en/staff/exports/{job.pk}/download").status_code == 403
    assert client.get(f"/en/staff/exports/{job.pk}/status").status_code == 403
    assert signed.name not in client.get("/en/staff/exports/").content.decode()
