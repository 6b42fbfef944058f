"""The organizers' "On paper" pages in Chromium: WCAG 2.1 AA (axe) on a phone and a desktop in English and
Arabic, every control reached with Tab in reading order; and an organizer prints a blank tally sheet."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from letters.models import FamilyContact
from organizers.exports import base as exports
from organizers.exports import letters_pack
from tests.browser.test_accessibility import AXE, DESKTOP, MARK_CONTROLS, PHONE, axe_violations, log_in, tab_through

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def paper_pages(demo_campaign, organizer, moderator) -> list[str]:
    """The paper page with a contact reached by post, one pack ready and one waiting; the hand-over form."""
    from letters.models import Letter
    from letters.services.moderation import approve_letters
    from letters.services.screening import text_fingerprint

    case = demo_campaign.cases.get(slug="khaled-drareni")
    contact = FamilyContact.objects.create(
        case=case, name="Family of Khaled", delivery="post", postal_address="Alger", language="ar"
    )
    text = "Stay strong"
    letter = Letter.objects.create(case=case, first_name="Ana", country="PT", language="en", text=text)
    Letter.objects.filter(pk=letter.pk).update(text_hash=text_fingerprint(text))
    assert approve_letters([letter.pk], moderator) == 1
    job = letters_pack.request_letters_pack(requested_by=organizer, contact=contact)
    assert exports.run_export(job.pk) is not None
    pack = contact.packs.get()
    return ["staff/paper/", f"staff/paper/letters-pack/{pack.pk}/handover/"]


def test_the_paper_pages_pass_wcag_aa_and_tab_reaches_every_control(live_server, browser, paper_pages, organizer):
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(AXE)
    log_in(context, live_server, organizer)
    page = context.new_page()
    try:
        problems = {}
        for language in ("en", "ar"):
            for path in paper_pages:
                url = f"/{language}/{path}"
                page.set_viewport_size(PHONE)
                assert page.goto(live_server.url + url).status == 200, url
                assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
                if found := axe_violations(page):
                    problems[f"{url} on a phone"] = found
                page.set_viewport_size(DESKTOP)
                if found := axe_violations(page):
                    problems[f"{url} on a desktop"] = found
                controls = page.evaluate(MARK_CONTROLS)
                # The page's own controls (the header and footer are the site's, checked by tests/browser/):
                # every one reached with Tab, in reading order.
                mine = page.evaluate(
                    "() => [...new Set([...document.querySelectorAll('main [data-kbd]')].map(e => e.dataset.kbd))]"
                )
                reached = [mark for mark in tab_through(page, controls) if mark in mine]
                if reached[: len(mine)] != mine:
                    problems[f"{url} with Tab"] = {"unreached": sorted(set(mine) - set(reached)), "order": reached}
        assert problems == {}
    finally:
        context.close()


def test_an_organizer_prints_a_tally_sheet_from_the_page(live_server, browser, demo_campaign, organizer):
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    log_in(context, live_server, organizer)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/fr/staff/paper/")
        page.get_by_label("Cas").select_option(label="Khaled Drareni")
        page.get_by_label("Langue de la feuille").select_option("es")
        page.get_by_role("textbox", name="Événement").fill("Feria del libro")
        page.get_by_role("button", name="Imprimer la feuille").click()
        # The form's choices are in the address of the sheet, which the browser opens (or saves).
        page.wait_for_url("**/staff/paper/tally-sheet/?*", wait_until="commit")
        assert "language=es" in page.url and "event=Feria+del+libro" in page.url
        response = page.request.get(page.url)
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
        assert "Feria del libro" in text and "nombre" in text
    finally:
        context.close()
