"""The next step after an action: a letter to the same person, or the open case with the fewest actions of that
kind, preferring letters in a language the person's family reads."""

from __future__ import annotations

import datetime

import pytest

from campaign.lib import ledger
from campaign.models import ActionKind, ActionSource
from letters.models import FamilyContact
from supporters.services.next_step import least_acted_case, next_steps

pytestmark = pytest.mark.django_db


def give(case, kind: str, n: int) -> None:
    ledger.add_to_tallies([(ledger.TallyKey(case.pk, kind, ActionSource.ONLINE, "FR", datetime.date(2026, 12, 1)), n)])


def test_after_signing_it_proposes_a_letter_to_the_same_person_then_the_least_signed_case(case, demo_campaign):
    others = list(demo_campaign.cases.exclude(pk=case.pk).order_by("display_order"))
    for n, other in enumerate(others):
        give(other, ActionKind.SIGNATURE, 100 + n)
    least = others[4]
    give(least, ActionKind.SIGNATURE, -100)
    give(least, ActionKind.LETTER, 5000)  # letters do not count for a petition
    ledger.refresh_totals()
    steps = next_steps(case, "signature", "en")
    assert [(s.kind, s.case, s.same_person) for s in steps] == [("letter", case, True), ("signature", least, False)]
    assert steps[0].url.endswith(f"/letters/{case.campaign.slug}/{case.slug}/write/")


def test_after_a_letter_it_prefers_a_case_whose_family_reads_the_language(case, demo_campaign):
    others = list(demo_campaign.cases.exclude(pk=case.pk))
    for other in others:
        give(other, ActionKind.LETTER, 50)
    give(others[0], ActionKind.LETTER, -40)  # the fewest letters, but its family reads French
    give(others[1], ActionKind.LETTER, 30)  # many letters, its family reads Arabic
    ledger.refresh_totals()
    FamilyContact.objects.create(case=others[0], name="Famille", email="f@example.org", language="fr")
    FamilyContact.objects.create(case=others[1], name="عائلة", email="a@example.org", language="ar")
    assert least_acted_case(case, "letter", "ar") == others[1]
    assert least_acted_case(case, "letter", "en") == others[0]
    assert [s.kind for s in next_steps(case, "letter", "ar")] == ["letter"]


def test_closed_petitions_and_cases_are_never_proposed(case, demo_campaign):
    from django.utils import timezone

    for other in demo_campaign.cases.exclude(pk=case.pk):
        other.petition_closed_at = timezone.now()
        other.save()
    assert least_acted_case(case, "signature", "en") is None
    case.closes_at = timezone.now()
    case.save()
    assert next_steps(case, "signature", "en") == []


def test_check_your_inbox_shows_the_next_step(client, case):
    html = client.get(f"/en/petitions/{case.campaign.slug}/{case.slug}/thanks/").content.decode()
    assert "One more thing you can do" in html and f"Write a message to {case.name}" in html
