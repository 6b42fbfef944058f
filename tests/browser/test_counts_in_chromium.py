"""Counts as a reader sees them in Chromium: Arabic's plural forms for 0, 1, 2, 3, 11 and 100 on the case page,
and numbers written as each page's language writes them on the case page, the home cards and the counter for
partner sites."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)


def count(case, **by_kind: int) -> None:
    from campaign.lib import ledger
    from campaign.models import Tally

    Tally.objects.filter(case=case).delete()
    ledger.add_to_tallies(
        (ledger.TallyKey(case.pk, kind, "online", "", timezone.localdate()), n) for kind, n in by_kind.items()
    )
    ledger.refresh_totals()


# n signatures and as many letters: what the total, the signatures and the letters say.
ARABIC = {
    0: ("0 إجراء حتى الآن", "0 توقيع", "0 رسالة"),
    1: ("إجراءان حتى الآن (2)", "توقيع واحد", "رسالة واحدة"),
    2: ("4 إجراءات حتى الآن", "توقيعان", "رسالتان"),
    3: ("6 إجراءات حتى الآن", "3 توقيعات", "3 رسائل"),
    11: ("22 إجراءً حتى الآن", "11 توقيعًا", "11 رسالةً"),
    100: ("200 إجراء حتى الآن", "100 توقيع", "100 رسالة"),
}


def test_arabic_counts_agree_with_their_nouns(live_server, page):
    call_command("seed_demo", verbosity=0)
    from campaign.models import Case

    case = Case.objects.get(slug="gustavo-gatica")
    for n, (total, signatures, letters) in ARABIC.items():
        count(case, signature=n, letter=n)
        page.goto(f"{live_server.url}/ar/write-for-rights-2020/gustavo-gatica/")
        shown = (
            page.locator(".plume-counts-total").inner_text(),
            page.locator(".plume-counts [data-kind=signature]").inner_text(),
            page.locator(".plume-counts [data-kind=letter]").inner_text(),
        )
        assert shown == (total, signatures, letters), n


NNBSP = "\u202f"
NUMBERS = {
    "en": ("12,345 signatures", "1,500 letters", "13,845 actions so far"),
    "fr": (f"12{NNBSP}345 signatures", f"1{NNBSP}500 lettres", f"13{NNBSP}845 actions à ce jour"),
    "es": ("12.345 firmas", "1500 cartas", "13.845 acciones hasta ahora"),
    "ar": ("12,345 توقيعًا", "1,500 رسالة", "13,845 إجراءً حتى الآن"),
}


@pytest.mark.parametrize("language", list(NUMBERS))
def test_numbers_are_written_as_the_page_s_language_writes_them(live_server, page, language):
    call_command("seed_demo", verbosity=0)
    from campaign.models import Case

    case = Case.objects.get(slug="gustavo-gatica")
    count(case, signature=12345, letter=1500)
    signatures, letters, total = NUMBERS[language]
    page.goto(f"{live_server.url}/{language}/write-for-rights-2020/gustavo-gatica/")
    assert page.locator(".plume-counts [data-kind=signature]").inner_text() == signatures
    assert page.locator(".plume-counts [data-kind=letter]").inner_text() == letters
    assert page.locator(".plume-counts-total").inner_text() == total
    # The goal too: "100000" beside "12,345" must not happen.
    assert page.locator(".plume-counts").inner_text().count("100") == 1
    assert "100000" not in page.locator(".plume-counts").inner_text()

    page.goto(f"{live_server.url}/{language}/")
    card = page.locator(".plume-case-card", has=page.locator(f"a[href$='/{case.slug}/']"))
    assert signatures in card.inner_text() and letters in card.inner_text()

    page.goto(f"{live_server.url}/{language}/embed/write-for-rights-2020/gustavo-gatica/")
    assert signatures in page.locator("body").inner_text()
