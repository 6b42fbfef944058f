"""Organizers upload paper petition sheets as CSV in the admin; rows are checked one by one."""

from __future__ import annotations

import datetime
import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from campaign.models import Tally
from petitions.models import PaperImport, Signature

from .conftest import make_signature

ADD = "admin:petitions_paperimport_add"
CHANGELIST = "admin:petitions_paperimport_changelist"
# One reason for every row refused for its address, whatever the cause: the report must not tell an uploader
# which addresses have signed.
EMAIL_REASON = "The email address cannot be used (not valid, twice in the file, or already used for this petition)"


def upload(client, case, content: bytes, kind: str = "named", event: str = "Lyon market stall", **headers):
    return client.post(
        reverse(ADD),
        {
            "case": case.pk,
            "kind": kind,
            "event": event,
            "day": "2026-12-10",
            "csv_file": SimpleUploadedFile("sheets.csv", content, content_type="text/csv"),
        },
        **headers,
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
        "=SUM(1+2),FR,\n"
    ).encode()
    response = upload(organizer_client, case, content)
    assert response.status_code == 302
    paper = PaperImport.objects.get()
    assert (paper.accepted, paper.rejected) == (4, 4)
    assert paper.uploaded_by == organizer
    reasons = [r["reason"] for r in paper.report]
    assert "Country “Atlantis” not recognised" in " ".join(reasons)
    assert EMAIL_REASON in reasons
    paper_signatures = Signature.objects.filter(source="paper")
    assert set(paper_signatures.values_list("country", flat=True)) == {"FR", "DZ", "CN"}
    assert all(s.status == "confirmed" and s.mail_status == "none" for s in paper_signatures)
    assert sum(Tally.objects.filter(source="paper").values_list("count", flat=True)) == 4

    report = organizer_client.get(response["Location"]).content.decode()
    assert "Atlantis" in html.unescape(report) and "not recognised" in report


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
        (b"prenom,ville\nMarie,Lyon\n", "missing: name, country"),
        ("name,country\nMarie,FR\n".encode("utf-16-le"), "null bytes"),
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


def test_it_gives_every_email_rejection_one_neutral_reason_and_keeps_no_address(organizer_client, case):
    make_signature(case, email="already@example.org")
    content = (
        b"name,country,email\n"
        b"Bad Mail,FR,not-an-address\n"
        b"Twice,FR,twice@example.org\n"
        b"Twice Again,FR,Twice@Example.org\n"
        b"Again,FR,already@example.org\n"
        b"Fine,FR,fine@example.org\n"
        b"Named ana@example.net,FR,\n"
    )
    response = upload(organizer_client, case, content)
    paper = PaperImport.objects.get()
    assert (paper.accepted, paper.rejected) == (2, 4)
    by_line = {r["line"]: r for r in paper.report}
    # The invalid address, the second of a pair and the one that signed already: indistinguishable.
    assert {by_line[n]["reason"] for n in (2, 4, 5)} == {EMAIL_REASON}
    stored = json.dumps(paper.report)
    for address in (
        "not-an-address",
        "twice@example.org",
        "Twice@Example.org",
        "already@example.org",
        "ana@example.net",
    ):
        assert address not in stored
    assert "a***@e***.org" in by_line[5]["row"] and "Again" in by_line[5]["row"]
    assert "a***@e***.net" in by_line[7]["row"]
    page = organizer_client.get(response["Location"]).content.decode()
    assert "already@example.org" not in page and "twice@" not in page.lower()


def test_it_refuses_names_with_links_or_phone_numbers_in_paper_rows(organizer_client, case):
    upload(organizer_client, case, b"name,country\nAna www.evil.example,FR\nCall 0612345678,FR\nAna Lima,FR\n")
    paper = PaperImport.objects.get()
    assert (paper.accepted, paper.rejected) == (1, 2)
    # Said to the organizer who typed the sheet up, not to a signer.
    assert [r["reason"][:40] for r in paper.report] == [
        "The name holds a web address (or a word ",
        "The name holds a phone number or another",
    ]


