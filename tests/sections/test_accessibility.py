"""The pages of this issue pass axe-core's WCAG 2.1 A and AA checks in Chromium, on a phone and a desktop, in every
language Plume ships (Arabic right to left): the event report form and its thanks, the local groups' sign-in and
a group's page, the hub's page of the movement (with a section stale, one refused and one held) and the dashboard
with local groups and reports waiting. Tab reaches every control of the event report form, skip link first."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaign.models import LocalGroup
from organizers import local_groups, offline_reports
from sections.models import Section
from sections.services import movement, snapshots
from sections.services.documents import parse_json
from tests.browser.test_accessibility import AXE, DESKTOP, MARK_CONTROLS, PHONE, axe_violations, log_in
from tests.sections.conftest import KHALED, as_bytes, document

pytestmark = pytest.mark.django_db(transaction=True)
LANGUAGES = ("en", "fr", "es", "ar")


@pytest.fixture
def states(demo_campaign, case, organizer):
    """A hub with three sections (one up to date, one refused, one held), a group with reports."""
    brazil = Section.objects.create(name="Amnesty Brazil", countries=["BR"], totals_url="http://127.0.0.1:9/x")
    portugal = Section.objects.create(name="Amnistia Portugal", countries=["PT"])
    Section.objects.create(name="Amnesty Sénégal", countries=["SN"])
    for section, n in ((brazil, 40), (portugal, 30)):
        figures = parse_json(as_bytes(document({KHALED: {"BR": {"signature": n}}})))
        snapshots.receive_figures(section.pk, figures, channel="push")
    fallen = parse_json(as_bytes(document({KHALED: {"PT": {"letter": 1}}})))
    snapshots.receive_figures(portugal.pk, fallen, channel="push")  # held
    snapshots.record_problem(brazil.pk, "invalid_json", "JSONDecodeError")
    movement.refresh()
    group = LocalGroup.objects.create(name="Lycée Victor Hugo", slug="lycee-victor-hugo")
    member, _path = local_groups.create_member(group, username="teacher")
    for count in (12, 30):
        offline_reports.record_offline_report(
            case=case, kind="letter", day=timezone.localdate(), count=count, channel="local_group", local_group=group
        )
    first = group.reports.order_by("pk").first()
    offline_reports.approve_offline_reports([first.pk], decided_by=organizer)
    return {"member": member, "group": group}


def test_the_pages_pass_wcag_aa_in_every_language_on_a_phone_and_a_desktop(live_server, browser, states, organizer):
    campaign, case = "write-for-rights-2020", "khaled-drareni"
    pages = {
        None: [f"events/{campaign}/{case}/report/", f"events/{campaign}/{case}/thanks/", "groups/sign-in/"],
        states["member"]: [f"groups/{states['group'].slug}/"],
        organizer: ["staff/sections/", "staff/"],
    }
    problems = {}
    for user, paths in pages.items():
        context = browser.new_context(viewport=PHONE)
        context.add_init_script(AXE)
        if user is not None:
            log_in(context, live_server, user)
        page = context.new_page()
        try:
            for language in LANGUAGES:
                for path in paths:
                    url = f"/{language}/{path}"
                    page.set_viewport_size(PHONE)
                    response = page.goto(live_server.url + url)
                    assert response.status == 200, url
                    assert page.locator("html").get_attribute("lang") == language
                    if found := axe_violations(page):
                        problems[f"{url} on a phone"] = found
                    page.set_viewport_size(DESKTOP)
                    if found := axe_violations(page):
                        problems[f"{url} on a desktop"] = found
        finally:
            context.close()
    assert problems == {}


def test_tab_reaches_every_control_of_the_event_report_form_in_order(live_server, browser, demo_campaign):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/en/events/write-for-rights-2020/khaled-drareni/report/")
        controls = page.evaluate(MARK_CONTROLS)
        assert page.evaluate("() => document.querySelector('[data-kbd]').textContent.trim()") == "Skip to content"
        # The date field takes a Tab for each of its parts (day, month, year) in Chromium: a few more presses.
        for _ in range(len(controls) + 6):
            page.keyboard.press("Tab")
        reached = page.evaluate("() => window.focused")
        in_order = [mark for i, mark in enumerate(reached) if i == 0 or mark != reached[i - 1]]
        assert in_order[: len(controls) + 1] == [*controls, controls[0]]
    finally:
        context.close()
