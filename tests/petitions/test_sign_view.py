"""POST /<lang>/petitions/<campaign>/<case>/sign/ and the petition panel on the case page."""

from __future__ import annotations

import datetime
import html

import pytest
from django.utils import timezone

from campaign.lib.outbox import MailStatus
from petitions.models import Signature

from .conftest import form_data, make_signature, sign_url, url


def thanks_url(case) -> str:
    return url("petitions:thanks", campaign=case.campaign.slug, case=case.slug)


def test_it_shows_the_form_on_the_case_page(client, case):
    response = client.get(case.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert f'action="{sign_url(case)}"' in html
    assert 'name="wants_news"' in html and "checked" not in html.split('name="wants_news"')[1].split(">")[0]
    assert url("campaign:privacy") in html
    assert 'class="plume-hp' in html and 'aria-hidden="true"' in html


def test_it_lists_countries_in_the_visitors_language(client, case):
    html = client.get(case.get_absolute_url().replace("/en/", "/fr/")).content.decode()
    html = html.split('id="petition-heading"')[1].split("</select>")[0]
    assert ">Allemagne</option>" in html
    assert ">Germany</option>" not in html


def test_it_keeps_the_case_page_within_its_query_budget(client, case, django_assert_max_num_queries):
    client.get(case.get_absolute_url())  # warms the totals cache
    with django_assert_max_num_queries(2):
        response = client.get(case.get_absolute_url())
    assert response.status_code == 200


def test_it_stores_a_pending_signature_and_says_check_your_inbox(client, case):
    response = client.post(
        sign_url(case, "fr"), form_data(email="Ana.Lima+w4r@GMail.com", wants_news="on"), REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 302
    assert response["Location"] == thanks_url(case).replace("/en/", "/fr/")
    signature = Signature.objects.get()
    assert signature.case == case
    assert signature.status == Signature.Status.PENDING
    assert signature.email == "Ana.Lima+w4r@gmail.com"
    assert signature.email_normalised == "analima@gmail.com"
    assert signature.country == "FR"
    assert signature.language == "fr"
    assert signature.wants_news is True
    assert signature.ip == "198.51.100.4"
    assert not signature.flagged
    assert signature.mail_status == MailStatus.PENDING
    page = client.get(response["Location"])
    assert "Consultez votre boîte" in page.content.decode() or "Check your inbox" in page.content.decode()


def test_it_leaves_the_opt_in_unticked_unless_asked(client, case):
    client.post(sign_url(case), form_data())
    assert Signature.objects.get().wants_news is False


def test_it_signs_while_redis_and_the_mail_server_are_down(client, case, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_PORT = 1
    response = client.post(sign_url(case), form_data())
    assert response.status_code == 302
    assert Signature.objects.get().mail_status == MailStatus.PENDING
    assert "the cache is unreachable" in caplog.text


def test_it_answers_a_repeat_with_the_same_page_and_mails_the_owner(client, case):
    signature = make_signature(case, email="analima@gmail.com", mail_status=MailStatus.SENT)
    response = client.post(sign_url(case), form_data(email="Ana.Lima+again@gmail.com", name="Someone Else"))
    assert response.status_code == 302
    assert response["Location"] == thanks_url(case)
    assert Signature.objects.count() == 1
    signature.refresh_from_db()
    assert signature.name == "Ana Lima"
    assert signature.mail_status == MailStatus.PENDING
    assert signature.repeat_mails == 1


def test_it_caps_the_mails_a_repeat_can_trigger(client, case, settings):
    settings.PETITION_REPEAT_MAILS_MAX = 2
    signature = make_signature(case, mail_status=MailStatus.SENT)
    for _ in range(4):
        Signature.objects.filter(pk=signature.pk).update(mail_status=MailStatus.SENT)
        assert client.post(sign_url(case), form_data()).status_code == 302
    signature.refresh_from_db()
    assert signature.repeat_mails == 2
    assert signature.mail_status == MailStatus.SENT


def test_it_does_not_queue_a_second_mail_while_the_first_waits(client, case):
    signature = make_signature(case)
    client.post(sign_url(case), form_data())
    signature.refresh_from_db()
    assert signature.repeat_mails == 0


def test_it_signs_once_per_petition_not_once_per_site(client, case, demo_campaign):
    other = demo_campaign.cases.exclude(pk=case.pk).first()
    client.post(sign_url(case), form_data())
    client.post(sign_url(other), form_data())
    assert Signature.objects.count() == 2


@pytest.mark.parametrize(
    "closing",
    [
        lambda case: type(case).objects.filter(pk=case.pk).update(closes_at=timezone.now()),
        lambda case: (
            type(case.campaign)
            .objects.filter(pk=case.campaign.pk)
            .update(closes_at=timezone.now(), opens_at=timezone.now() - datetime.timedelta(days=30))
        ),
    ],
    ids=["case-closed", "campaign-closed"],
)
def test_it_refuses_a_closed_petition_and_stores_nothing(client, case, closing):
    closing(case)
    page = client.get(case.get_absolute_url()).content.decode()
    assert "This petition is closed" in page
    assert 'name="email"' not in page
    response = client.post(sign_url(case), form_data())
    assert response.status_code == 403
    assert "This petition is closed" in response.content.decode()
    assert not Signature.objects.exists()


def test_it_stores_a_filled_honeypot_flagged_and_sends_it_no_mail(client, case):
    response = client.post(sign_url(case), form_data(website="http://spam.example"))
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.flagged and signature.flag_rule == "honeypot"
    assert signature.mail_status == MailStatus.NONE


def test_it_flags_a_forged_form_time(client, case):
    client.post(sign_url(case), form_data(started="1700000000:forged"))
    assert Signature.objects.get().flag_rule == "no-form-time"


def test_it_flags_too_fast_unless_the_minimum_is_turned_off(client, case, settings):
    from tests.conftest import form_started

    client.post(sign_url(case), form_data(started=form_started(0)))
    assert Signature.objects.get().flag_rule == "too-fast"
    settings.PETITION_MIN_SECONDS_TO_FILL = 0
    client.post(sign_url(case), form_data(email="bench@example.org", started=form_started(0)))
    assert Signature.objects.get(email="bench@example.org").flagged is False


def test_it_limits_signing_per_network_address(client, case, settings):
    settings.PETITION_IP_RATE_LIMIT = 2
    for n in range(2):
        assert client.post(sign_url(case), form_data(email=f"p{n}@example.org")).status_code == 302
    response = client.post(sign_url(case), form_data(email="p3@example.org"))
    assert response.status_code == 429
    assert "Please wait a moment" in response.content.decode()
    assert Signature.objects.count() == 2
    # Another address is not held back.
    assert client.post(sign_url(case), form_data(email="p4@example.org"), REMOTE_ADDR="192.0.2.50").status_code == 302


def test_it_limits_signing_per_email_domain_except_big_providers(client, case, settings):
    settings.PETITION_DOMAIN_RATE_LIMIT = 1
    assert client.post(sign_url(case), form_data(email="a@throwaway.example")).status_code == 302
    response = client.post(sign_url(case), form_data(email="b@throwaway.example"), REMOTE_ADDR="192.0.2.1")
    assert response.status_code == 429
    assert not Signature.objects.filter(email="b@throwaway.example").exists()
    for n in range(3):
        assert client.post(sign_url(case), form_data(email=f"x{n}@gmail.com")).status_code == 302


def test_it_redirects_nothing_when_the_case_does_not_exist(client, demo_campaign):
    response = client.post(f"/en/petitions/{demo_campaign.slug}/nobody/sign/", form_data())
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "email": "", "country": ""}, "This field is required."),
        ({"name": "   "}, "This field is required."),
        ({"name": "A" * 201}, "at most 200 characters"),
        ({"email": "a" * 250 + "@example.org"}, "at most 254 characters"),
        ({"email": "not-an-address"}, "Enter a valid email address."),
        ({"email": "ana@@example.org"}, "Enter a valid email address."),
        ({"country": "XX"}, "Select a valid choice."),
        ({"country": "FR\x00"}, "Select a valid choice."),
        ({"name": "Ana\x00Lima"}, "Null characters are not allowed."),
        ({"name": "Ana\x07Lima"}, "invisible control characters"),
        ({"name": "Ana\u202eamiL"}, "invisible control characters"),
        ({"email": "ana\x00@example.org"}, "Null characters are not allowed."),
        ({"wants_news": "\x00"}, None),
    ],
)
def test_it_answers_bad_input_with_a_clear_message_and_never_a_500(client, case, fields, message):
    response = client.post(sign_url(case), form_data(**fields))
    if message is None:
        assert response.status_code in (302, 400)
        return
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please check the form" in html
    assert message in html
    assert not Signature.objects.exists()


