"""Tally sheets for events: per case and language, blank or filled in for an event; the ask, two QR codes (the
case page, the event report form), numbered lines, and the headers the paper import reads back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from petitions.services import paper


def sheet(client, case, follow: bool = False, **params):
    query = {"case": case.pk, "language": "en", "format": "pdf", "lines": 25, **params}
    return client.get(reverse("organizers:tally-sheet"), query, follow=follow)


def text_of(response) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


@pytest.mark.parametrize(
    ("language", "ask", "headers"),
    [
        ("en", "Release him and drop all charges", ("name", "country")),
        ("fr", "Libérez-le", ("nom", "pays")),
        ("es", "", ("nombre", "país")),
        ("ar", "أطلقوا سراحه", ("الاسم", "البلد")),
    ],
)
def test_it_prints_the_ask_and_the_columns_the_import_reads_in_each_language(
    organizer_client, case, language, ask, headers
):
    response = sheet(organizer_client, case, language=language)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(text_of(response).split())
    if ask:
        assert ask in text
    for header in headers:
        assert header in text
    # What the sheet prints as headers is what the import reads back, in that language.
    assert paper._header_columns(list(headers), "named") == ["name", "country"]


def test_it_has_numbered_lines_and_two_qr_codes_and_prints_the_event(organizer_client, case, settings):
    response = sheet(organizer_client, case, lines=30, event="Lycée Victor Hugo", place="Lyon", day="2026-12-10")
    (Path(settings.PRIVATE_MEDIA_ROOT).parent / "tally-sheet.pdf").write_bytes(response.content)  # to look at
    text = text_of(response)
    assert "Lycée Victor Hugo" in text and "Lyon" in text
    lines = [int(word) for word in text.split() if word.isdigit()]
    assert set(range(1, 31)) <= set(lines)
    reader = PdfReader(io.BytesIO(response.content))
    # The QR codes are vector paths (segno's SVG): two drawings with hundreds of modules each.
    content = reader.pages[0].get_contents().get_data()
    assert content.count(b" re") + content.count(b" l\n") > 200


def test_a_blank_sheet_is_linked_from_the_paper_page_in_every_language(organizer_client, case):
    page = organizer_client.get(reverse("organizers:paper")).content.decode()
    for language in ("en", "fr", "es", "ar"):
        link = f"{reverse('organizers:tally-sheet')}?case={case.pk}&amp;language={language}&amp;format=pdf"
        assert link in page


def test_bad_parameters_get_a_message_not_an_error(organizer_client, case):
    response = sheet(organizer_client, case, lines=100000, follow=True)
    assert response.status_code == 200
    assert "The tally sheet cannot be made" in response.content.decode()
    response = organizer_client.get(reverse("organizers:tally-sheet"), {"case": "x"}, follow=True)
    assert "The tally sheet cannot be made" in response.content.decode()


def test_only_organizers_print_sheets(client, moderator, case):
    assert sheet(client, case).status_code == 302  # to the login page
    client.force_login(moderator)
    assert sheet(client, case).status_code == 403
