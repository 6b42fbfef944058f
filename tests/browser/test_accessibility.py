"""Accessibility in Chromium, on every public page and every organizers' page:

- axe-core's WCAG 2.1 A and AA checks (vendored in tests/vendor/) pass on a phone and on a desktop, in English
  and Arabic (right to left), French and Spanish; each page in the states supporters meet it
  (a case open, closed and with good news; a signature waiting and confirmed);
- with the keyboard alone, Tab reaches every control of every page, once and in reading order, skip link
  first, and comes back round (no trap); Enter follows a link;
- the language switcher works without JavaScript (signing without JavaScript: tests/petitions).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js").read_text()
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
CAMPAIGN = "write-for-rights-2020"
# The demo's cases: Nassima al-Sada's has good news (seed_demo writes the outcomes), the other two have none.
OPEN, CLOSED, GOOD_NEWS = "gustavo-gatica", "jani-silva", "nassima-al-sada"


@dataclass(frozen=True)
class Page:
    path: str  # without the language prefix
    shows: str = "main"  # a selector that tells the page is in the state meant (whatever the language)
    status: int = 200


SIGN_FORM = 'form[action$="/sign/"]'
A_BUTTON = "main form [type=submit]"
NO_FORM = "main:not(:has(form))"


@pytest.fixture
def pages(organizer) -> list[Page]:
    """Every page to check, in each state supporters meet it: a case open, closed and with good news, a
    signature waiting and confirmed (with the links their mails carry), an export."""
    from campaign.models import Case, ExportJob
    from organizers.exports import base as exports
    from petitions.services import links
    from tests.petitions.conftest import make_signature

    call_command("seed_demo", verbosity=0)
    Case.objects.filter(slug=CLOSED).update(closes_at=timezone.now() - datetime.timedelta(days=1))
    assert Case.objects.get(slug=GOOD_NEWS).status == Case.Status.GOOD_NEWS
    case = Case.objects.get(slug=OPEN, status=Case.Status.ACTIVE)
    pending = make_signature(case, email="pending@example.org")
    confirmed = make_signature(case, email="confirmed@example.org", wants_news=True)
    assert links.confirm_signature(confirmed.pk)
    job = exports.run_export(ExportJob.objects.create(requested_by=organizer, kind="by_case", format="csv").pk)
    assert job is not None
    return [
        Page(""),
        Page(f"{CAMPAIGN}/{OPEN}/", shows=f"main:has({SIGN_FORM}):not(:has(.plume-good-news))"),
        Page(f"{CAMPAIGN}/{CLOSED}/", shows=f"main:not(:has({SIGN_FORM})):not(:has(.plume-good-news))"),
        Page(f"{CAMPAIGN}/{GOOD_NEWS}/", shows=".plume-good-news"),
        Page("privacy/"),
        Page(f"petitions/{CAMPAIGN}/{OPEN}/sign/", shows=SIGN_FORM),
        Page(f"petitions/{CAMPAIGN}/{OPEN}/thanks/", shows=NO_FORM),  # check your inbox
        Page(f"petitions/confirm/{links.confirmation_token(pending.pk)}/", shows=A_BUTTON),
        Page(f"petitions/confirm/{links.confirmation_token(confirmed.pk)}/", shows=NO_FORM),  # its thanks
        Page("petitions/new-link/", shows=A_BUTTON),
        Page(f"petitions/not-me/{links.removal_token(pending.pk)}/", shows=A_BUTTON),
        Page(f"petitions/no-more-news/{links.news_token(confirmed.pk)}/", shows=A_BUTTON),
        Page(f"letters/{CAMPAIGN}/{OPEN}/write/", shows='form[action$="/write/"]'),
        Page("no-such-page/", status=404),
        Page("staff/", shows="main svg"),
        Page("staff/exports/", shows=A_BUTTON),
        Page(f"staff/exports/{job.pk}/", shows='[role="progressbar"][aria-valuenow="100"]'),
        Page("staff/authority-lists/", shows=A_BUTTON),
        # The printable list: a page of its own, with nothing but the petition, the total and the names.
        Page(f"staff/authority-lists/{CAMPAIGN}/{OPEN}/", shows="table"),
    ]


def log_in(context, live_server, user) -> None:
    """Give the browser an organizer's session, as the admin's login form would."""
    from django.conf import settings

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def axe_violations(page) -> list[str]:
    result = page.evaluate(
        """() => axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
             resultTypes: ['violations'],
           })"""
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['html'][:160]})" for v in result["violations"]
    ]


def test_every_page_passes_wcag_aa_on_a_phone_and_a_desktop(live_server, browser, pages, organizer):
    """Every page in the four languages Plume ships (Arabic right to left)."""
    in_each_language = [(language, page) for language in ("en", "fr", "es", "ar") for page in pages]
    context = browser.new_context(viewport=PHONE)
    # Tooling, not the site: axe is added to every page as the browser opens it (the site's Content-Security-
    # Policy, which allows only the site's own scripts, does not apply to it).
    context.add_init_script(AXE)
    log_in(context, live_server, organizer)
    page = context.new_page()
    try:
        problems = {}
        for language, checked in in_each_language:
            url = f"/{language}/{checked.path}"
            page.set_viewport_size(PHONE)
            response = page.goto(live_server.url + url)
            assert response.status == checked.status, url
            assert page.locator("html").get_attribute("lang") == language, url
            assert page.locator(checked.shows).count(), f"{url} does not show {checked.shows}"
            if found := axe_violations(page):
                problems[f"{url} on a phone"] = found
            # The same page on a desktop: the layout follows the width (Bootstrap's breakpoints are CSS).
            page.set_viewport_size(DESKTOP)
            if found := axe_violations(page):
                problems[f"{url} on a desktop"] = found
        assert problems == {}
    finally:
        context.close()


# Every control on the page, in reading order, each with a mark: what a keyboard user must be able to reach. Left
# out: what nobody can see (display: none, visibility: hidden, collapsed), disabled controls, and what is hidden
# from everyone on purpose (aria-hidden or inert: the honeypot). A radio group counts once: Tab enters it at one
# radio, the arrow keys move inside it.
MARK_CONTROLS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const marks = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.disabled || el.closest('[aria-hidden="true"], [inert]')) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    const mark = el.type === 'radio' ? 'radio:' + el.name : String(marks.length);
    el.dataset.kbd = mark;
    if (!marks.includes(mark)) marks.push(mark);
  }
  // What Tab focuses from now on, in order.
  window.focused = [];
  document.addEventListener('focusin', event => window.focused.push(event.target.dataset.kbd || event.target.tagName));
  return marks;
}"""