@pytest.mark.parametrize("name", ["خالد درارني", "张伟", "Zoë O'Brien-Núñez", "<script>alert(1)</script>"])
def test_it_accepts_names_in_any_script_and_stores_them_as_typed(client, case, name):
    assert client.post(sign_url(case), form_data(name=name)).status_code == 302
    assert Signature.objects.get().name == name


def test_it_shows_a_bad_submission_again_with_what_was_typed_escaped(client, case):
    response = client.post(sign_url(case), form_data(name="<b>Ana</b>", email="broken"))
    html = response.content.decode()
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html
    assert "<b>Ana</b>" not in html


def test_it_shows_the_form_on_its_own_page_without_javascript(client, case):
    response = client.get(sign_url(case, "ar"))
    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()
    assert 'name="started"' in response.content.decode()


def test_it_lets_a_person_sign_after_a_bot_used_their_address(client, case):
    client.post(sign_url(case), form_data(website="http://spam.example", name="Bot"))
    response = client.post(sign_url(case), form_data(name="Ana Lima"), REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.name, signature.flagged, signature.flag_rule) == ("Ana Lima", False, "")
    assert signature.mail_status == MailStatus.PENDING


def test_it_accepts_a_scripted_post_with_the_tokens_of_one_page_many_times(case, settings):
    """What the benchmark does: one GET for the CSRF cookie and the form time, then many POSTs."""
    import re

    from django.test import Client

    settings.PETITION_MIN_SECONDS_TO_FILL = 0
    settings.PETITION_IP_RATE_LIMIT = 1000
    client = Client(enforce_csrf_checks=True)
    html = client.get(sign_url(case)).content.decode()
    tokens = dict(re.findall(r'name="(csrfmiddlewaretoken|started)" value="([^"]+)"', html))
    assert set(tokens) == {"csrfmiddlewaretoken", "started"}
    for n in range(3):
        data = {"name": f"Bench {n}", "email": f"bench{n}@gmail.com", "country": "FR", **tokens}
        assert client.post(sign_url(case), data).status_code == 302
    assert Signature.objects.filter(flagged=False).count() == 3


