"""The next step: after an action, the page proposes one more, so that attention spreads.

After signing (or a solidarity post): write a letter to the same person while letters are open, and sign for
the open case whose petition has received the fewest signatures. After a letter: write to the open case that
has received the fewest letters, preferring a case whose family reads the language of the page (as letters-now
does for prisoners). Read from the cached totals and two small queries; rendered with the page it is on and
cached with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from campaign.lib import ledger
from campaign.models import ActionKind, Case
from letters.models import FamilyContact

LETTER_KINDS = (ActionKind.LETTER, ActionKind.DRAWING)


@dataclass(frozen=True)
class Step:
    kind: str  # "letter" or "signature"
    case: Case
    url: str
    same_person: bool


def _letter_url(case: Case) -> str:
    return reverse("letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug})


def _sign_url(case: Case) -> str:
    return reverse("petitions:sign", kwargs={"campaign": case.campaign.slug, "case": case.slug})


def least_acted_case(case: Case, kind: str, language: str) -> Case | None:
    """The open case other than `case`, in any current campaign, that has received the fewest actions of `kind`
    ("signature" or "letter"); for letters, cases whose family reads `language` come first."""
    candidates = [
        other
        for other in Case.objects.public().select_related("campaign").exclude(pk=case.pk)
        if (other.petition_is_open() if kind == "signature" else other.is_open())
    ]
    if not candidates:
        return None
    totals = ledger.totals()["cases"]

    def received(other: Case) -> int:
        by_kind = totals.get(other.pk, {}).get("by_kind", {})
        kinds = LETTER_KINDS if kind == "letter" else (ActionKind.SIGNATURE,)
        return sum(by_kind.get(str(k), 0) for k in kinds)

    reads: set[int] = set()
    if kind == "letter":
        reads = set(
            FamilyContact.objects.filter(case__in=candidates, paused=False, language=language).values_list(
                "case_id", flat=True
            )
        )
    return min(candidates, key=lambda other: (other.pk not in reads, received(other), other.display_order, other.pk))


def next_steps(case: Case, after: str, language: str) -> list[Step]:
    """What to propose after an action of `after` ("signature", "post" or "letter") for `case`."""
    steps = []
    if after != "letter" and case.is_open():
        steps.append(Step("letter", case, _letter_url(case), True))
    kind = "letter" if after == "letter" else "signature"
    other = least_acted_case(case, kind, language)
    if other is not None:
        steps.append(Step(kind, other, _letter_url(other) if kind == "letter" else _sign_url(other), False))
    return steps
