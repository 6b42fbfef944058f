"""The whole journey in Chromium: sign on the case page, read the mail, confirm, see the counter move."""

from __future__ import annotations

import re

from petitions.models import Signature
from petitions.services import confirmations, counting
from tests.conftest import Mailbox


def test_it_takes_a_supporter_from_signing_to_a_moved_counter(live_server, page, case, smtp_server, settings):
    settings.PETITION_MIN_SECONDS_TO_FILL = 1
    page.goto(live_server.url + case.get_absolute_url())
    counter = page.locator(f"[data-total-for='{case.pk}']")
    assert counter.inner_text() == "0"

    petition = page.locator("#petition")
    petition.get_by_label("Your name").fill("Zhang Wei 张伟")
    petition.get_by_label("Your email").fill("Zhang.Wei+w4r@GMail.com")
    petition.get_by_label("Your country").select_option("CN")
    page.wait_for_timeout(1200)  # a person takes a moment to fill the form in
    petition.get_by_role("button", name="Sign the petition").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    signature = Signature.objects.get()
    assert (signature.flagged, signature.email_normalised) == (False, "zhangwei@gmail.com")

    confirmations.send_confirmations()
    mail = smtp_server.wait_for(1)[0]
    assert mail["To"] == "Zhang.Wei+w4r@gmail.com"
    link = re.search(r"https?://\S+?(/en/petitions/confirm/\S+/)", Mailbox.text_of(mail)).group(1)
    page.goto(live_server.url + link)
    assert Signature.objects.get().status == Signature.Status.PENDING
    page.get_by_role("button", name="Confirm my signature").click()
    page.get_by_role("heading", name="Thank you: your signature is confirmed").wait_for()

    assert counting.count_signatures() == 1
    page.goto(live_server.url + case.get_absolute_url())
    assert page.locator(f"[data-total-for='{case.pk}']").inner_text() == "1"


def test_it_signs_on_a_phone_without_javascript(live_server, browser, case, smtp_server, settings):
    """The only proof that signing works on a phone without JavaScript: the signature is stored unflagged,
    mailed, confirmed through the link in the mail and counted on the case page, all without a script."""
    # Lowered so the test waits two seconds, not three. The form's time is kept in whole seconds, so a minimum of
    # one second would let a form sent at once pass; at two, a form sent without the wait is flagged "too-fast".
    settings.PETITION_MIN_SECONDS_TO_FILL = 2
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740}, locale="fr-FR")
    page = context.new_page()
    case_url = live_server.url + case.get_absolute_url().replace("/en/", "/fr/")
    try:
        page.goto(case_url)
        petition = page.locator("#petition")
        petition.locator("input[name=name]").fill("Zoë")
        petition.locator("input[name=email]").fill("zoe@example.org")
        petition.locator("select[name=country]").select_option("FR")
        petition.locator("input[name=wants_news]").check()
        # Nothing on the page is wider than the phone's screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.wait_for_timeout(2000)  # a person takes a moment to fill the form in
        petition.locator("[type=submit]").click()
        page.wait_for_url("**/fr/petitions/**/thanks/")
        signature = Signature.objects.get()
        assert (signature.language, signature.wants_news) == ("fr", True)
        assert (signature.flagged, signature.flag_rule) == (False, "")

        assert confirmations.send_confirmations().sent == 1
        mail = smtp_server.wait_for(1)[0]
        assert mail["To"] == "zoe@example.org"
        link = re.search(r"https?://\S+?(/fr/petitions/confirm/\S+/)", Mailbox.text_of(mail)).group(1)
        page.goto(live_server.url + link)
        page.get_by_role("button", name="Confirmer ma signature").click()
        page.get_by_role("heading", name="Merci : votre signature est confirmée").wait_for()
        assert Signature.objects.get().status == Signature.Status.CONFIRMED

        assert counting.count_signatures() == 1
        page.goto(case_url)
        assert page.locator(f"[data-total-for='{case.pk}']").inner_text() == "1"
    finally:
        context.close()