# A name is mailed to whatever address was typed: nothing in it may read as a link, an address or a number to call.
NAME_REFUSALS = {
    "url": (
        [
            "Ana https://evil.example/x",
            "Ana http:evil",
            "www.evil.example",
            "Ana, see evil.com",
            "bit.ly/x",
            "Ana \uff57\uff57\uff57\uff0eevil",  # full-width "www.", as a phone keyboard may type it,
        ],
        {"en": "Please write your name without a web address", "fr": "Merci d'écrire votre nom sans adresse web"},
    ),
    "email": (
        ["ana@evil.example", "Ana Lima ana\uff20evil.example"],
        {
            "en": "Please write your name without an email address",
            "fr": "Merci d'écrire votre nom sans adresse électronique",
        },
    ),
    "phone": (
        [
            "ACTION NEEDED call +1 555 123 4567",
            "Ana 06.12.34.56.78",
            "Ana (555) 123-456",
            "خالد ٠٥٥٥١٢٣٤٥٦",
            "Ana ۰۹۱۲۳۴۵۶۷۸",
        ],
        {
            "en": "Please write your name without a phone number",
            "fr": "Merci d'écrire votre nom sans numéro de téléphone",
        },
    ),
}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind, (names, _) in NAME_REFUSALS.items() for name in names]
)
def test_it_refuses_a_name_with_a_link_an_address_or_a_phone_number(client, case, language, kind, name):
    response = client.post(sign_url(case, language), form_data(name=name))
    assert response.status_code == 400
    assert NAME_REFUSALS[kind][1][language] in html.unescape(response.content.decode())
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    "name", ["J. R. R. Tolkien", "Louis XIV", "Agent 007", "Ana Lima 1985", "Jean-Luc O'Neil", "St. John", "Ana."]
)
def test_it_still_accepts_names_with_dots_and_a_few_digits(client, case, name):
    assert client.post(sign_url(case), form_data(name=name)).status_code == 302
    assert Signature.objects.get().name == name


def test_it_stores_a_signature_in_one_query(case, django_assert_num_queries):
    """The sign path stays one INSERT ... ON CONFLICT DO NOTHING: whatever it stores is computed in Python."""
    from petitions.services import signing

    case = type(case).objects.select_related("campaign").get(pk=case.pk)
    signing.sign_petition(case, signing.SignatureData(name="Warm", email="warm@example.org", country="FR"))
    with django_assert_num_queries(1):
        outcome = signing.sign_petition(case, signing.SignatureData(name="Ana", email="ana@example.org", country="FR"))
    assert outcome is signing.SignOutcome.NEW


def test_it_keeps_only_hashes_in_the_rate_limit_counters(client, case):
    """The counters of the per-address, per-domain and new-link limits live in Redis: their keys hold a hash,
    never the network address, the email address or its domain."""
    from django.core.cache import cache

    assert client.post(sign_url(case), form_data(email="ana.secret@throwaway.example"), REMOTE_ADDR="198.51.100.77")
    client.post(url("petitions:new_link"), {"email": "ana.secret@throwaway.example"}, REMOTE_ADDR="198.51.100.77")
    assert Signature.objects.get().email == "ana.secret@throwaway.example"
    redis = cache._cache.get_client(write=False)
    keys = [key.decode() for key in redis.scan_iter("*")]
    counters = [key for key in keys if "ratelimit:" in key]
    assert {key.split("ratelimit:")[1].split(":")[0] for key in counters} == {
        "petition-ip",
        "petition-domain",
        "petition-new-link",
    }
    stored = " ".join(keys + [str(redis.get(key)) for key in counters]).lower()
    for secret in ("198.51.100.77", "198.51.100", "ana.secret", "throwaway.example", "throwaway"):
        assert secret not in stored
