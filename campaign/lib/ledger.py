"""The ledger: the one place every counted action goes through, whichever app counted it.

Apps fold what they count into `Tally` rows with `add_to_tallies` (inside the transaction that marks their
own rows as counted), repair drift with `replace_tallies`, and pages read `totals()`, which is cached and
never counts rows per page view.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from campaign.models import Tally

from .cache import ProcessCache, cached, store

log = logging.getLogger(__name__)

TOTALS_CACHE_KEY = "ledger:totals:v1"


class TallyKey(NamedTuple):
    """Where one counted action goes in the ledger. Build it with `tally_key`, the one place that decides
    which day an action counts on, so that every app's rollup, recount and correction agree."""

    case_id: int
    kind: str
    source: str
    country: str
    day: datetime.date


def tally_key(
    case_id: int, kind: str, source: str, country: str | None, when: datetime.datetime | datetime.date
) -> TallyKey:
    """The tally an action of `kind` from `source` and `country` counts in: the day is `when` (a confirmation,
    an approval, an event) in TIME_ZONE. An unknown country is ""."""
    day = timezone.localdate(when) if isinstance(when, datetime.datetime) else when
    return TallyKey(case_id, str(kind), str(source), str(country or ""), day)


def add_to_tallies(counts: Iterable[tuple[TallyKey, int]]) -> None:
    """Add counts to the ledger. Call it in the same transaction that marks the counted rows, so that a
    tally moves exactly when the rows it counts do."""
    merged: Counter[TallyKey] = Counter()
    for key, n in counts:
        merged[TallyKey(*key)] += n
    rows = [(*key, n) for key, n in merged.items() if n]
    if not rows:
        return
    table = Tally._meta.db_table
    # Additive upsert: bulk_create(update_conflicts=True) can only overwrite a count, not add to it.
    # Only the table name is formatted in, from the model; every value is a query parameter.
    sql = (
        "INSERT INTO {t} (case_id, kind, source, country, day, count) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (case_id, kind, source, country, day) DO UPDATE SET count = {t}.count + EXCLUDED.count"
    )
    sql = sql.format(t=table)
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@transaction.atomic
def replace_tallies(kind: str, source: str, counts: Iterable[tuple[TallyKey, int]]) -> int:
    """Make the ledger's tallies of one kind and source exactly `counts`, as recounted from the rows.

    For the nightly reconciliation; the caller holds the same lock as the task that adds to these tallies.
    Returns how many keys changed (the drift repaired).
    """
    wanted = {TallyKey(*key): n for key, n in counts if n}
    existing = {
        TallyKey(t.case_id, t.kind, t.source, t.country, t.day): t
        for t in Tally.objects.select_for_update().filter(kind=kind, source=source)
    }
    changed = 0
    for key, tally in existing.items():
        if key not in wanted:
            tally.delete()
            changed += 1
        elif tally.count != wanted[key]:
            tally.count = wanted[key]
            tally.save(update_fields=["count"])
            changed += 1
    new = [Tally(**key._asdict(), count=n) for key, n in wanted.items() if key not in existing]
    Tally.objects.bulk_create(new)
    return changed + len(new)


def compute_totals() -> dict:
    """Totals per case and kind, summed from the tallies (one query)."""
    cases: dict[int, dict] = {}
    for row in Tally.objects.values("case_id", "kind").annotate(n=Sum("count")).order_by():
        entry = cases.setdefault(row["case_id"], {"total": 0, "by_kind": {}})
        entry["by_kind"][row["kind"]] = row["n"]
        entry["total"] += row["n"]
    return {
        "cases": cases,
        "total": sum(c["total"] for c in cases.values()),
        "computed_at": timezone.now().isoformat(),
    }


# Read by nearly every page: also kept a second in each process (campaign.lib.cache.ProcessCache).
_totals = ProcessCache(seconds=1.0)


def refresh_totals() -> dict:
    """Recompute the totals and put them in the cache. Called by the tasks that fold new actions in."""
    data = compute_totals()
    store(TOTALS_CACHE_KEY, data, settings.TOTALS_CACHE_SECONDS)
    _totals.forget()
    return data


def totals() -> dict:
    """The cached totals, at most TOTALS_CACHE_SECONDS (and a second) old: what pages and the public JSON show."""
    return _totals.get(
        TOTALS_CACHE_KEY, lambda: cached(TOTALS_CACHE_KEY, compute_totals, settings.TOTALS_CACHE_SECONDS)
    )


def case_total(case_id: int) -> int:
    return totals()["cases"].get(case_id, {}).get("total", 0)
