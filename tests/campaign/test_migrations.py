"""campaign/migrations/0008 and 0009: existing editions and cases get their stable keys, and the names and postal
addresses written before they were translatable become the default language's text; letters/0005 writes the
seeded rejection reasons in every language Plume ships."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_keys_every_edition_and_case_and_keeps_their_names_and_addresses():
    old = migrate([("campaign", "0007_translated_authority")])
    OldCampaign, OldCase = old.get_model("campaign", "Campaign"), old.get_model("campaign", "Case")
    now = timezone.now()
    editions = [
        OldCampaign.objects.create(slug=slug, opens_at=now, closes_at=now + datetime.timedelta(days=40))
        for slug in ("w4r-2019", "w4r-2020")
    ]
    for edition in editions:
        OldCase.objects.create(
            campaign=edition, name="Khaled Drareni", slug="khaled-drareni", country="DZ", role="x",
            summary="x", ask="x", authority="x", authority_address="El Mouradia\nAlgiers",
        )  # fmt: skip

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from campaign.models import Campaign, Case

    assert sorted(Campaign.objects.values_list("key", flat=True)) == ["w4r-2019", "w4r-2020"]
    cases = Case.objects.order_by("key")
    assert [c.key for c in cases] == ["w4r-2019/khaled-drareni", "w4r-2020/khaled-drareni"]
    assert {(c.name_en, c.authority_address_en) for c in cases} == {("Khaled Drareni", "El Mouradia\nAlgiers")}


def test_it_writes_the_seeded_rejection_reasons_in_every_language():
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    from letters.models import FlaggedWord, RejectionReason

    reason = RejectionReason.objects.get(label_en="Could put the person or their family at risk")
    assert reason.label_fr == "Pourrait mettre la personne ou sa famille en danger"
    assert reason.label_es == "Podría poner en riesgo a la persona o a su familia"
    assert reason.label_ar == "قد يعرّض الشخص أو عائلته للخطر"
    assert not RejectionReason.objects.filter(label_es__isnull=True).exists()
    assert set(FlaggedWord.objects.values_list("language", flat=True)) == {"en", "fr", "es", "ar"}
