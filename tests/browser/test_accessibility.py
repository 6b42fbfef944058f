"""WCAG 2.1 A and AA checks of the public pages in Chromium, with axe-core (vendored in tests/vendor/).

Also what axe cannot see: every page works with the keyboard alone and without JavaScript.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js").read_text()
PAGES = [
    "/en/",
    "/en/write-for-rights-2020/khaled-drareni/",
    "/fr/write-for-rights-2020/germain-rukuki/",
    "/ar/",
    "/ar/write-for-rights-2020/nassima-al-sada/",
    "/en/privacy/",
    "/en/no-such-page/",
]


def axe_violations(page) -> list[str]:
    page.add_script_tag(content=AXE)
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['html'][:120]})" for v in result["violations"]
    ]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 375, "height": 740}])
def test_it_passes_wcag_aa_on_the_public_pages(live_server, browser, viewport):
    call_command("seed_demo", verbosity=0)
    # axe is injected as an inline script: test tooling the site's policy rightly refuses.
    context = browser.new_context(viewport=viewport, bypass_csp=True)
    page = context.new_page()
    try:
        problems = {}
        for path in PAGES:
            page.goto(live_server.url + path)
            if found := axe_violations(page):
                problems[path] = found
        assert problems == {}
    finally:
        context.close()


def test_it_reaches_a_case_with_the_keyboard_alone(live_server, page):
    call_command("seed_demo", verbosity=0)
    page.goto(live_server.url + "/en/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Khaled Drareni":
            break
    else:
        pytest.fail("The first case is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/khaled-drareni/")


def test_it_works_without_javascript(live_server, browser):
    call_command("seed_demo", verbosity=0)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/en/write-for-rights-2020/khaled-drareni/")
        page.locator("button[name=language][value=fr]").click()
        page.wait_for_url("**/fr/write-for-rights-2020/khaled-drareni/")
        assert page.locator("html").get_attribute("lang") == "fr"
    finally:
        context.close()
