"""Phones first: on a 390 x 844 phone (an iPhone 12 to 15), every case page with an open petition shows the case's
name, the ask and the petition's Sign button within the first screen, in every language; the photo shrinks to a
small round one beside the name; nothing is wider than the screen."""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
LANGUAGES = ["en", "fr", "es", "ar"]


def test_the_name_the_ask_and_the_sign_button_are_on_the_first_screen(live_server, browser):
    from campaign.models import Case

    call_command("seed_demo", verbosity=0)
    cases = list(Case.objects.all())
    context = browser.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
    page = context.new_page()
    below, measured = [], 0
    try:
        for language in LANGUAGES:
            for case in cases:
                page.goto(f"{live_server.url}/{language}{case.get_absolute_url()[3:]}")
                button = page.locator("form[action$='/sign/'] [type=submit]")
                if not button.count():
                    continue  # a closed petition: nothing to sign
                measured += 1
                boxes = {
                    "name": page.get_by_role("heading", level=1).bounding_box(),
                    "ask": page.locator(".plume-ask-text").bounding_box(),
                    "sign": button.bounding_box(),
                }
                bottoms = {what: round(box["y"] + box["height"]) for what, box in boxes.items()}
                if max(bottoms.values()) > PHONE["height"]:
                    below.append((language, case.slug, bottoms))
                photo = page.locator(".plume-case-photo").bounding_box()
                assert photo["width"] <= 80 and photo["height"] <= 80, (language, case.slug, photo)
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert measured >= 30, "most demo cases have an open petition"
        assert below == []
    finally:
        context.close()


def test_on_a_desktop_the_forms_stand_beside_the_story(live_server, browser):
    call_command("seed_demo", verbosity=0)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/en/write-for-rights-2020/gustavo-gatica/")
        story = page.locator(".plume-case-story").bounding_box()
        petition = page.locator("#petition").bounding_box()
        assert petition["x"] > story["x"] + story["width"]  # a column of its own, on the right
        assert petition["y"] < 900  # and the Sign form starts on the first screen
    finally:
        context.close()
