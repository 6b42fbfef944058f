"""Offline reports: actions counted at events and on paper, and their nightly recount.

An organizer's report counts as it is saved. A local group's, or one sent from an event's link on a tally
sheet, waits (`pending`) until an organizer approves it (`approve_offline_reports`, which adds it to the
ledger) or rejects it. A correction is always a new revision, so the history stays whoever entered it.

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
from campaign.models import ActionKind, ActionSource, Case, LocalGroup, OfflineReport

# The one lock held by everything that writes the "event" tallies: reports, corrections, reconciliation.
# Without it, the nightly reconciliation could count the reports, then see the tally of a report committed in
# between, and take it out again.
EVENT_TALLIES_LOCK = "ledger:event-tallies"
EVENT = ActionSource.EVENT.value


def _key(report: OfflineReport) -> TallyKey:
    return tally_key(report.case_id, report.kind, EVENT, report.country.code, report.day)


def _counted(report: OfflineReport) -> int:
    """What this revision adds to the ledger: its count once approved and current, else nothing."""
    return report.count if report.is_current and report.status == OfflineReport.Status.APPROVED else 0


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
    channel: str = OfflineReport.Channel.ORGANIZER,
    local_group: LocalGroup | None = None,
) -> OfflineReport:
    """Record actions counted at an event or on paper.

    An organizer's report (the default channel) is added to the ledger in the same transaction; a local
    group's or an event link's waits for an organizer (`approve_offline_reports`). Raises ValidationError
    (with a message for the person who typed it) on impossible values.
    """
    validate_offline_report(case, kind, day, count)
    advisory_lock(EVENT_TALLIES_LOCK)
    approved = channel == OfflineReport.Channel.ORGANIZER
    report = OfflineReport.objects.create(
        case=case,
        kind=kind,
        country=country or "",
        day=day,
        count=count,
        event_name=event_name,
        note=note,
        entered_by=entered_by,
        channel=channel,
        local_group=local_group,
        status=OfflineReport.Status.APPROVED if approved else OfflineReport.Status.PENDING,
    )
    if approved:
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
    """Replace a report by an organizer's corrected revision; the old one stays as history.

    The new revision is approved: correcting a report that waits for approval approves it as corrected
    (the group's own figures stay in the history). The ledger moves by the difference (what the old revision
    counted comes off its tally, the new one's goes on), in the same transaction. Correcting a revision that
    was already corrected raises ValidationError: the organizer was looking at an outdated page.
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
        channel=old.channel,
        local_group=old.local_group,
        status=OfflineReport.Status.APPROVED,
        decided_by=entered_by if old.status != OfflineReport.Status.APPROVED else old.decided_by,
        decided_at=timezone.now() if old.status != OfflineReport.Status.APPROVED else old.decided_at,
    )
    before = _counted(old)
    OfflineReport.objects.filter(pk=old.pk, is_current=True).update(is_current=False)
    old.is_current = False
    ledger.add_to_tallies([(_key(old), -before), (_key(new), count)])
    transaction.on_commit(ledger.refresh_totals)
    return new


@transaction.atomic
def approve_offline_reports(report_ids: list[int], *, decided_by: AbstractBaseUser | None) -> int:
    """Approve reports that wait for an organizer: each is added to the ledger in the same transaction.

    One conditional UPDATE decides: a report already approved, rejected or corrected meanwhile (an
    organizer in another tab) is left as it is and not counted twice. Returns how many were approved.
    """
    advisory_lock(EVENT_TALLIES_LOCK)
    approved = list(
        OfflineReport.objects.filter(pk__in=report_ids, is_current=True, status=OfflineReport.Status.PENDING)
        .select_for_update()
        .order_by("pk")
    )
    if not approved:
        return 0
    OfflineReport.objects.filter(pk__in=[r.pk for r in approved]).update(
        status=OfflineReport.Status.APPROVED, decided_by=decided_by, decided_at=timezone.now(), decision_note=""
    )
    ledger.add_to_tallies([(_key(r), r.count) for r in approved])
    transaction.on_commit(ledger.refresh_totals)
    return len(approved)


@transaction.atomic
def reject_offline_reports(report_ids: list[int], *, decided_by: AbstractBaseUser | None, reason: str = "") -> int:
    """Reject reports that wait for an organizer (they never counted); `reason` is shown to the group that
    sent them. Returns how many were rejected; one already decided is left as it is."""
    return OfflineReport.objects.filter(pk__in=report_ids, is_current=True, status=OfflineReport.Status.PENDING).update(
        status=OfflineReport.Status.REJECTED,
        decided_by=decided_by,
        decided_at=timezone.now(),
        decision_note=reason[:300],
    )


@transaction.atomic
def reconcile_offline_reports() -> int | None:
    """Make the "event" tallies exactly the sum of current, approved offline reports (the nightly repair of
    drift).

    Returns how many tallies changed, or None when another run holds the lock.
    """
    if not advisory_lock("reconcile:offline-reports", wait=False):
        return None
    advisory_lock(EVENT_TALLIES_LOCK)
    counts: dict[str, Counter[TallyKey]] = {kind: Counter() for kind in ActionKind.values}
    rows = (
        OfflineReport.objects.counted().values("case_id", "kind", "country", "day").annotate(n=Sum("count")).order_by()
    )
    for row in rows:
        key = tally_key(row["case_id"], row["kind"], EVENT, row["country"], row["day"])
        counts[row["kind"]][key] += row["n"]
    changed = sum(ledger.replace_tallies(kind, EVENT, counts[kind].items()) for kind in counts)
    if changed:
        transaction.on_commit(ledger.refresh_totals)
    return changed
