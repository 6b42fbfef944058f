"""Case packs: a campaign's cases exported from one installation and imported into another with the same keys; a
newer pack updates only what the section did not change itself and says what it left; what is wrong in a pack
(a missing photo, an unknown language, a hostile file name) is reported and the rest imported."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from campaign.models import Campaign, Case
from sections.models import CasePackImport
from sections.services import casepacks
from sections.services.casepack_import import import_case_pack, import_from_source
from tests.sections.conftest import KHALED, Answer

pytestmark = pytest.mark.django_db


def jpeg(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "JPEG")
    return out.getvalue()


def pack_of(campaign: Campaign) -> bytes:
    case = campaign.cases.get(key=KHALED)
    case.photo.save("khaled.jpg", ContentFile(jpeg()), save=True)
    return casepacks.export_case_pack(campaign)


def rewrite(pack: bytes, change=None, files: dict[str, bytes] | None = None, drop: tuple = ()) -> bytes:
    """The pack with its pack.json changed by `change(data)`, files added and files left out."""
    source = zipfile.ZipFile(io.BytesIO(pack))
    data = json.loads(source.read("pack.json"))
    if change:
        change(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            if info.filename not in ("pack.json", *drop):
                archive.writestr(info, source.read(info))
        for name, content in (files or {}).items():
            archive.writestr(name, content)
        archive.writestr("pack.json", json.dumps(data))
    return out.getvalue()


def newer(data: dict) -> None:
    data["revision"] = "2099-01-01T00:00:00+00:00"


def empty_installation() -> None:
    """As a section that never had the campaign."""
    Case.objects.all().delete()
    Campaign.objects.all().delete()


def test_a_section_gets_the_hubs_cases_with_the_same_keys(demo_campaign):
    texts = {c.key: (c.name_fr, c.ask_ar, c.authority_address_en) for c in demo_campaign.cases.all()}
    pack = pack_of(demo_campaign)
    empty_installation()
    row, report = import_case_pack(pack, source="pack.zip")
    assert row.status == "done", report.problems
    campaign = Campaign.objects.get(key="write-for-rights-2020")
    assert campaign.status == "draft"  # the section publishes it when ready
    assert report.campaign_created and len(report.created) == 10 and report.problems == []
    assert {c.key: (c.name_fr, c.ask_ar, c.authority_address_en) for c in campaign.cases.all()} == texts
    photo = Case.objects.get(key=KHALED).photo
    assert photo.name.startswith("cases/") and photo.read() == jpeg()


def test_a_newer_pack_updates_what_the_section_left_and_keeps_what_it_changed(demo_campaign):
    pack = pack_of(demo_campaign)
    empty_installation()
    import_case_pack(pack, source="v1")
    # The section rewrites one case's French summary; the hub then changes the ask and that summary.
    Case.objects.filter(key=KHALED).update(summary_fr="Notre propre texte.")

    def hub_changes(data: dict) -> None:
        newer(data)
        case = next(c for c in data["cases"] if c["key"] == KHALED)
        case["texts"]["ask"]["en"] = "Free him now."
        case["texts"]["summary"]["fr"] = "Le texte du hub."
        case["goal"] = 250000

    row, report = import_case_pack(rewrite(pack, hub_changes), source="v2")
    assert row.status == "done"
    case = Case.objects.get(key=KHALED)
    assert (case.ask_en, case.goal, case.summary_fr) == ("Free him now.", 250000, "Notre propre texte.")
    assert sorted(report.updated[KHALED]) == ["ask_en", "goal"]
    assert report.kept == {KHALED: ["summary_fr"]}
    assert "summary_fr" in str(row.report)


def test_a_pack_as_old_or_older_than_the_last_one_is_refused(demo_campaign):
    pack = pack_of(demo_campaign)
    empty_installation()
    import_case_pack(pack, source="v1")
    Case.objects.filter(key=KHALED).update(ask_en="Local text")
    again, report = import_case_pack(pack, source="v1 again")
    assert again.status == "failed" and report.problems[0]["code"] == "older"
    older, _ = import_case_pack(rewrite(pack, lambda d: d.update(revision="2001-01-01T00:00:00+00:00")), source="old")
    assert older.status == "failed"
    assert Case.objects.get(key=KHALED).ask_en == "Local text"


def test_a_pack_with_bad_parts_imports_the_rest_and_reports_them(demo_campaign, settings, tmp_path):
    pack = pack_of(demo_campaign)
    empty_installation()

    def damage(data: dict) -> None:
        cases = {c["key"]: c for c in data["cases"]}
        cases[KHALED]["photo"] = "photos/not-there.jpg"
        cases["write-for-rights-2020/nassima-al-sada"]["photo"] = "../../../etc/passwd"
        cases["write-for-rights-2020/gustavo-gatica"]["photo"] = "photos/script.jpg"
        cases["write-for-rights-2020/jani-silva"]["texts"]["summary"]["xx"] = "Texte en langue inconnue"
        cases["write-for-rights-2020/idris-khattak"]["key"] = "another-campaign/idris"
        cases["write-for-rights-2020/popi-qwabe-and-bongeka-phungula"]["texts"]["photo_alt"] = {"en": "x" * 500}

    hostile = {
        "photos/script.jpg": b"<script>alert(1)</script>",
        "../../evil.py": b"import os",
        "/etc/cron.d/evil": b"* * * * * root rm -rf /",
    }
    damaged = rewrite(pack, damage, hostile, drop=("photos/write-for-rights-2020-khaled-drareni.jpg",))
    files_before = set(tmp_path.rglob("*"))
    row, report = import_case_pack(damaged, source="x")
    assert row.status == "done"
    codes = sorted((p["code"], p["case"]) for p in report.problems)
    assert codes == [
        ("bad_key", "another-campaign/idris"),
        ("field", "write-for-rights-2020/popi-qwabe-and-bongeka-phungula"),
        ("language", "write-for-rights-2020/jani-silva"),
        ("photo_invalid", "write-for-rights-2020/gustavo-gatica"),
        ("photo_missing", KHALED),
        ("photo_name", "write-for-rights-2020/nassima-al-sada"),
    ]
    assert Case.objects.count() == 9
    popi = Case.objects.get(key="write-for-rights-2020/popi-qwabe-and-bongeka-phungula")
    assert not popi.photo_alt_en and popi.name_en and popi.summary_en  # the rest of that case came in
    assert not Case.objects.get(key=KHALED).photo
    # Nothing of the pack was written anywhere (no valid photo in it): not under the test's folder, which holds
    # MEDIA_ROOT, nor beside the code.
    assert set(tmp_path.rglob("*")) == files_before
    assert not Path("evil.py").exists() and not Path("../evil.py").exists()


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip",
        b"PK\x03\x04broken",
        json.dumps({"format": "plume-case-pack", "version": 2, "campaign": {}, "cases": []}).encode(),
        json.dumps({"format": "something else"}).encode(),
    ],
)
def test_what_is_not_a_pack_is_refused_and_recorded(demo_campaign, data):
    row, report = import_case_pack(data, source="upload")
    assert row.status == "failed" and report.problems
    assert CasePackImport.objects.get() == row


def test_the_commands_export_and_import_a_pack(demo_campaign, tmp_path, capsys):
    pack_of(demo_campaign)
    path = tmp_path / "pack.zip"
    call_command("export_case_pack", "write-for-rights-2020", str(path))
    empty_installation()
    call_command("import_case_pack", str(path))
    assert "Cases created" in capsys.readouterr().out
    assert Case.objects.filter(campaign__key="write-for-rights-2020").count() == 10


def test_a_pack_is_imported_from_its_address(demo_campaign, section_server, client):
    pack = pack_of(demo_campaign)
    published = client.get("/api/v1/case-packs/write-for-rights-2020.zip")
    assert published.status_code == 200 and published["Content-Type"] == "application/zip"
    section_server.answer = Answer(200, pack, {"Content-Type": "application/zip"})
    empty_installation()
    row, report = import_from_source(section_server.url("/pack.zip"))
    assert row.status == "done" and len(report.created) == 10
    section_server.answer = Answer(302, headers={"Location": "http://127.0.0.2:1/pack.zip"})
    refused, report = import_from_source(section_server.url("/moved.zip"))
    assert (refused.status, report.problems[0]["code"]) == ("failed", "fetch")


def test_an_organizer_imports_a_pack_in_the_admin_and_reads_its_report(demo_campaign, organizer_client):
    pack = pack_of(demo_campaign)
    empty_installation()
    response = organizer_client.post(
        "/admin/sections/casepackimport/add/", {"file": SimpleUploadedFile("pack.zip", pack)}, follow=True
    )
    assert response.status_code == 200
    assert "Cases created" in response.content.decode()
    assert Case.objects.count() == 10
    export = organizer_client.post("/admin/sections/casepackimport/export/", {"campaign": Campaign.objects.get().pk})
    assert export.status_code == 200 and export["Content-Type"] == "application/zip"
