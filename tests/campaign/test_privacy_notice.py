"""docs/privacy.md tells people how long Plume keeps what: its retention table is walked against the code.

Every row that names a setting has a scenario here that makes the data, lets that long pass, runs the code the
row names and checks the data is gone (and still there just before). A row added to the notice without a
scenario, or a scenario whose row was removed or names other code, fails.
"""

from __future__ import annotations

import datetime
import importlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
NOTICE = ROOT / "docs" / "privacy.md"


def retention_rows() -> list[dict[str, str]]:
    """The rows of the notice's first table, by column name."""
    lines = NOTICE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| whose |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)))
    return rows


def setting_of(cell: str) -> tuple[str, int] | None:
    match = re.fullmatch(r"`([A-Z_]+)` \((\d+)\)", cell)
    return (match.group(1), int(match.group(2))) if match else None


def code_of(cell: str) -> str:
    match = re.match(r"`([\w.]+)`", cell)
    return match.group(1) if match else ""


SCENARIOS: dict[str, tuple[str, Callable]] = {}


def scenario(setting: str, done_by: str):
    def register(function: Callable) -> Callable:
        SCENARIOS[setting] = (done_by, function)
        return function

    return register


def test_every_row_names_code_that_exists_and_a_setting_with_its_default():
    rows = retention_rows()
    assert len(rows) > 10
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for row in rows:
        if code := code_of(row["done by"]):
            module, _, name = code.rpartition(".")
            assert hasattr(importlib.import_module(module), name), code
        if found := setting_of(row["setting"]):
            name, default = found
            # The operator sets it: a row of the README's configuration names it, with the same default.
            row = next(
                (line for line in readme.splitlines() if line.startswith(f"| `{name}`") or f"/ `{name}`" in line), ""
            )
            assert f"`{default}`" in row.split("|")[2], name


def test_every_setting_in_the_table_has_its_scenario_and_no_other():
    in_table = {
        setting_of(row["setting"])[0]: code_of(row["done by"]) for row in retention_rows() if setting_of(row["setting"])
    }
    assert {name: done_by for name, (done_by, _) in SCENARIOS.items()} == in_table


# --- The scenarios, one per row with a setting -------------------------------------------------------------

NOW = timezone.now()
DAY = datetime.timedelta(days=1)


def _signature(request, **fields):
    from tests.petitions.conftest import make_signature

    return make_signature(request.getfixturevalue("case"), **fields)


def _confirmed_on_a_closed_petition(request, wants_news: bool):
    from petitions.models import Signature

    signature = _signature(
        request, status=Signature.Status.CONFIRMED, confirmed_at=NOW - DAY, wants_news=wants_news, share_code="c0de" * 3
    )
    case = request.getfixturevalue("case")
    case.closes_at = NOW
    case.save()
    return signature


@scenario("PETITION_UNCONFIRMED_DAYS", "petitions.services.retention.forget_old_data")
def _unconfirmed(request):
    from petitions.models import Signature
    from petitions.services.retention import forget_old_data

    signature = _signature(request)
    days = settings.PETITION_UNCONFIRMED_DAYS
    forget_old_data(now=signature.created_at + (days - 1) * DAY)
    assert Signature.objects.filter(pk=signature.pk).exists()
    forget_old_data(now=signature.created_at + (days + 1) * DAY)
    assert not Signature.objects.filter(pk=signature.pk).exists()


def _erased_after_close(request, wants_news: bool, days: int):
    from petitions.services.retention import forget_old_data

    signature = _confirmed_on_a_closed_petition(request, wants_news)
    forget_old_data(now=NOW + (days - 1) * DAY)
    signature.refresh_from_db()
    assert signature.email and signature.email_normalised
    forget_old_data(now=NOW + (days + 1) * DAY)
    signature.refresh_from_db()
    assert (signature.email, signature.email_normalised) == ("", "")
    assert signature.share_code == ""  # the signer's share code goes with the address
    assert signature.name and signature.country  # the petition's record stays


@scenario("PETITION_EMAIL_DAYS_AFTER_CLOSE", "petitions.services.retention.forget_old_data")
def _confirmed(request):
    _erased_after_close(request, wants_news=False, days=settings.PETITION_EMAIL_DAYS_AFTER_CLOSE)


