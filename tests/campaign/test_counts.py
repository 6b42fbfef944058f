"""Counts people understand: every kind of action with the total, each language's plural forms, numbers written
as the page's language writes them, on the case page, the home cards, the counter for partner sites, the JSON
and the organizers' dashboard; and the dates the campaign shows."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone, translation

from campaign.lib import ledger
from campaign.models import ActionKind, ActionSource, Tally
from campaign.templatetags.plume import counts_for, format_number, kind_phrase

pytestmark = pytest.mark.django_db

NNBSP = "\u202f"  # French groups digits with a narrow no-break space (CLDR), as browsers do


def count(case, **by_kind: int) -> None:
    """Put these counts in the ledger, all today (replacing what the case had), and refresh the cached totals."""
    Tally.objects.filter(case=case).delete()
    ledger.add_to_tallies(
        (ledger.TallyKey(case.pk, kind, ActionSource.ONLINE, "FR", timezone.localdate()), n)
        for kind, n in by_kind.items()
    )
    ledger.refresh_totals()


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", ["0", "7", "1,500", "12,345", "1,234,567"]),
        ("fr", ["0", "7", f"1{NNBSP}500", f"12{NNBSP}345", f"1{NNBSP}234{NNBSP}567"]),
        # Spanish leaves four digits alone (CLDR's minimum grouping), as Intl.NumberFormat does in the browser.
        ("es", ["0", "7", "1500", "12.345", "1.234.567"]),
        ("ar", ["0", "7", "1,500", "12,345", "1,234,567"]),
    ],
)
def test_it_writes_numbers_as_each_language_does(language, written):
    assert [format_number(n, language) for n in (0, 7, 1500, 12345, 1234567)] == written


# What a page says for n signatures: Arabic's six forms (0; 1; 2; 3 to 10; 11 to 99; 100 and up, by n % 100).
ARABIC_SIGNATURES = {
    0: "0 توقيع",
    1: "توقيع واحد",
    2: "توقيعان",
    3: "3 توقيعات",
    11: "11 توقيعًا",
    100: "100 توقيع",
    103: "103 توقيعات",
    111: "111 توقيعًا",
}


@pytest.mark.parametrize(("n", "phrase"), ARABIC_SIGNATURES.items())
def test_arabic_says_each_count_with_its_own_form(n, phrase):
    with translation.override("ar"):
        assert kind_phrase(ActionKind.SIGNATURE, n, format_number(n)) == phrase


@pytest.mark.parametrize(
    ("language", "phrases"),
    [
        ("en", ["0 letters", "1 letter", "2 letters"]),
        ("fr", ["0 lettre", "1 lettre", "2 lettres"]),
        ("es", ["0 cartas", "1 carta", "2 cartas"]),
    ],
)
def test_each_language_says_one_and_many_its_own_way(language, phrases):
    with translation.override(language):
        assert [kind_phrase(ActionKind.LETTER, n, str(n)) for n in (0, 1, 2)] == phrases


def test_the_total_never_says_1_actions():
    with translation.override("en"):
        assert "1</strong> action so far" in counts_for(5, {"signature": 1}, 1).total_phrase
        assert "2</strong> actions so far" in counts_for(5, {"signature": 2}, 2).total_phrase


def test_signatures_and_letters_are_always_named_and_other_kinds_once_they_have_any():
    counts = counts_for(5, {"post": 3}, 3)
    assert [k.kind for k in counts.kinds] == ["signature", "letter", "post"]


def test_the_case_page_shows_each_kind_with_the_total(client, case):
    count(case, signature=12345, letter=1, post=3)
    html = client.get(case.get_absolute_url()).content.decode()
    assert f'<strong data-total-for="{case.pk}">12,349</strong> actions so far' in html
    assert '<li data-kind="signature">12,345 signatures</li>' in html
    assert '<li data-kind="letter">1 letter</li>' in html
    assert '<li data-kind="post">3 solidarity posts started here</li>' in html
    assert 'data-kind="postcard"' not in html
    assert "Goal: 100,000 actions" in html


def test_the_case_page_is_rendered_anew_when_a_kind_moves_though_the_total_does_not(client, case):
    count(case, signature=5, letter=2)
    assert '<li data-kind="letter">2 letters</li>' in client.get(case.get_absolute_url()).content.decode()
    count(case, signature=6, letter=1)
    html = client.get(case.get_absolute_url()).content.decode()
    assert '<li data-kind="signature">6 signatures</li>' in html and '<li data-kind="letter">1 letter</li>' in html


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/es/", ["12.345 firmas", "1500 cartas", "13.845</strong> acciones hasta ahora"]),
        ("/fr/", [f"12{NNBSP}345 signatures", f"1{NNBSP}500 lettres", f"13{NNBSP}845</strong> actions à ce jour"]),
        ("/ar/", ["12,345 توقيعًا", "1,500 رسالة", "13,845</strong> إجراءً حتى الآن"]),
        ("/es/embed/write-for-rights-2020/khaled-drareni/", ["12.345 firmas", "1500 cartas"]),
        ("/ar/embed/write-for-rights-2020/khaled-drareni/", ["12,345 توقيعًا", "1,500 رسالة"]),
    ],
)
def test_the_home_cards_and_the_counter_for_partner_sites_count_in_the_page_s_language(client, case, path, shown):
    count(case, signature=12345, letter=1500)
    html = client.get(path).content.decode()
    for text in shown:
        assert text in html


def test_the_json_has_every_kind_of_every_case(client, case):
    count(case, signature=2, post=1)
    data = client.get("/api/totals").json()
    assert data["kinds"] == list(ActionKind.values)
    assert data["cases"][str(case.pk)] == {
        "total": 3,
        "by_kind": {kind: {"signature": 2, "post": 1}.get(kind, 0) for kind in ActionKind.values},
    }


def test_the_dashboard_counts_in_the_page_s_language(organizer_client, case):
    count(case, signature=12345, letter=1)
    spanish = organizer_client.get("/es/staff/").content.decode()
    assert ">12.346<" in spanish and ">12.345<" in spanish
    assert "Día de más actividad: 12.346 acciones" in spanish
    arabic = organizer_client.get("/ar/staff/").content.decode()
    assert ">12,346<" in arabic
    assert "100000" not in spanish + arabic  # the goals, grouped too


def test_the_home_page_names_the_last_day_the_campaign_is_open(client, demo_campaign, settings):
    settings.TIME_ZONE = "Europe/Paris"
    demo_campaign.closes_at = datetime.datetime(2030, 1, 1, tzinfo=timezone.get_current_timezone())
    demo_campaign.save()
    assert "Open until Dec. 31, 2029." in client.get("/en/").content.decode()
    assert "Abierta hasta el 31 de diciembre de 2029." in client.get("/es/").content.decode()


def test_a_campaign_not_open_yet_says_when_it_opens(client, demo_campaign):
    demo_campaign.opens_at = timezone.now() + datetime.timedelta(days=3)
    demo_campaign.closes_at = demo_campaign.opens_at + datetime.timedelta(days=40)
    demo_campaign.save()
    html = client.get("/fr/").content.decode()
    assert "Ouverture le " in html and "Cette campagne est close" not in html