def tab_through(page, controls: list[str]) -> list[str]:
    """Press Tab once per control, and twice more to come back round (past the browser's own controls); the
    marks of what was focused, in order (the tag's name for anything focused that has no mark)."""
    for _ in range(len(controls) + 2):
        page.keyboard.press("Tab")
    return page.evaluate("() => window.focused")


def test_tab_reaches_every_control_of_every_page_in_order_and_enter_follows_a_link(
    live_server, browser, pages, organizer
):
    context = browser.new_context(viewport=DESKTOP)
    log_in(context, live_server, organizer)
    page = context.new_page()
    try:
        problems = {}
        for checked in pages:
            url = f"/en/{checked.path}"
            page.goto(live_server.url + url)
            controls = page.evaluate(MARK_CONTROLS)
            if not controls:
                continue  # the printable list for the authority: nothing to reach
            first = page.evaluate("() => document.querySelector('[data-kbd]').textContent.trim()")
            if first != "Skip to content":
                problems[url] = f"the first control is {first!r}, not the skip link"
                continue
            reached = tab_through(page, controls)
            # Every control once, in reading order, then back to the first: no trap, nothing skipped.
            if reached[: len(controls) + 1] != [*controls, controls[0]]:
                problems[url] = {"unreached": sorted(set(controls) - set(reached)), "tab order": reached}
        assert problems == {}

        # From the home page, Tab to a case and Enter opens it.
        page.goto(live_server.url + "/en/")
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Khaled Drareni":
                break
        else:
            pytest.fail("The first case is not reachable with Tab")
        page.keyboard.press("Enter")
        page.wait_for_url("**/khaled-drareni/")
    finally:
        context.close()


def test_the_language_switcher_works_without_javascript(live_server, browser, demo_campaign):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/en/write-for-rights-2020/khaled-drareni/")
        page.locator("button[name=language][value=fr]").click()
        page.wait_for_url("**/fr/write-for-rights-2020/khaled-drareni/")
        assert page.locator("html").get_attribute("lang") == "fr"
    finally:
        context.close()