@scenario("PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE", "petitions.services.retention.forget_old_data")
def _news(request):
    _erased_after_close(request, wants_news=True, days=settings.PETITION_NEWS_EMAIL_DAYS_AFTER_CLOSE)


@scenario("PETITION_IP_RETENTION_DAYS", "petitions.services.retention.forget_old_data")
def _network_address(request):
    from petitions.services.retention import forget_old_data

    signature = _signature(request, ip="203.0.113.7")
    days = settings.PETITION_IP_RETENTION_DAYS
    forget_old_data(now=signature.created_at + (days - 1) * DAY)
    signature.refresh_from_db()
    assert signature.ip == "203.0.113.7"
    forget_old_data(now=signature.created_at + (days + 1) * DAY)
    signature.refresh_from_db()
    assert signature.ip is None


@scenario("PETITION_PAPER_REPORT_DAYS", "petitions.services.retention.forget_old_data")
def _paper_report(request):
    from petitions.models import PaperImport
    from petitions.services.retention import forget_old_data

    paper = PaperImport.objects.create(
        case=request.getfixturevalue("case"),
        event="Lycée Victor Hugo",
        day=NOW.date(),
        accepted=3,
        rejected=1,
        report=[{"line": 4, "row": "Ana Lima, a***@e***.org, FR", "reason": "..."}],
    )
    days = settings.PETITION_PAPER_REPORT_DAYS
    forget_old_data(now=paper.uploaded_at + (days - 1) * DAY)
    paper.refresh_from_db()
    assert paper.report
    forget_old_data(now=paper.uploaded_at + (days + 1) * DAY)
    paper.refresh_from_db()
    assert paper.report == [] and (paper.accepted, paper.rejected) == (3, 1)


@scenario("LETTERS_WRITER_EMAIL_DAYS", "letters.services.notices.send_delivery_notices")
def _writer_email(request):
    from letters.models import Letter
    from letters.services.notices import send_delivery_notices
    from letters.services.screening import text_fingerprint

    days = settings.LETTERS_WRITER_EMAIL_DAYS
    letters = [
        Letter.objects.create(
            case=request.getfixturevalue("case"),
            first_name="Ana",
            country="PT",
            language="en",
            text=f"Stay strong ({n}).",
            text_hash=text_fingerprint(f"Stay strong ({n})."),
            writer_email=f"ana{n}@example.org",
            writer_consent=True,
            created_at=NOW - age * DAY,
        )
        for n, age in enumerate((days - 1, days + 1))
    ]
    send_delivery_notices()
    kept, erased = (Letter.objects.get(pk=letter.pk) for letter in letters)
    assert kept.writer_email == "ana0@example.org"
    assert (erased.writer_email, erased.writer_consent) == ("", False)


@scenario("LETTERS_IMAGE_LINK_DAYS", "letters.services.digests.letter_for_image_token")
def _image_link(request):
    from django.core import signing
    from django.core.files.base import ContentFile

    from letters.models import Digest, DigestItem, FamilyContact, Letter
    from letters.services.digests import image_link_token, letter_for_image_token
    from letters.services.screening import text_fingerprint

    case = request.getfixturevalue("case")
    contact = FamilyContact.objects.create(case=case, name="Family", email="family@example.org", language="fr")
    letter = Letter(
        case=case,
        first_name="Ana",
        country="PT",
        language="en",
        text="A drawing for you.",
        text_hash=text_fingerprint("A drawing for you."),
        status=Letter.Status.APPROVED,
    )
    letter.image.save("drawing.jpg", ContentFile(b"not looked at"), save=False)
    letter.save()
    digest = Digest.objects.create(contact=contact, status=Digest.Status.SENT, letter_count=1)
    DigestItem.objects.create(digest=digest, letter=letter, contact=contact)
    token = image_link_token(letter.pk, contact.pk)
    assert letter_for_image_token(token) == letter

    patch = request.getfixturevalue("monkeypatch")
    days = settings.LETTERS_IMAGE_LINK_DAYS
    for age, works in ((days - 1, True), (days + 1, False)):
        later = NOW.timestamp() + age * 86400
        with patch.context() as m:
            m.setattr(signing.time, "time", lambda later=later: later)
            assert (letter_for_image_token(token) == letter) is works, age