BAD_FILES = {
    "a field over 128 KB": (
        b'name,country\n"' + b"A" * (130 * 1024) + b'",FR\n',
        "La ligne 2 contient un champ de plus de 128 Ko",
    ),
    "binary": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "Ce fichier n'est pas un fichier CSV"),
    "a damaged workbook": (b"PK\x03\x04\x14\x00\x06\x00" + b"\xff" * 200, "Ce fichier est endommagé"),
    "old Excel": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200, "ancien fichier Excel (.xls)"),
    "no header": (b"Marie Curie,FR\n", "La première ligne doit nommer les colonnes"),
    "empty": (b"", "Le fichier soumis est vide."),
    "no rows": (b"name,country\n", "Le fichier ne contient aucune ligne sous la première"),
    "50 MB": (b"name,country\n" + b"Ana,FR\n" * (50 * 1024 * 1024 // 7), "Le fichier dépasse 10 Mo"),
}


@pytest.mark.parametrize("bad", BAD_FILES, ids=list(BAD_FILES))
def test_it_explains_a_bad_file_in_the_users_language_and_stores_nothing(organizer_client, case, bad):
    content, message = BAD_FILES[bad]
    response = upload(organizer_client, case, content, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not PaperImport.objects.exists()
    assert not Tally.objects.exists()


def _import_with_rejections(case, organizer, days_ago: int) -> PaperImport:
    from petitions.services import paper as paper_service

    paper = PaperImport(case=case, kind="named", event="Stall", day=datetime.date(2026, 12, 10), uploaded_by=organizer)
    paper_service.import_paper_signatures(paper, b"name,country\nNobody,Atlantis\nAna,FR\n")
    PaperImport.objects.filter(pk=paper.pk).update(uploaded_at=timezone.now() - datetime.timedelta(days=days_ago))
    return paper


def test_it_erases_import_reports_after_the_retention_time(case, organizer, settings):
    from petitions.services import retention

    settings.PETITION_PAPER_REPORT_DAYS = 30
    old = _import_with_rejections(case, organizer, days_ago=31)
    recent = _import_with_rejections(case, organizer, days_ago=29)
    assert retention.forget_old_data().paper_reports_erased == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.report, old.rejected, old.accepted) == ([], 1, 1)
    assert len(recent.report) == 1
    assert retention.forget_old_data().paper_reports_erased == 0


def test_a_superuser_erases_a_report_and_an_organizer_cannot(organizer_client, superuser_client, organizer, case):
    paper = _import_with_rejections(case, organizer, days_ago=1)
    action = {"action": "erase_reports", "_selected_action": [paper.pk]}
    organizer_client.post(reverse(CHANGELIST), action)
    paper.refresh_from_db()
    assert len(paper.report) == 1
    response = superuser_client.post(reverse(CHANGELIST), action)
    assert response.status_code == 302
    paper.refresh_from_db()
    assert (paper.report, paper.rejected) == ([], 1)
    page = superuser_client.get(reverse("admin:petitions_paperimport_change", args=[paper.pk])).content.decode()
    assert "The rejected rows were erased." in page


# Superusers may read the report; a lookup across to the signatures' addresses is refused to everyone (Django
# allows relations only through a declared filter).
@pytest.mark.parametrize(
    ("lookup", "for_superusers"),
    [("report__icontains=Atlantis", 200), ("report__contains=[]", 200), ("signatures__email__regex=^a", 400)],
)
def test_it_refuses_organizers_a_lookup_on_the_report_or_addresses(
    organizer_client, superuser_client, organizer, case, lookup, for_superusers
):
    _import_with_rejections(case, organizer, days_ago=1)
    assert organizer_client.get(reverse(CHANGELIST) + "?" + lookup).status_code == 400
    assert superuser_client.get(reverse(CHANGELIST) + "?" + lookup).status_code == for_superusers
    # A declared filter still works for organizers.
    assert organizer_client.get(reverse(CHANGELIST) + "?kind__exact=named").status_code == 200
