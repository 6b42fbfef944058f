"""Two organizers correcting the same report at the same moment: one correction wins, the ledger moves once."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from campaign.models import OfflineReport, Tally
from organizers import offline_reports as services

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_simultaneous_corrections_of_one_revision(demo_campaign):
    case = demo_campaign.cases.get(slug="khaled-drareni")
    today = timezone.localdate()
    first = services.record_offline_report(case=case, kind="letter", day=today, count=240, country="FR")
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def correct(count: int) -> None:
        try:
            barrier.wait(10)
            services.correct_offline_report(first.pk, case=case, kind="letter", day=today, count=count, country="FR")
            outcomes[count] = "saved"
        except ValidationError:
            outcomes[count] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=correct, args=(n,)) for n in (204, 250)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes.values()) == ["refused", "saved"]
    winner = next(n for n, outcome in outcomes.items() if outcome == "saved")
    current = OfflineReport.objects.get(is_current=True)
    assert current.count == winner and current.supersedes_id == first.pk
    assert OfflineReport.objects.count() == 2
    assert Tally.objects.get(case=case, source="event").count == winner
