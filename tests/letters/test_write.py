"""Writing a letter on the case page: the form, the checks, and what is stored."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from letters.models import Letter

from .conftest import letter_post


@pytest.fixture
def write_url(case):
    return reverse("letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug})


def test_it_shows_the_letter_form_on_the_case_page(client, case):
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="write-a-letter"' in html
    assert 'data-letter-counter="1500"' in html
    assert 'maxlength="1500"' in html
    assert "js/letters.js" in html
    assert re.search(r'class="plume-hp"\s+aria-hidden="true">\s*<div id="div_letter_website"', html)
    assert 'enctype="multipart/form-data"' in html


def test_it_stores_a_pending_letter_and_says_it_will_be_read(client, case, write_url):
    response = client.post(write_url, letter_post(), follow=True)
    assert response.status_code == 200
    assert "A volunteer will read your message" in response.content.decode()
    letter = Letter.objects.get()
    assert (letter.case, letter.status, letter.first_name, letter.country.code) == (case, "pending", "Ana", "PT")
    assert letter.flags == ""
    assert letter.writer_email == ""
    assert letter.mail_status == "none"
    assert letter.image.name == ""


def test_it_keeps_the_email_only_with_consent(client, write_url):
    response = client.post(write_url, letter_post(writer_email="ana@example.org"))
    assert response.status_code == 400
    assert "Tick this box" in response.content.decode()
    assert not Letter.objects.exists()

    client.post(write_url, letter_post(writer_email="ana@example.org", writer_consent="on"))
    letter = Letter.objects.get()
    assert (letter.writer_email, letter.writer_consent, letter.mail_status) == ("ana@example.org", True, "none")


def test_it_refuses_a_message_over_the_limit_with_a_clear_message(client, write_url, settings):
    settings.LETTERS_MAX_CHARS = 50
    response = client.post(write_url, letter_post(text="x" * 51))
    assert response.status_code == 400
    assert "51 characters long; please keep it under 50" in response.content.decode()
    assert not Letter.objects.exists()


def test_it_counts_a_line_break_as_one_character_as_the_browser_does(client, write_url, settings):
    settings.LETTERS_MAX_CHARS = 10
    response = client.post(write_url, letter_post(text="abcd\r\nefgh\r\n"))
    assert response.status_code == 302
    assert Letter.objects.get().text == "abcd\nefgh"


def test_it_flags_links_phone_numbers_emails_and_listed_words_and_says_why(client, write_url):
    from letters.models import FlaggedWord

    FlaggedWord.objects.create(language="en", word="regime")
    text = "Call me on +33 6 12 34 56 78 or write to me@example.org, see www.example.com. Down with the regime!"
    client.post(write_url, letter_post(text=text))
    letter = Letter.objects.get()
    assert set(letter.flag_list) == {"link", "phone", "email", "word"}
    assert "+33 6 12 34 56 78" in letter.flag_notes
    assert "regime" in letter.flag_notes
    assert letter.status == "pending"  # a flag never rejects by itself


def test_it_flags_the_same_text_pasted_again_whatever_the_spacing_and_case(client, write_url):
    client.post(write_url, letter_post(text="Free Khaled now, he is a journalist!"))
    client.post(write_url, letter_post(text="free   KHALED now he is a journalist"), REMOTE_ADDR="198.51.100.7")
    first, second = Letter.objects.order_by("pk")
    assert first.flags == ""
    assert second.flag_list == ["repeat"]
    assert first.text_hash == second.text_hash


def test_it_refuses_the_same_text_from_one_address_past_the_daily_limit(client, write_url, settings):
    settings.LETTERS_SAME_TEXT_PER_DAY = 2
    statuses = [client.post(write_url, letter_post(text="Same words again")).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Letter.objects.count() == 2


def test_it_rate_limits_one_address(client, write_url, settings):
    settings.LETTERS_RATE_LIMIT_PER_HOUR = 2
    statuses = [client.post(write_url, letter_post(text=f"Letter {n} for you")).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert Letter.objects.count() == 2


def test_it_keeps_nothing_from_a_robot_that_fills_the_honeypot(client, write_url):
    response = client.post(write_url, letter_post(website="http://spam.example"), follow=True)
    assert "A volunteer will read your message" in response.content.decode()
    assert not Letter.objects.exists()


def test_it_keeps_but_flags_a_letter_sent_too_fast(client, write_url):
    from .conftest import form_started

    client.post(write_url, letter_post(started=form_started(0)))
    letter = Letter.objects.get()
    assert letter.flag_list == ["bot"]
    assert "too-fast" in letter.flag_notes


def test_it_shows_hostile_text_escaped_when_the_form_comes_back(client, write_url):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    response = client.post(write_url, letter_post(text=hostile, first_name=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_closes_the_form_with_the_case(client, case, write_url):
    import datetime

    from django.utils import timezone

    case.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    case.save()
    assert "Letters for this case are closed" in client.get(case.get_absolute_url()).content.decode()
    response = client.post(write_url, letter_post())
    assert response.status_code == 302
    assert not Letter.objects.exists()


def test_it_answers_in_arabic_on_the_arabic_page(client, case):
    url = reverse("letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug}).replace("/en/", "/ar/")
    response = client.get(url)
    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()


def test_the_panel_adds_no_query_to_the_case_page(rf, case, django_assert_num_queries):
    from letters.views import render_letter_panel

    request = rf.get(case.get_absolute_url())
    assert case.campaign.is_open()  # loaded with the case, as the case page does with select_related
    with django_assert_num_queries(0):
        html = render_letter_panel(request, case)
    assert 'id="write-a-letter"' in html


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u2066", "\u2067", "\u2069"])
def test_it_refuses_a_first_name_with_a_character_that_reorders_the_text(client, write_url, control):
    response = client.post(write_url, letter_post(first_name=f"Ana{control}TP ,"))
    assert response.status_code == 400
    assert "Your name contains invisible control characters. Please type it again." in response.content.decode()
    assert not Letter.objects.exists()


def test_it_takes_characters_that_reorder_the_text_out_of_a_message(client, write_url):
    text = "Stay strong\u202e, we are with you \u2066always\u2069.\x1b"
    assert client.post(write_url, letter_post(text=text)).status_code == 302
    assert Letter.objects.get().text == "Stay strong, we are with you always."


def test_it_keeps_the_direction_marks_arabic_writers_type(client, write_url):
    # A right-to-left mark after "2020" keeps the full stop at the end of an Arabic sentence.
    text = "نحن معك يا خالد منذ 2020\u200f. الحرية لك!"
    assert client.post(write_url, letter_post(text=text, first_name="سارة\u200f", language="ar")).status_code == 302
    letter = Letter.objects.get()
    assert (letter.text, letter.first_name) == (text, "سارة\u200f")
