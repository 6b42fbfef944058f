"""Data for the organizers' tests, written the way the apps write it: the ledger through campaign.lib.ledger,
signatures through the petition's services; and the wait for an export a worker writes."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey
from campaign.models import Case
from organizers.exports import base as exports
from petitions.models import Signature
from petitions.services import invalidation, links
from tests.petitions.conftest import make_signature


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


# --- A petition signed by hostile names, for the lists for the authority -----------------------------------

LISTS_URL = "/en/staff/authority-lists/"

HOSTILE = [
    '=HYPERLINK("http://evil","x")',
    "+33 trick",
    "-2+3",
    "@SUM(A1)",
    "\tTabbed",
    "\rReturned",
    'Say "hello", friend',
    "Two\nlines",
    "خالد درارني",
    "Ana Lima",
    "",
]


def confirmed(case: Case, name: str, email: str, country: str = "FR") -> Signature:
    signature = make_signature(case, email=email, country=country)
    assert links.confirm_signature(signature.pk)
    # Straight into the row: the form would tidy some of these names, a paper import or an old row may not.
    Signature.objects.filter(pk=signature.pk).update(name=name)
    return signature


@pytest.fixture
def signed(case, demo_campaign):
    """Khaled Drareni's case signed (and confirmed) by HOSTILE names, from France and Algeria in turn; and what
    the list must leave out."""
    for i, name in enumerate(HOSTILE):
        confirmed(case, name, f"s{i}@example.org", country="DZ" if i % 2 else "FR")
    # Left out: waiting for confirmation, flagged, invalidated, and another case's.
    make_signature(case, email="pending@example.org", name="Pending Person")
    flagged = confirmed(case, "Flagged Person", "flagged@example.org")
    Signature.objects.filter(pk=flagged.pk).update(flagged=True)
    invalid = confirmed(case, "Invalid Person", "invalid@example.org")
    invalidation.invalidate_signatures(Signature.objects.filter(pk=invalid.pk))
    other = Case.objects.exclude(pk=case.pk).first()
    confirmed(other, "Other Case Person", "other@example.org")
    return case


def expected_rows(country: str = "") -> list[list[str]]:
    rows = []
    for i, name in enumerate(HOSTILE):
        code = "DZ" if i % 2 else "FR"
        if country and code != country:
            continue
        rows.append([exports.neutralise(name), {"DZ": "Algeria", "FR": "France"}[code]])
    return rows
