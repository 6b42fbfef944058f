"""Offline reports: actions counted at events and on paper that organizers enter, and their nightly recount.

Views, the admin, tasks and commands all call these functions; none of them writes `OfflineReport` or the
"event" tallies any other way.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey, tally_key
from campaign.lib.locks import advisory_lock
from campaign.models import ActionKind, ActionSource, Case, OfflineReport

# The one lock held by everything that writes the "event" tallies: reports, corrections, reconciliation.
# Without it, the nightly reconciliation could count the reports, then see the tally of a report committed in
# between, and take it out again.
EVENT_TALLIES_LOCK = "ledger:event-tallies"
EVENT = ActionSource.EVENT.value


def _key(report: OfflineReport) -> TallyKey:
    return tally_key(report.case_id, report.kind, EVENT, report.country.code, report.day)


def validate_offline_report(case: Case, kind: str, day: datetime.date, count: int) -> None:
    """Raise ValidationError (a message for the organizer) on values no report can have. Forms call it too."""
    if kind not in ActionKind.values:
        raise ValidationError(_("Unknown kind of action."))
    if count < 0:
        raise ValidationError(_("The number of actions cannot be negative."))
    if day > timezone.localdate() + datetime.timedelta(days=1):
        raise ValidationError(_("The day of the actions cannot be in the future."))
    if day < case.campaign.opens_at.date() - datetime.timedelta(days=366):
        raise ValidationError(_("The day of the actions is long before the campaign opened."))


@transaction.atomic
def record_offline_report(
    *,
    case: Case,
    kind: str,
    day: datetime.date,
    count: int,
    country: str = "",
    event_name: str = "",
    note: str = "",
    entered_by: AbstractBaseUser | None = None,
) -> OfflineReport:
    """Record actions counted at an event or on paper, and add them to the ledger in the same transaction.

    Raises ValidationError (with a message for the organizer) on impossible values.
    """
    validate_offline_report(case, kind, day, count)
    advisory_lock(EVENT_TALLIES_LOCK)
    report = OfflineReport.objects.create(
        case=case,
        kind=kind,
        country=country or "",
        day=day,
        count=count,
        event_name=event_name,
        note=note,
        entered_by=entered_by,
    )
    ledger.add_to_tallies([(_key(report), count)])
    transaction.on_commit(ledger.refresh_totals)
    return report


@transaction.atomic
def correct_offline_report(
    report_id: int,
    *,
    case: Case,
    kind: str,
    day: datetime.date,
    count: int,
    country: str = "",
    event_name: str = "",
    note: str = "",
    entered_by: AbstractBaseUser | None = None,
) -> OfflineReport:
    """Replace a report by a corrected revision; the old one stays as history.

    The ledger moves by the difference (the old revision's count comes off its tally, the new one's goes
    on), in the same transaction. Correcting a revision that was already corrected raises ValidationError:
    the organizer was looking at an outdated page.
    """
    validate_offline_report(case, kind, day, count)
    advisory_lock(EVENT_TALLIES_LOCK)
    old = OfflineReport.objects.select_for_update().filter(pk=report_id).first()
    if old is None or not old.is_current:
        raise ValidationError(_("This report was corrected meanwhile: open its latest revision and try again."))
    new = OfflineReport.objects.create(
        case=case,
        kind=kind,
        country=country or "",
        day=day,
        count=count,
        event_name=event_name,
        note=note,
        entered_by=entered_by,
        supersedes=old,
    )
    OfflineReport.objects.filter(pk=old.pk, is_current=True).update(is_current=False)
    ledger.add_to_tallies([(_key(old), -old.count), (_key(new), count)])
    transaction.on_commit(ledger.refresh_totals)
    return new


@transaction.atomic
def reconcile_offline_reports() -> int | None:
    """Make the "event" tallies exactly the sum of current offline reports (the nightly repair of drift).

    Returns how many tallies changed, or None when another run holds the lock.
    """
    if not advisory_lock("reconcile:offline-reports", wait=False):
        return None
    advisory_lock(EVENT_TALLIES_LOCK)
    counts: dict[str, Counter[TallyKey]] = {kind: Counter() for kind in ActionKind.values}
    rows = (
        OfflineReport.objects.current().values("case_id", "kind", "country", "day").annotate(n=Sum("count")).order_by()
    )
    for row in rows:
        key = tally_key(row["case_id"], row["kind"], EVENT, row["country"], row["day"])
        counts[row["kind"]][key] += row["n"]
    changed = sum(ledger.replace_tallies(kind, EVENT, counts[kind].items()) for kind in counts)
    if changed:
        transaction.on_commit(ledger.refresh_totals)
    return changed
