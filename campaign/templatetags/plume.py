"""Numbers, counts and dates as the page's language writes them: `{% load plume %}` in any template.

- `{{ value|number }}`: a number in the page's language, by CLDR's rules (Babel): 1,500 in English, 1 500 in
  French, 1500 and 15.000 in Spanish, 1,500 in Arabic (Latin digits, as the case texts and Django's dates write
  them), as browsers' Intl.NumberFormat writes them too.
  Django's own `intcomma` does not group at all in Spanish and Arabic (their format files set no grouping),
  which gave "100000" beside "1,500".
- `{% case_counts case as counts %}`: what a case has counted, read from the ledger's cached totals (no query):
  `counts.total`, `counts.total_phrase` ("1 action so far", "1,500 actions so far", with the number in the
  element pages refresh, `data-total-for`) and `counts.kinds`, one `KindCount` a kind (signatures and letters
  always, the other kinds once they have any), each with its phrase ("1 signature", "2 letters").
- `{{ campaign.closes_at|last_day }}`: the last day something that closes at that moment is open, in TIME_ZONE
  (a campaign that closes at midnight on 1 January is open until 31 December).

Every phrase with a count goes through ngettext, so each language says it with its own plural forms (Arabic
has six: 0, 1, 2, 3 to 10, 11 to 99, 100 and up).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext

from campaign.lib import ledger
from campaign.models import ActionKind

register = template.Library()


@lru_cache(maxsize=32)
def _locale(language: str | None) -> Locale:
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


# CLDR's minimumGroupingDigits where it is 2 (Spanish writes 1500 but 15.000), which Babel does not apply. Browsers'
# Intl.NumberFormat does, and plume.js refreshes the totals with it: both must write a number alike.
_MINIMUM_GROUPING_DIGITS = {"es": 2}


def format_number(value: int | float | Decimal, language: str | None = None) -> str:
    """`value` as `language` (the active one when None) writes numbers, with Latin digits."""
    locale = _locale(language or get_language())
    grouping = _MINIMUM_GROUPING_DIGITS.get(locale.language, 1)
    return format_decimal(
        value, locale=locale, numbering_system="latn", group_separator=abs(value) >= 10 ** (2 + grouping)
    )


@register.filter(is_safe=True)
def number(value: object) -> object:
    """A number as the page's language writes it; anything that is not a number is left as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        try:
            value = int(str(value))
        except (TypeError, ValueError):
            return value
    return format_number(value)


def kind_phrase(kind: str, n: int, shown: str) -> str:
    """`n` actions of `kind` ("1 signature", "2 letters"), the number written as `shown`. The one place that
    names a count of each kind, so that pages, the counter for partner sites and mails agree."""
    rhs = {"n": n, "count": shown}
    if kind == ActionKind.SIGNATURE:
        return ngettext("%(count)s signature", "%(count)s signatures", n) % rhs
    if kind == ActionKind.LETTER:
        return ngettext("%(count)s letter", "%(count)s letters", n) % rhs
    if kind == ActionKind.POSTCARD:
        return ngettext("%(count)s postcard", "%(count)s postcards", n) % rhs
    if kind == ActionKind.DRAWING:
        return ngettext("%(count)s drawing", "%(count)s drawings", n) % rhs
    if kind == ActionKind.EMAIL:
        return ngettext("%(count)s email", "%(count)s emails", n) % rhs
    if kind == ActionKind.TWEET:
        return ngettext("%(count)s tweet", "%(count)s tweets", n) % rhs
    if kind == ActionKind.POST:
        return ngettext("%(count)s solidarity post started here", "%(count)s solidarity posts started here", n) % rhs
    return ngettext("%(count)s action", "%(count)s actions", n) % rhs


@dataclass(frozen=True)
class KindCount:
    kind: str
    n: int
    phrase: str


@dataclass(frozen=True)
class Counts:
    case_id: int
    total: int
    kinds: list[KindCount]

    @property
    def total_phrase(self) -> SafeString:
        return total_phrase(self)


@register.simple_tag
def total_phrase(counts: Counts, element: str = "strong") -> SafeString:
    """The total as a sentence ("1,500 actions so far"), its number in the element that plume.js refreshes
    (`data-total-for`): a <strong> on the pages, a <span> in the counter for partner sites."""
    shown = format_html('<{0} data-total-for="{1}">{2}</{0}>', element, counts.case_id, format_number(counts.total))
    sentence = ngettext("%(count)s action so far", "%(count)s actions so far", counts.total)
    return mark_safe(conditional_escape(sentence) % {"count": shown})  # noqa: S308 (both parts escaped)


# Always shown, even at zero: what every case page asks for. The others appear once a case has any.
_ALWAYS = (ActionKind.SIGNATURE, ActionKind.LETTER)


def counts_for(case_id: int, by_kind: dict[str, int], total: int) -> Counts:
    kinds = []
    for kind in ActionKind.values:
        n = by_kind.get(kind, 0)
        if n or kind in _ALWAYS:
            kinds.append(KindCount(kind, n, kind_phrase(kind, n, format_number(n))))
    return Counts(case_id, total, kinds)


@register.simple_tag
def case_counts(case) -> Counts:
    """A case's counts from the ledger's cached totals (at most TOTALS_CACHE_SECONDS old; no query)."""
    entry = ledger.totals()["cases"].get(case.pk, {})
    return counts_for(case.pk, entry.get("by_kind", {}), entry.get("total", 0))


@register.simple_tag
def goal_phrase(goal: int) -> str:
    """The goal as a sentence ("Goal: 100,000 actions"): Arabic's noun agrees with the number as for any count."""
    return ngettext("Goal: %(count)s action", "Goal: %(count)s actions", goal) % {"count": format_number(goal)}


@register.filter
def last_day(moment: datetime.datetime | None) -> datetime.date | None:
    """The last day, in TIME_ZONE, of something open until `moment` (exclusive): a campaign closing at midnight
    on 1 January is open until 31 December."""
    if moment is None:
        return None
    return timezone.localtime(moment - datetime.timedelta(microseconds=1)).date()
