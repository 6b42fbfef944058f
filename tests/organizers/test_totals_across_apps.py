"""After a mixed run through every app (signatures signed on the page and confirmed, a flagged one, letters
written and moderated, paper sheets imported, an offline report corrected), the totals shown everywhere agree
with each other and with the rows that were counted."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaign.models import Tally
from letters.models import Letter, RejectionReason
from letters.services import moderation as letters_services
from organizers import offline_reports as campaign_services
from petitions.models import PaperImport, Signature
from petitions.services import counting, links
from petitions.services.paper import import_paper_signatures
from tests.conftest import total_shown

pytestmark = pytest.mark.django_db


def sign(client, case, name: str, email: str, country: str, **extra):
    page = client.get(case.get_absolute_url())
    started = page.content.decode().split('name="started" value="')[1].split('"')[0]
    return client.post(
        f"/en/petitions/{case.campaign.slug}/{case.slug}/sign/",
        {"name": name, "email": email, "country": country, "started": started, "website": "", **extra},
    )


def write(client, case, first_name: str, country: str, text: str):
    page = client.get(case.get_absolute_url())
    started = page.content.decode().split('name="started" value="')[-1].split('"')[0]
    return client.post(
        f"/en/letters/{case.campaign.slug}/{case.slug}/write/",
        {
            "addressed_to": "person",
            "first_name": first_name,
            "country": country,
            "language": "en",
            "text": text,
            "started": started,
            "website": "",
        },
    )


def mixed_run(client, demo_campaign, moderator, organizer, settings) -> dict[int, int]:
    """Act through every app; return the total each case should show."""
    settings.PETITION_MIN_SECONDS_TO_FILL = 0
    settings.LETTERS_MIN_SECONDS_TO_FILL = 0
    drareni = demo_campaign.cases.get(slug="khaled-drareni")
    sada = demo_campaign.cases.get(slug="nassima-al-sada")

    # Online signatures: four confirmed, one left pending, one a bot filled in (flagged, never counted).
    for i, (case, country) in enumerate(
        [(drareni, "FR"), (drareni, "DZ"), (drareni, "FR"), (sada, "SA"), (sada, "BE")]
    ):
        assert sign(client, case, f"Signer {i}", f"signer{i}@example.org", country).status_code == 302
    assert sign(client, drareni, "Bot", "bot@example.org", "FR", website="http://spam.example").status_code == 302
    for signature in Signature.objects.exclude(email="signer4@example.org").filter(flagged=False):
        assert links.confirm_signature(signature.pk)
    counting.count_signatures()

    # Letters: two approved (one to each case), one rejected, one still pending.
    texts = ["You are not alone.", "We think of you every day.", "Courage from Lyon.", "Solidarity from Rabat."]
    for case, text in zip([drareni, sada, drareni, sada], texts, strict=True):
        assert write(client, case, "Ana", "BR", text).status_code == 302
    letters = list(Letter.objects.order_by("pk"))
    assert letters_services.approve_letters([letters[0].pk, letters[1].pk], moderator) == 2
    letters_services.reject_letters([letters[2].pk], RejectionReason.objects.first(), moderator)

    # Paper sheets: counts per country from an event.
    today = timezone.localdate()
    paper = PaperImport(
        case=drareni, kind=PaperImport.Kind.COUNTS, event="Lycée Voltaire", day=today, uploaded_by=organizer
    )
    import_paper_signatures(paper, b"country,count\nFR,40\nBE,2\nXX,5\n")

    # An offline report, corrected once.
    report = campaign_services.record_offline_report(case=sada, kind="postcard", day=today, count=240, country="FR")
    campaign_services.correct_offline_report(report.pk, case=sada, kind="postcard", day=today, count=204, country="FR")

    # What each app's rows say should be counted.
    expected = {
        drareni.pk: 3 + 1 + 42,  # three confirmed online (bot and pending left out), one letter, 42 on paper
        sada.pk: 1 + 1 + 204,  # one confirmed online, one letter, the corrected report
    }
    return expected


def test_every_place_agrees_after_a_mixed_run(
    client, demo_campaign, moderator, organizer, organizer_client, settings, django_capture_on_commit_callbacks
):
    # The services refresh the cached totals when their transaction commits: run those callbacks as
    # production does (a test's transaction never commits).
    with django_capture_on_commit_callbacks(execute=True):
        expected = mixed_run(client, demo_campaign, moderator, organizer, settings)
    drareni = demo_campaign.cases.get(slug="khaled-drareni")
    sada = demo_campaign.cases.get(slug="nassima-al-sada")
    ledger_rows = {
        case.pk: Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"] or 0 for case in (drareni, sada)
    }
    assert ledger_rows == expected
    assert Tally.objects.exclude(case__in=[drareni, sada]).count() == 0

    # Every place that shows totals.
    dashboard = organizer_client.get("/en/staff/").context
    assert {r["case"].pk: r["total"] for r in dashboard["rows"] if r["total"]} == expected
    open_data = client.get("/api/v1/totals").json()
    assert {c["id"]: c["total"] for c in open_data["cases"] if c["total"]} == expected
    by_country = {c["id"]: c["by_country"] for c in open_data["cases"]}
    assert by_country[drareni.pk]["FR"]["total"] == 2 + 40
    minimal = client.get("/api/totals").json()
    assert {int(pk): entry["total"] for pk, entry in minimal["cases"].items()} == expected
    for case in (drareni, sada):
        assert total_shown(client.get(case.get_absolute_url()).content.decode(), case.pk) == expected[case.pk]

    # The nightly reconciliations agree with what was counted as it happened.
    assert counting.reconcile_signatures(wait_seconds=5) == 0
    assert letters_services.reconcile_letter_tallies() == 0
    assert campaign_services.reconcile_offline_reports() == 0
    assert {
        case.pk: Tally.objects.filter(case=case).aggregate(n=Sum("count"))["n"] for case in (drareni, sada)
    } == expected
