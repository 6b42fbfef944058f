"""The supporters' journeys in Chromium: share from the thanks page without JavaScript; a friend signs through
the link and the first signer's count moves; the data page deletes a confirmed signature and the public count
drops; and the supporters' own pages pass axe's WCAG 2.1 AA checks in English and Arabic, on a phone and a
desktop."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from petitions.models import Channel, Signature
from petitions.services import counting, links
from supporters.services import data
from tests.browser.test_accessibility import AXE, DESKTOP, PHONE, axe_violations
from tests.conftest import Mailbox
from tests.petitions.conftest import make_signature

pytestmark = pytest.mark.django_db(transaction=True)


def confirm_link(signature: Signature, language: str = "en") -> str:
    return f"/{language}/petitions/confirm/{links.confirmation_token(signature.pk)}/"


def sign_on_the_case_page(page, name: str, email: str) -> None:
    petition = page.locator("#petition")
    petition.locator("input[name=name]").fill(name)
    petition.locator("input[name=email]").fill(email)
    petition.locator("select[name=country]").select_option("FR")
    page.wait_for_timeout(1200)  # a person takes a moment to fill the form in
    petition.locator("[type=submit]").click()
    page.wait_for_url("**/thanks/")


def test_it_shares_from_the_thanks_page_without_javascript(live_server, browser, case, settings):
    settings.PETITION_MIN_SECONDS_TO_FILL = 1
    sharer = make_signature(case)
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(live_server.url + confirm_link(sharer))
        page.get_by_role("button", name="Confirm my signature").click()
        page.get_by_role("heading", name="Ask your friends to sign too").wait_for()
        code = Signature.objects.get(pk=sharer.pk).share_code
        # Plain links to each network's own page, the sharer's code in the address they carry.
        for channel, start in (("whatsapp", "https://wa.me/?text="), ("x", "https://x.com/intent/post?")):
            href = page.locator(f"[data-share-channel={channel}]").get_attribute("href")
            assert href.startswith(start) and f"/via/{channel}/{code}/" in unquote(href)
        assert page.locator("[data-share-channel=mastodon]").is_visible()
        # The link to copy is a field anyone can select; the buttons that need a script stay hidden.
        copied = page.get_by_label("Or copy this link and paste it anywhere").input_value()
        assert copied == f"{settings.SITE_URL}/en/petitions/{case.campaign.slug}/{case.slug}/via/link/{code}/"
        assert not page.get_by_role("button", name="Copy").is_visible()
        assert not page.get_by_role("button", name="Share with an app on this device").is_visible()
        # Nothing on the page is wider than the phone's screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # A friend opens the pasted link, without JavaScript either, and signs.
        friend = browser.new_context(java_script_enabled=False).new_page()
        friend.goto(live_server.url + copied.removeprefix(settings.SITE_URL))
        assert friend.url == live_server.url + case.get_absolute_url()
        sign_on_the_case_page(friend, "Bob Martin", "bob@example.org")
        bob = Signature.objects.get(email="bob@example.org")
        assert (bob.channel, bob.referral_code) == (Channel.LINK, code)
    finally:
        context.close()


def test_a_friend_signs_through_the_link_and_the_first_signers_count_moves(live_server, page, browser, case, settings):
    settings.PETITION_MIN_SECONDS_TO_FILL = 1
    sharer = make_signature(case)
    page.goto(live_server.url + confirm_link(sharer))
    page.get_by_role("button", name="Confirm my signature").click()
    whatsapp = page.locator("[data-share-channel=whatsapp]").get_attribute("href")
    landing = re.search(r"https?://\S+?(/en/petitions/\S+?/via/whatsapp/[\w-]+/)", unquote(whatsapp)).group(1)
    page.goto(live_server.url + confirm_link(sharer))  # the link in the mail, again
    assert page.locator("[data-recruits]").inner_text() == "0 people signed through your link."

    friend = browser.new_context(locale="en-GB").new_page()
    friend.goto(live_server.url + landing)
    sign_on_the_case_page(friend, "Bob Martin", "bob@example.org")
    bob = Signature.objects.get(email="bob@example.org")
    friend.goto(live_server.url + confirm_link(bob))
    friend.get_by_role("button", name="Confirm my signature").click()
    friend.get_by_role("heading", name="Thank you: your signature is confirmed").wait_for()
    counting.count_signatures()

    page.goto(live_server.url + confirm_link(sharer))
    assert page.locator("[data-recruits]").inner_text() == "1 person signed through your link."
    assert Signature.objects.get(pk=bob.pk).channel == Channel.WHATSAPP


def test_the_data_page_deletes_a_confirmed_signature_and_the_public_count_drops(
    live_server, page, case, smtp_server, settings
):
    signature = make_signature(case, email="ana@example.org")
    links.confirm_signature(signature.pk)
    counting.count_signatures()
    total = page.locator(f"[data-total-for='{case.pk}']").first
    page.goto(live_server.url + case.get_absolute_url())
    assert total.inner_text() == "1"

    page.get_by_role("link", name="Your data", exact=True).click()
    page.get_by_label("Your email").fill("ana@example.org")
    page.get_by_role("button", name="Send me the link").click()
    page.get_by_text("Check your inbox.").wait_for()
    assert data.send_data_links().sent == 1
    mail = smtp_server.wait_for(1)[0]
    link = re.search(r"https?://\S+?(/en/supporters/your-data/\S+/)", Mailbox.text_of(mail)).group(1)
    page.goto(live_server.url + link)
    page.get_by_role("button", name=f"Delete my signature for {case.name}").click()
    page.get_by_text("No signature.").wait_for()
    assert not Signature.objects.filter(pk=signature.pk).exists()

    page.goto(live_server.url + case.get_absolute_url())
    assert total.inner_text() == "0"


def test_the_supporters_pages_pass_wcag_aa_in_english_and_arabic(live_server, browser, case, settings, tmp_path):
    from django.core.mail import send_mail

    from letters.models import Letter
    from letters.services.screening import text_fingerprint
    from supporters.models import DataRequest

    settings.DEBUG = True
    settings.SUPPORTERS_MAILBOX_DIR = tmp_path / "mailbox"
    settings.EMAIL_BACKEND = "supporters.mailbox.LocalMailboxBackend"
    send_mail("Confirm your signature", "Open http://127.0.0.1:8000/en/ now", None, ["ana@example.org"])
    signature = make_signature(case, email="ana@example.org", wants_news=True)
    links.confirm_signature(signature.pk)
    Letter.objects.create(
        case=case, first_name="Ana", country="PT", language="en", text="Courage.", text_hash=text_fingerprint("x"),
        writer_email="ana@example.org", writer_consent=True,
    )  # fmt: skip
    token = data.data_token(DataRequest.objects.create(email="ana@example.org").pk)
    mail_name = next((tmp_path / "mailbox").glob("*.eml")).name
    mastodon = f"supporters/mastodon/{case.campaign.slug}/{case.slug}/"
    paths = [
        "supporters/your-data/",
        f"supporters/your-data/{token}/",
        "supporters/your-data/not-a-token/",
        mastodon + "?purpose=post",
        mastodon + "?purpose=share&instance=mastodon.social",
        mastodon + "?purpose=post&instance=%3Cnot%20a%20server%3E",
        "supporters/mailbox/",
        f"supporters/mailbox/{mail_name}/",
        f"petitions/{case.campaign.slug}/{case.slug}/thanks/",
        confirm_link(signature).removeprefix("/en/"),
    ]
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(AXE)
    page = context.new_page()
    problems = {}
    try:
        for language in ("en", "ar"):
            for path in paths:
                for viewport in (PHONE, DESKTOP):
                    page.set_viewport_size(viewport)
                    response = page.goto(f"{live_server.url}/{language}/{path}")
                    assert response.status < 500, path
                    if found := axe_violations(page):
                        problems[f"/{language}/{path} {viewport['width']}px"] = found
    finally:
        context.close()
    assert not problems, problems
