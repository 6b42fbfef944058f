"""The totals' own exports: the ledger by case, kind, source, country and day, and summaries per case or per
country. Registered in OrganizersConfig.ready like every other kind (organizers/exports/base.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from campaign.models import ActionKind, ActionSource, Case, ExportJob, Tally

from .base import CHUNK_SIZE, Exporter, copy_to_csv, neutralise

PERMISSION = "campaign.export_totals"


class _Labels:
    """Names shown in the cells, looked up once per export rather than once per row."""

    def __init__(self) -> None:
        # Evaluated now, in the requester's language: spreadsheets take plain strings, not lazy ones.
        self.kinds = {value: str(label) for value, label in ActionKind.choices}
        self.sources = {value: str(label) for value, label in ActionSource.choices}
        self.cases = {c.pk: c for c in Case.objects.select_related("campaign")}
        self._countries: dict[str, str] = {}

    def country(self, code: str) -> str:
        if code not in self._countries:
            self._countries[code] = str(countries.name(code)) if code else _("Unknown")
        return self._countries[code]

    def case(self, case_id: int) -> tuple[str, str]:
        case = self.cases.get(case_id)
        return (str(case.campaign.name), case.name) if case else ("", str(case_id))


def _tallies(job: ExportJob) -> QuerySet:
    qs = Tally.objects.all()
    if job.campaign_id:
        qs = qs.filter(case__campaign_id=job.campaign_id)
    return qs


def _by_day_row(labels: _Labels, r: tuple) -> list:
    case_id, kind, source, country, day, count = r
    return [
        *labels.case(case_id),
        labels.kinds.get(kind, kind),
        labels.sources.get(source, source),
        country,
        labels.country(country),
        day,
        count,
    ]


def _by_case_row(labels: _Labels, r: tuple) -> list:
    case_id, kind, count = r
    return [*labels.case(case_id), labels.kinds.get(kind, kind), count]


def _by_country_row(labels: _Labels, r: tuple) -> list:
    country, kind, count = r
    return [country, labels.country(country), labels.kinds.get(kind, kind), count]


def _by_day_header() -> list[str]:
    return [
        _("Campaign"),
        _("Case"),
        _("Kind of action"),
        _("Source"),
        _("Country code"),
        _("Country"),
        _("Day"),
        _("Count"),
    ]


def _by_day_rows(job: ExportJob) -> QuerySet:
    # The ledger's own grain: one row per tally, straight from the table.
    return (
        _tallies(job)
        .filter(count__gt=0)
        .order_by("day", "case_id", "kind", "source", "country")
        .values_list("case_id", "kind", "source", "country", "day", "count")
    )


def _by_case_rows(job: ExportJob) -> QuerySet:
    return (
        _tallies(job)
        .values("case_id", "kind")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by("case__campaign_id", "case__display_order", "case_id", "kind")
        .values_list("case_id", "kind", "n")
    )


def _by_country_rows(job: ExportJob) -> QuerySet:
    return (
        _tallies(job)
        .values("country", "kind")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by("country", "kind")
        .values_list("country", "kind", "n")
    )


def _python_rows(
    header: Callable[[], list[str]], queryset: Callable[[ExportJob], QuerySet], row: Callable[[_Labels, tuple], list]
) -> Callable[[ExportJob], Iterator[list]]:
    def rows(job: ExportJob) -> Iterator[list]:
        labels = _Labels()
        yield [neutralise(v) for v in header()]
        for r in queryset(job).iterator(chunk_size=CHUNK_SIZE):
            yield [neutralise(v) for v in row(labels, r)]

    return rows


def _copy_by_day_csv(job: ExportJob, path: Path, every: int) -> int:
    labels = _Labels()
    campaigns = {str(pk): neutralise(labels.case(pk)[0]) for pk in labels.cases}
    cases = {str(pk): neutralise(labels.case(pk)[1]) for pk in labels.cases}
    kinds = {k: neutralise(v) for k, v in labels.kinds.items()}
    sources = {k: neutralise(v) for k, v in labels.sources.items()}
    names = {"": neutralise(labels.country(""))} | {code: neutralise(str(name)) for code, name in countries}
    # The tallies come from the Python path's own queryset (same filter, same order) and are sorted while
    # their rows are narrow; only then does each row get its labels, looked up in jsonb objects passed as
    # parameters (->> is a binary search). Joining the labels instead would keep no order, and sorting the
    # rows with their labels costs twice as much. The outer ORDER BY is the subquery's: PostgreSQL sorts
    # once, and the order of the file does not depend on the plan.
    tallies, tallies_params = _by_day_rows(job).query.sql_with_params()
    query = f"""
        SELECT COALESCE(%s::jsonb ->> t.case_id::text, ''), COALESCE(%s::jsonb ->> t.case_id::text, t.case_id::text),
               COALESCE(%s::jsonb ->> t.kind, t.kind), COALESCE(%s::jsonb ->> t.source, t.source),
               t.country, COALESCE(%s::jsonb ->> t.country, t.country), t.day, t.count
        FROM ({tallies}) t
        ORDER BY t.day, t.case_id, t.kind, t.source, t.country
    """  # noqa: S608
    params = [*(json.dumps(mapping) for mapping in (campaigns, cases, kinds, sources, names)), *tallies_params]
    header = [neutralise(v) for v in _by_day_header()]
    return copy_to_csv(job, path, every, query, params, header)


BY_DAY = Exporter(
    kind="by_day",
    label=gettext_lazy("Totals by case, kind of action, source, country and day"),
    permission=PERMISSION,
    sheet_title=lambda: _("Totals by day"),
    count=lambda job: _by_day_rows(job).count(),
    rows=_python_rows(_by_day_header, _by_day_rows, _by_day_row),
    copy_csv=_copy_by_day_csv,
)
BY_CASE = Exporter(
    kind="by_case",
    label=gettext_lazy("Summary per case and kind of action"),
    permission=PERMISSION,
    sheet_title=lambda: _("Per case"),
    count=lambda job: _by_case_rows(job).count(),
    rows=_python_rows(lambda: [_("Campaign"), _("Case"), _("Kind of action"), _("Count")], _by_case_rows, _by_case_row),
)
BY_COUNTRY = Exporter(
    kind="by_country",
    label=gettext_lazy("Summary per country and kind of action"),
    permission=PERMISSION,
    sheet_title=lambda: _("Per country"),
    count=lambda job: _by_country_rows(job).count(),
    rows=_python_rows(
        lambda: [_("Country code"), _("Country"), _("Kind of action"), _("Count")], _by_country_rows, _by_country_row
    ),
)
