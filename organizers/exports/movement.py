"""Exports of the whole movement: totals by section (this site's own ledger and each followed section's counted
figures, per case, kind and country) and totals by local group (their approved reports)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from campaign.models import ActionKind, Case, ExportJob, OfflineReport, Tally
from sections.models import Section, Snapshot

from .base import Exporter, neutralise

PERMISSION = "campaign.export_totals"
UNKNOWN = "unknown"


def _country_name(code: str) -> str:
    return str(countries.name(code)) if code and code != UNKNOWN else _("Unknown country")


def _section_rows(job: ExportJob) -> Iterator[tuple]:
    """(section, stale, received, case key, case name, kind, country, count), this site's first."""
    from django.conf import settings

    cases = Case.objects.select_related("campaign")
    if job.campaign_id:
        cases = cases.filter(campaign_id=job.campaign_id)
    names = {c.key: c.name for c in cases}
    keys = {c.pk: c.key for c in cases}
    own = (
        Tally.objects.filter(case_id__in=keys)
        .values("case_id", "kind", "country")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by("case_id", "kind", "country")
    )
    for row in own:
        key = keys[row["case_id"]]
        yield (
            settings.SECTIONS_OWN_NAME,
            False,
            None,
            key,
            names[key],
            row["kind"],
            row["country"] or UNKNOWN,
            row["n"],
        )
    counted = Snapshot.objects.current().select_related("section").filter(section__is_active=True)
    for snapshot in counted.order_by("section__name"):
        section: Section = snapshot.section
        stale = section.is_stale()
        for key, per_country in sorted(snapshot.counts.items()):
            if key not in names:
                continue
            for country, kinds in sorted(per_country.items()):
                for kind, n in sorted(kinds.items()):
                    yield (section.name, stale, snapshot.received_at, key, names[key], kind, country, n)


def _section_header() -> list[str]:
    return [
        _("Section"),
        _("Stale"),
        _("Figures received"),
        _("Case key"),
        _("Case"),
        _("Kind of action"),
        _("Country code"),
        _("Country"),
        _("Count"),
    ]


def _by_section(job: ExportJob) -> Iterator[list]:
    kinds = dict(ActionKind.choices)
    yield [neutralise(v) for v in _section_header()]
    for section, stale, received, key, name, kind, country, n in _section_rows(job):
        row = [
            section,
            _("yes") if stale else _("no"),
            received.isoformat(timespec="seconds") if received else "",
            key,
            name,
            str(kinds.get(kind, kind)),
            "" if country == UNKNOWN else country,
            _country_name(country),
            n,
        ]
        yield [neutralise(v) for v in row]


def _group_rows(job: ExportJob):
    reports = OfflineReport.objects.counted().filter(local_group__isnull=False)
    if job.campaign_id:
        reports = reports.filter(case__campaign_id=job.campaign_id)
    return (
        reports.values("local_group__name", "case__campaign__name", "case__name", "kind")
        .annotate(n=Sum("count"))
        .order_by("local_group__name", "case__campaign__name", "case__name", "kind")
    )


def _by_group(job: ExportJob) -> Iterator[list]:
    kinds = dict(ActionKind.choices)
    yield [neutralise(v) for v in [_("Local group"), _("Campaign"), _("Case"), _("Kind of action"), _("Count")]]
    for r in _group_rows(job):
        row = [r["local_group__name"], r["case__campaign__name"], r["case__name"], str(kinds.get(r["kind"])), r["n"]]
        yield [neutralise(v) for v in row]


BY_SECTION = Exporter(
    kind="by_section",
    label=gettext_lazy("The whole movement: totals by section, case, kind of action and country"),
    permission=PERMISSION,
    sheet_title=lambda: _("By section"),
    count=lambda job: sum(1 for _row in _section_rows(job)),
    rows=_by_section,
)
BY_GROUP = Exporter(
    kind="by_group",
    label=gettext_lazy("Local groups: approved totals by group, case and kind of action"),
    permission=PERMISSION,
    sheet_title=lambda: _("By local group"),
    count=lambda job: _group_rows(job).count(),
    rows=_by_group,
)
