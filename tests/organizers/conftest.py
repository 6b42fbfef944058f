"""Ledger data for the organizers' tests, written the way the apps write it: through campaign.lib.ledger."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey


@pytest.fixture
def mixed_ledger(demo_campaign):
    """Signatures and letters online (as petitions and letters count them), paper signatures, for three
    cases, over the last ten days. Returns the list of (key, n) written."""
    today = timezone.localdate()
    cases = list(demo_campaign.cases.order_by("display_order")[:3])
    writes = []
    for offset in range(10):
        day = today - datetime.timedelta(days=offset)
        for i, case in enumerate(cases):
            writes += [
                (TallyKey(case.pk, "signature", "online", "DZ", day), 10 + i + offset),
                (TallyKey(case.pk, "signature", "online", "FR", day), 3 * i + 1),
                (TallyKey(case.pk, "signature", "online", "", day), 1),
                (TallyKey(case.pk, "letter", "online", "MA", day), offset % 3),
                (TallyKey(case.pk, "signature", "paper", "BE", day), 5 if offset == 4 else 0),
            ]
    ledger.add_to_tallies(writes)
    return writes


def wait_for_export(client, job, timeout: float = 60) -> dict:
    """Poll the export's status as its page does (client: an organizer's), until a worker finished or failed
    it; returns the last status, which the caller checks."""
    from tests.conftest import wait_until

    def finished():
        state = client.get(f"/en/staff/exports/{job.pk}/status").json()
        return state if state["status"] in ("done", "failed") else None

    return wait_until(finished, timeout=timeout, message=f"No worker finished export {job.pk} within {timeout}s")
