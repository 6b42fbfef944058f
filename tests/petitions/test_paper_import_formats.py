"""The paper import takes files as sections really have them: CSV with commas or semicolons, UTF-8 or
Windows-1252/Latin-1, headers and country names in any configured language or as codes, XLSX workbooks; and
row errors are written for the organizer who typed the sheets up."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from openpyxl import Workbook

from campaign.models import Tally
from petitions.models import PaperImport, Signature
from petitions.services import paper

from .test_paper_import_admin import upload


def imported(case, organizer, content: bytes, kind: str = "named") -> PaperImport:
    record = PaperImport(case=case, kind=kind, event="Stall", day=datetime.date(2026, 12, 10), uploaded_by=organizer)
    return paper.import_paper_signatures(record, content)


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_imports_the_european_sections_file_that_was_refused(organizer_client, case):
    """Semicolons, Windows-1252 (what Excel saves as "CSV" in France), French headers, "Algérie": the issue's
    file, through the admin."""
    content = "Nom;Pays;Courriel\r\nZoë Lefèvre;Algérie;\r\nRené Müller;ALLEMAGNE;\r\nGaëlle Noël;france;\r\n"
    response = upload(organizer_client, case, content.encode("cp1252"))
    assert response.status_code == 302, response.content.decode()[:2000]
    record = PaperImport.objects.get()
    assert (record.accepted, record.rejected) == (3, 0)
    assert set(Signature.objects.filter(source="paper").values_list("name", "country")) == {
        ("Zoë Lefèvre", "DZ"),
        ("René Müller", "DE"),
        ("Gaëlle Noël", "FR"),
    }


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("nombre,país\nJosé Álvarez,Argelia\nAna Lima,ESP\n", "utf-8"),
        ("الاسم;البلد\nخالد درارني;الجزائر\nAna Lima;Espagne\n", "utf-8-sig"),  # noqa: RUF001
        ("name\tcountry\nJosé Álvarez\tDZ\nAna Lima\tspain\n", "utf-16"),
        ("NAME , Country\nJosé Álvarez,algeria\nAna Lima,es\n", "latin-1"),
    ],
    ids=["spanish headers and names", "arabic with a byte-order mark", "utf-16 with tabs", "latin-1 loose headers"],
)
def test_it_reads_headers_and_countries_in_any_configured_language(case, organizer, content, encoding):
    record = imported(case, organizer, content.encode(encoding))
    assert (record.accepted, record.rejected) == (2, 0), record.report
    assert sorted(Signature.objects.filter(source="paper").values_list("country", flat=True)) == ["DZ", "ES"]


def test_it_reads_an_xlsx_workbook_of_named_rows(case, organizer):
    content = xlsx([["Nom", "Pays", "E-mail"], ["Marie Curie", "Pologne", None], ["张伟", "CN", "zhang@example.org"]])
    record = imported(case, organizer, content)
    assert (record.accepted, record.rejected) == (2, 0), record.report
    assert set(Signature.objects.filter(source="paper").values_list("country", flat=True)) == {"PL", "CN"}


def test_it_reads_counts_with_french_headers_from_a_workbook(case, organizer):
    """A French counts file's "nombre" is a count (in a Spanish named file it is the name)."""
    content = xlsx([["pays", "nombre"], ["Algérie", 120], ["Maroc", 30.0], ["Atlantide", 4]])
    record = imported(case, organizer, content, kind="counts")
    assert (record.accepted, record.rejected) == (150, 1)
    assert {(t.country, t.count) for t in Tally.objects.filter(source="paper")} == {("DZ", 120), ("MA", 30)}
    assert "Atlantide" in record.report[0]["reason"]


def test_row_errors_speak_to_the_organizer(case, organizer):
    long_name = "A" * 300
    content = f"name,country\n,FR\n{long_name},FR\nAna Lima,\nAna Lima,Atlantis\nAna (ana@example.org),FR\n".encode()
    record = imported(case, organizer, content)
    assert record.accepted == 0
    reasons = [r["reason"] for r in record.report]
    assert reasons[0] == "No name on this line"
    assert reasons[1].startswith("The name is longer than")
    assert reasons[2].startswith("No country on this line")
    assert reasons[3].startswith("Country “Atlantis” not recognised")
    assert reasons[4].startswith("The name holds an email address")
    assert "ana@example.org" not in str(record.report)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "damaged"),
        (b"%PDF-1.7\n", "not a CSV file"),
    ],
    ids=["damaged workbook", "pdf"],
)
def test_it_refuses_what_it_cannot_read_with_a_message(content, message):
    with pytest.raises(paper.PaperFileError, match=message):
        paper.check_paper_file(content, "named")


def test_it_refuses_a_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("content.xml", "<document/>")
    with pytest.raises(paper.PaperFileError, match="another document"):
        paper.check_paper_file(out.getvalue(), "named")


def test_it_refuses_a_workbook_that_expands_too_much(monkeypatch):
    content = xlsx([["name", "country"], ["Ana", "FR"]])
    monkeypatch.setattr(paper, "MAX_XLSX_EXPANDED_BYTES", 1000)
    with pytest.raises(paper.PaperFileError, match="too large once opened"):
        paper.check_paper_file(content, "named")


def test_it_finds_countries_by_code_or_name_in_every_language():
    for value in ("DZ", "dz", "DZA", "Algeria", "Algérie", "ALGERIE", "Argelia", "الجزائر", " algérie "):
        assert paper.find_country(value) == "DZ", value
    assert paper.find_country("Atlantis") == ""
    assert paper.find_country("") == ""
