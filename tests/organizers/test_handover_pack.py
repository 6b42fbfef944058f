"""The hand-over pack for the authority: the petition in the authority's language, the total and a table by
country, then the names and countries (never an email), numbered, in volumes; as an export job."""

from __future__ import annotations

import io
import re
import shutil
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from campaign.lib.outbox import MailStatus
from campaign.models import ExportJob
from organizers.exports import base as exports
from organizers.exports import handover
from petitions.models import Signature

from .conftest import HOSTILE


def sign(case, count: int, *, start: int = 0, country: str = "FR", email: bool = False) -> None:
    """`count` countable signatures, as a paper import stores them."""
    now = timezone.now()
    Signature.objects.bulk_create(
        Signature(
            case=case,
            name=f"Signer {n:05d}",
            email=f"signer{n}@example.org" if email else "",
            country=country,
            source=Signature.Source.PAPER,
            status=Signature.Status.CONFIRMED,
            confirmed_at=now,
            counted_at=now,
            mail_status=MailStatus.NONE,
        )
        for n in range(start, start + count)
    )


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def build(case, organizer, country: str = "", format: str = "pdf") -> ExportJob:
    job = handover.request_handover_pack(requested_by=organizer, case=case, country=country, format=format)
    done = exports.run_export(job.pk)
    assert done is not None, ExportJob.objects.get(pk=job.pk).error
    return done


def test_it_prints_the_petition_in_the_authoritys_language_with_every_name_numbered(case, organizer):
    case.authority_language = "fr"
    case.save()
    sign(case, 3, country="DZ", email=True)
    sign(case, 2, start=3, country="FR")
    job = build(case, organizer)
    path = exports.export_path(job)
    assert path.suffix == ".pdf" and job.progress_done == 5
    text = text_of(path.read_bytes())
    assert "Pétition pour Khaled Drareni" in text and "signée par 5 personnes" in text
    assert "Algérie" in text and "France" in text  # countries in French, in the table and the list
    for n in range(5):
        assert f"Signer {n:05d}" in text
    assert "@" not in text  # never an email
    numbers = [int(m) for m in re.findall(r"^(\d+) Signer", text, flags=re.MULTILINE)]
    assert numbers == [1, 2, 3, 4, 5]


def test_it_prints_an_arabic_pack_right_to_left_in_logical_order(case, organizer, tmp_path):
    assert case.authority_language == "ar"  # the demo's: Algeria's president
    sign(case, 2, country="DZ")
    six_scripts = "Ana Γιώργος Иван 张伟 שלום خالد"
    Signature.objects.filter(name="Signer 00001").update(name=six_scripts + " Signer 00001")
    path = exports.export_path(build(case, organizer))
    shutil.copy(path, tmp_path / "handover-ar.pdf")  # to look at its first page while developing
    text = text_of(path.read_bytes())
    assert "أطلقوا سراحه وأسقطوا جميع التهم عنه" in text  # the ask, as written in Arabic
    assert "رئيس الجمهورية الجزائرية الديمقراطية الشعبية" in text  # the authority
    assert "Signer 00000" in text and "Signer 00001" in text
    for word in six_scripts.split():  # a name in six scripts: every word of it, each in its own script
        assert word in text, word


@pytest.fixture
def english(case):
    case.authority_language = "en"
    case.save()
    return case


def test_a_large_petition_comes_in_volumes_numbered_across_them(english, case, organizer, monkeypatch):
    monkeypatch.setattr(handover, "VOLUME_NAMES", 40)
    monkeypatch.setattr(handover, "PART_NAMES", 15)
    sign(case, 95)
    job = build(case, organizer)
    path = exports.export_path(job)
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names == [f"khaled-drareni-{v}-of-3.pdf" for v in (1, 2, 3)]
        texts = [text_of(archive.read(name)) for name in names]
    numbers = [int(m) for text in texts for m in re.findall(r"^(\d+) Signer", text, flags=re.MULTILINE)]
    assert numbers == list(range(1, 96))
    assert "Volume 2 of 3" in texts[1] and "Signatures 41 to 80 of 95" in texts[1]
    response = exports.file_response(job, path)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith('.zip"')


def test_it_prints_one_country_and_hostile_names_as_text(english, case, organizer):
    from .conftest import confirmed

    for i, name in enumerate(HOSTILE[:-1]):
        confirmed(case, name, f"h{i}@example.org", country="DZ" if i % 2 else "FR")
    job = build(case, organizer, country="DZ")
    text = " ".join(text_of(exports.export_path(job).read_bytes()).split())
    assert "These are the signatures from Algeria." in text
    assert "+33 trick" in text and "@SUM(A1)" in text  # printed as written, never run
    assert "HYPERLINK" not in text  # a French signature: not in Algeria's list


def test_a_petition_without_signatures_is_a_well_formed_pack(english, case, organizer):
    job = build(case, organizer, format=exports.PDF_LETTER)
    reader = PdfReader(exports.export_path(job))
    assert "No signature yet." in reader.pages[1].extract_text()
    assert round(float(reader.pages[0].mediabox.width)) == 612


def test_organizers_ask_for_it_on_the_paper_page_and_others_cannot(organizer_client, client, moderator, case):
    response = organizer_client.post(reverse("organizers:handover-pack"), {"case": case.pk, "format": "pdf"})
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("organizers:export", args=[job.pk])
    assert (job.kind, job.case, job.format) == ("handover", case, "pdf")
    response = organizer_client.post(reverse("organizers:handover-pack"), {"case": 0, "format": "tiff"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    client.force_login(moderator)
    assert client.post(reverse("organizers:handover-pack"), {"case": case.pk, "format": "pdf"}).status_code == 403
    assert ExportJob.objects.count() == 1


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_paper_page_shows_every_part_to_organizers(organizer_client, case, language):
    page = organizer_client.get(f"/{language}/staff/paper/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="tally-sheet-form"' in body and 'id="handover-pack-form"' in body