@scenario("EXPORT_FILES_KEEP_HOURS", "organizers.exports.base.delete_expired_exports")
def _export_file(request):
    from campaign.models import ExportJob
    from organizers.exports.base import delete_expired_exports, export_path, run_export

    organizer = request.getfixturevalue("organizer")
    request.getfixturevalue("case")
    job = run_export(ExportJob.objects.create(requested_by=organizer, kind="by_case", format="csv").pk)
    path = export_path(job)
    assert path is not None and path.exists()
    hours = settings.EXPORT_FILES_KEEP_HOURS
    assert delete_expired_exports(now=job.finished_at + datetime.timedelta(hours=hours - 1)) == 0
    assert path.exists()
    assert delete_expired_exports(now=job.finished_at + datetime.timedelta(hours=hours, minutes=1)) == 1
    assert not path.exists()


@scenario("STAFF_SIGNIN_LOCKOUT_MINUTES", "campaign.tasks.forget_expired_signin_attempts")
def _failed_signins(request):
    from axes.models import AccessAttempt

    from campaign.tasks import forget_expired_signin_attempts

    client = request.getfixturevalue("client")
    request.getfixturevalue("moderator")
    client.post("/admin/login/?next=/admin/", {"username": "moderator", "password": "guess"})
    attempt = AccessAttempt.objects.get(username="moderator")
    minutes = settings.AXES_COOLOFF_TIME // datetime.timedelta(minutes=1)
    attempts = AccessAttempt.objects.filter(pk=attempt.pk)
    attempts.update(attempt_time=timezone.now() - datetime.timedelta(minutes=minutes - 1))
    assert forget_expired_signin_attempts() == 0
    attempts.update(attempt_time=timezone.now() - datetime.timedelta(minutes=minutes + 1))
    assert forget_expired_signin_attempts() == 1
    assert not AccessAttempt.objects.exists()


@scenario("SUPPORTERS_DATA_LINK_HOURS", "supporters.services.data.forget_data_requests")
def _data_request(request):
    from supporters.models import DataRequest
    from supporters.services.data import forget_data_requests

    asked = DataRequest.objects.create(email="ana@example.org")
    hours = datetime.timedelta(hours=settings.SUPPORTERS_DATA_LINK_HOURS)
    forget_data_requests(now=asked.created_at + hours - datetime.timedelta(minutes=1))
    assert DataRequest.objects.filter(pk=asked.pk).exists()
    forget_data_requests(now=asked.created_at + hours + datetime.timedelta(minutes=1))
    assert not DataRequest.objects.filter(pk=asked.pk).exists()


@scenario("SUPPORTERS_REFERRAL_COOKIE_DAYS", "petitions.sharing.referral_from")
def _referral_cookie(request):
    from django.core import signing
    from django.http import HttpResponse
    from django.test import RequestFactory

    from petitions import sharing

    case = request.getfixturevalue("case")
    response = HttpResponse()
    sharing.remember_referral(response, case, "whatsapp", "c0dec0dec0de")
    visit = RequestFactory().get("/")
    visit.COOKIES[sharing.COOKIE_NAME] = response.cookies[sharing.COOKIE_NAME].value
    patch = request.getfixturevalue("monkeypatch")
    days = settings.SUPPORTERS_REFERRAL_COOKIE_DAYS
    for age, kept in ((days - 1, ("whatsapp", "c0dec0dec0de")), (days + 1, ("", ""))):
        later = NOW.timestamp() + age * 86400
        with patch.context() as m:
            m.setattr(signing.time, "time", lambda later=later: later)
            assert sharing.referral_from(visit, case) == kept, age


# After the scenarios: the parameters are read when this line runs.
@pytest.mark.django_db
@pytest.mark.parametrize("setting", sorted(SCENARIOS))
def test_the_data_goes_when_the_notice_says(setting, request):
    _done_by, function = SCENARIOS[setting]
    function(request)
