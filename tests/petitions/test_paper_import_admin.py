"""Organizers upload paper petition sheets as CSV in the admin; rows are checked one by one."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaign.models import Tally
from petitions.models import PaperImport, Signature

from .conftest import make_signature

ADD = "admin:petitions_paperimport_add"


def upload(client, case, content: bytes, kind: str = "named", event: str = "Lyon market stall"):
    return client.post(
        reverse(ADD),
        {
            "case": case.pk,
            "kind": kind,
            "event": event,
            "day": "2026-12-10",
            "csv_file": SimpleUploadedFile("sheets.csv", content, content_type="text/csv"),
        },
    )


def test_it_counts_named_rows_and_reports_the_rejected_ones(organizer_client, organizer, case):
    make_signature(case, email="already@example.org")
    content = (
        "name,country,email\n"
        "Marie Curie,FR,\n"
        "خالد,Algeria,\n"
        "张伟,cn,zhang@example.org\n"
        ",FR,\n"
        "Nobody,Atlantis,\n"
        "Bad Mail,FR,not-an-address\n"
        "Again,FR,already@example.org\n"
        '=HYPERLINK("http://evil"),FR,\n'
    ).encode()
    response = upload(organizer_client, case, content)
    assert response.status_code == 302
    paper = PaperImport.objects.get()
    assert (paper.accepted, paper.rejected) == (4, 4)
    assert paper.uploaded_by == organizer
    reasons = [r["reason"] for r in paper.report]
    assert "Unknown or missing country" in reasons
    assert "Not a valid email address" in reasons
    assert "This address has already signed this petition" in reasons
    paper_signatures = Signature.objects.filter(source="paper")
    assert set(paper_signatures.values_list("country", flat=True)) == {"FR", "DZ", "CN"}
    assert all(s.status == "confirmed" and s.mail_status == "none" for s in paper_signatures)
    assert sum(Tally.objects.filter(source="paper").values_list("count", flat=True)) == 4

    report = organizer_client.get(response["Location"]).content.decode()
    assert "Atlantis" in report and "Unknown or missing country" in report


def test_it_counts_per_country_totals_for_an_event(organizer_client, case):
    content = b"country,count\nFR,120\nDZ,30\nFR,5\nZZ,3\nDE,lots\nDE,-4\n"
    upload(organizer_client, case, content, kind="counts")
    paper = PaperImport.objects.get()
    assert (paper.accepted, paper.rejected) == (155, 3)
    assert {(t.country, t.count, str(t.day)) for t in Tally.objects.filter(source="paper")} == {
        ("FR", 125, "2026-12-10"),
        ("DZ", 30, "2026-12-10"),
    }
    from petitions.services import counting

    assert counting.reconcile_signatures() == 0


def test_it_refuses_a_file_it_cannot_read_and_stores_nothing(organizer_client, case):
    for content, message in [
        (b"nom,pays\nMarie,FR\n", "missing: country, name"),
        ("name,country\nMarie,FR\n".encode("utf-16"), "not UTF-8"),
        (b"name,country\nMa\x00rie,FR\n", "null bytes"),
    ]:
        response = upload(organizer_client, case, content)
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not PaperImport.objects.exists()
    assert not Tally.objects.exists()


def test_it_keeps_moderators_out(moderator_client, case):
    assert moderator_client.get(reverse(ADD)).status_code == 403
    assert upload(moderator_client, case, b"name,country\nA,FR\n").status_code == 403
    assert not PaperImport.objects.exists()
