"""The whole journey in Chromium: a supporter writes on the case page, a moderator approves in the admin,
the family reads it in their digest."""

from __future__ import annotations

from letters.models import Letter
from letters.services import digests
from tests.conftest import Mailbox

from .conftest import image_bytes


def test_a_letter_written_in_chromium_reaches_the_family_after_approval(
    live_server, page, case, smtp_server, settings, moderator, family_contact
):
    settings.LETTERS_MIN_SECONDS_TO_FILL = 1
    page.goto(live_server.url + case.get_absolute_url())
    panel = page.locator("#write-a-letter")
    assert panel.get_by_label("The person").is_checked()
    message = "Dear Khaled, journalists everywhere stand with you. <b>Courage</b>!"
    panel.get_by_label("Your message").press_sequentially(message)
    counter = panel.locator("[data-letter-counter-for]")
    assert counter.inner_text() == f"{1500 - len(message):,} characters left (of 1,500)"
    panel.get_by_label("Language you write in").select_option("en")
    panel.get_by_label("Your first name").fill("Joana")
    panel.get_by_label("Your country").select_option("BR")
    panel.get_by_label("A drawing or a photo of your card (optional)").set_input_files(
        {"name": "card.png", "mimeType": "image/png", "buffer": image_bytes("PNG", size=(200, 150))}
    )
    page.wait_for_timeout(1100)  # a person takes a moment before sending
    panel.get_by_role("button", name="Send my message").click()
    page.get_by_text("A volunteer will read your message before it is sent.").wait_for()
    letter = Letter.objects.get()
    assert (letter.status, letter.first_name, letter.flags, bool(letter.image)) == ("pending", "Joana", "", True)

    # The moderator logs in through the admin's own form and approves it from the letter's page.
    page.goto(live_server.url + "/admin/letters/letter/")
    page.get_by_label("Username").fill("moderator")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Take the next letter").click()
    page.get_by_text("journalists everywhere stand with you. <b>Courage</b>!").wait_for()
    assert page.locator("img[alt='Drawing or photo sent with the letter']").evaluate("img => img.naturalWidth") == 200
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text("No letter is waiting. Thank you!").wait_for()
    assert Letter.objects.get().status == "approved"

    digests.send_family_digest(family_contact.pk)
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "family@example.org"
    text = Mailbox.text_of(mail)
    assert message in text
    assert "Joana, Brésil" in text  # signed with the writer's first name and country, in the family's language
    assert "&lt;b&gt;Courage&lt;/b&gt;" in Mailbox.html_of(mail)
    assert [part.get_filename() for part in mail.iter_attachments()] == [f"drawing-{letter.pk}.jpg"]
