# ruff: noqa: F811 (the letters fixtures imported below)
"""Letters packs for family contacts reached by post, as organizers get them: the PDF (its text read back with
pypdf, in logical order, every script), the drawings, the paper, the refusals, a full disk, the pages."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from campaign.models import ExportJob
from letters.models import FamilyContact, Letter, LetterPack, LetterTranslation
from organizers.exports import base as exports
from organizers.exports import letters_pack, pdf
from tests.letters.conftest import approved_letter, make_letter  # noqa: F401 (fixtures)

SCRIPTS = [
    # (first name, country, language, text)
    ("خالد", "DZ", "ar", "نحن معك يا خالد، لن ننساك أبدا"),
    ("Иван", "RU", "ru", "Мы с тобой, Халед! Держись."),  # noqa: RUF001
    ("伟", "CN", "zh-hans", "我们和你在一起。坚持下去！"),  # noqa: RUF001
    ("Yuki", "JP", "ja", "あなたは一人ではありません"),
    ("Ana", "PT", "en", "Courage Khaled, the whole world is with you — شجاعة"),
]


def pdf_pages(path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def image_file(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "navy").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def post_contact(case):
    return FamilyContact.objects.create(
        case=case,
        name="Ahmed Drareni",
        delivery="post",
        postal_address="12 rue Didouche Mourad\nAlger",
        language="fr",
    )


def build(contact, organizer, format="pdf") -> ExportJob:
    job = letters_pack.request_letters_pack(requested_by=organizer, contact=contact, format=format)
    done = exports.run_export(job.pk)
    assert done is not None, ExportJob.objects.get(pk=job.pk).error
    return done


def test_it_prints_each_letter_with_its_writer_in_logical_order_in_every_script(
    post_contact, organizer, approved_letter
):
    for first_name, country, language, text in SCRIPTS:
        approved_letter(first_name=first_name, country=country, language=language, text=text)
    job = build(post_contact, organizer)
    path = exports.export_path(job)
    assert path.suffix == ".pdf" and job.progress_done == len(SCRIPTS)
    pages = pdf_pages(path)
    cover, letters = flat(pages[0]), flat(" ".join(pages[1:]))
    assert "Khaled Drareni" in cover and "Ahmed Drareni" in cover and "Alger" in cover
    assert "5 messages" in cover and "5 pays" in cover  # in the contact's language
    for first_name, _country, _language, text in SCRIPTS:
        assert flat(text) in letters, text
        assert first_name in letters
    assert "Algérie" in letters and "Russie" in letters  # countries in the contact's language
    assert LetterPack.objects.get().status == "ready"


def test_it_lays_out_a_long_unbroken_word_drawings_of_any_shape_and_translations(
    post_contact, organizer, approved_letter, settings
):
    word = "x" * 1500
    approved_letter(first_name="Long", text=word)
    for n, size in enumerate([(2000, 4), (4, 2000), (1200, 900)]):
        letter = approved_letter(first_name=f"Drawer{n}", text=f"Drawing number {n}")
        letter.image.save(f"d{n}.jpg", io.BytesIO(image_file(size)))
    letter = approved_letter(first_name="Ana", language="en", text="Stay strong, Khaled")
    LetterTranslation.objects.create(letter=letter, language="fr", text="Tiens bon, Khaled")
    job = build(post_contact, organizer)
    reader = PdfReader(exports.export_path(job))
    text = "".join(page.extract_text() for page in reader.pages)
    assert word in re.sub(r"\s+", "", text)  # all of it, broken over lines, none cut off
    assert "Tiens bon, Khaled" in text and "Traduction" in text and "Stay strong, Khaled" in text
    # The three drawings, each laid out once (WeasyPrint shares one resource dictionary between a part's pages).
    assert len({image.data for page in reader.pages for image in page.images}) == 3
    for page in reader.pages:  # every page is A4
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_it_prints_on_us_letter(post_contact, organizer, approved_letter):
    approved_letter()
    job = build(post_contact, organizer, format=exports.PDF_LETTER)
    page = PdfReader(exports.export_path(job)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def test_a_full_disk_fails_the_pack_and_marks_nothing_printed(post_contact, organizer, approved_letter, monkeypatch):
    letters = [approved_letter() for _ in range(3)]
    job = letters_pack.request_letters_pack(requested_by=organizer, contact=post_contact)
    # The pack's file is /dev/full, where every write fails as on a full disk (ENOSPC from the kernel).
    monkeypatch.setattr(exports, "secrets", SimpleNamespace(token_urlsafe=lambda size: "full"))
    directory = exports.exports_dir()
    directory.mkdir(parents=True)
    (directory / f"{job.pk}-full.pdf.part").symlink_to("/dev/full")
    assert exports.run_export(job.pk) is None
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("DiskFull") and not job.file
    assert LetterPack.objects.get().status == "failed"
    assert set(Letter.objects.not_yet_printed_for(post_contact)) == set(letters)
    assert not list(directory.iterdir())  # no half-written file left behind
    # The next pack, on a disk with room again, carries the same letters.
    job = build(post_contact, organizer)
    assert LetterPack.objects.get(export_job=job).letter_count == 3


def test_the_pdf_engine_has_its_fonts_and_says_which_are_missing(monkeypatch):
    assert pdf.missing_parts() == []
    monkeypatch.setattr(pdf, "REQUIRED_FONTS", (*pdf.REQUIRED_FONTS, "Noto Sans Klingon"))
    [problem] = pdf.missing_parts()
    assert "Noto Sans Klingon" in problem and "apt-get install" in problem


def test_organizers_ask_for_a_pack_and_are_told_when_they_cannot(organizer_client, post_contact, approved_letter):
    url = reverse("organizers:letters-pack")
    response = organizer_client.post(url, {"contact": post_contact.pk, "format": "pdf"}, follow=True)
    assert "No approved letter waits to be printed for this contact." in response.content.decode()
    assert not ExportJob.objects.exists()

    approved_letter()
    response = organizer_client.post(url, {"contact": post_contact.pk, "format": "pdf-us"})
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("organizers:export", args=[job.pk])
    assert (job.kind, job.format, job.case_id) == ("letters_pack", "pdf-us", post_contact.case_id)
    # Asked twice at once: the second is refused while the first is being prepared.
    response = organizer_client.post(url, {"contact": post_contact.pk, "format": "pdf"}, follow=True)
    assert "A pack for this contact is being prepared" in response.content.decode()
    assert ExportJob.objects.count() == 1


def test_the_paper_page_lists_contacts_and_packs_and_records_a_handover(
    organizer_client, post_contact, organizer, approved_letter
):
    approved_letter(writer_email="ana@example.org", writer_consent=True)
    page = organizer_client.get(reverse("organizers:paper"))
    assert page.status_code == 200
    assert "Ahmed Drareni" in page.content.decode()
    job = build(post_contact, organizer)
    pack = LetterPack.objects.get()
    page = organizer_client.get(reverse("organizers:paper")).content.decode()
    assert reverse("organizers:export", args=[job.pk]) in page
    handover = reverse("organizers:letters-pack-handover", args=[pack.pk])
    assert handover in page
    response = organizer_client.post(handover, {"day": "2999-01-10", "note": "by hand"})
    assert response.status_code == 400 and "future" in response.content.decode()
    response = organizer_client.post(handover, {"day": "2026-12-01", "note": "by hand to his brother"}, follow=True)
    assert "The hand-over is recorded" in response.content.decode()
    pack.refresh_from_db()
    assert pack.status == "handed_over" and pack.handover_note == "by hand to his brother"
    assert Letter.objects.get().mail_status == "pending"


def test_the_download_is_a_pdf_for_organizers_only(
    organizer_client, client, moderator, post_contact, organizer, approved_letter
):
    approved_letter()
    job = build(post_contact, organizer)
    response = organizer_client.get(reverse("organizers:export-download", args=[job.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('.pdf"')
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    client.force_login(moderator)
    assert client.get(reverse("organizers:export-download", args=[job.pk])).status_code == 403
    assert client.post(reverse("organizers:letters-pack"), {"contact": post_contact.pk}).status_code == 403
