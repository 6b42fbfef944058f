"""In Chromium: open the home page, open a case, switch to Arabic (right to left, the case's name in Arabic
script), French and Spanish, and stay on the same case."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_reads_a_case_and_switches_between_the_four_languages(live_server, page):
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    page.goto(live_server.url + "/en/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".plume-case-card").count() == 10

    page.get_by_role("link", name="Khaled Drareni").click()
    page.wait_for_url("**/en/write-for-rights-2020/khaled-drareni/")
    assert page.get_by_role("heading", level=1).inner_text() == "Khaled Drareni"

    page.locator("button[name=language][value=ar]").click()
    page.wait_for_url("**/ar/write-for-rights-2020/khaled-drareni/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.get_by_role("heading", name="ما نطالب به").is_visible()
    assert page.get_by_role("heading", level=1).inner_text() == "خالد درارني"
    # The RTL stylesheet really applies: the body's computed direction is right-to-left.
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"

    page.locator("button[name=language][value=fr]").click()
    page.wait_for_url("**/fr/write-for-rights-2020/khaled-drareni/")
    assert page.get_by_role("heading", name="Ce que nous demandons").is_visible()

    page.locator("button[name=language][value=es]").click()
    page.wait_for_url("**/es/write-for-rights-2020/khaled-drareni/")
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.get_by_role("heading", name="Qué pedimos").is_visible()
    assert page.locator(".plume-ask-text").inner_text() == "Libérelo y retire todos los cargos en su contra."
    assert page.locator("button[name=language][value=es]").get_attribute("aria-current") == "true"
