"""campaign.lib.abuse: honeypot, form time and shared rate limits."""

from __future__ import annotations

import time

import pytest
from django import forms
from django.test import RequestFactory

from campaign.lib import abuse


class SampleForm(abuse.HumanCheckFormMixin, forms.Form):
    name = forms.CharField()


def submitted(monkeypatch, seconds_later: float, **data) -> SampleForm:
    shown = SampleForm()
    started = shown.fields["started"].initial
    real_time = abuse.time.time()
    monkeypatch.setattr(abuse.time, "time", lambda: real_time + seconds_later)
    form = SampleForm(data={"name": "Ana", "started": started, **data})
    assert form.is_valid()
    return form


def test_it_finds_nothing_suspicious_in_a_person_filling_the_form(monkeypatch):
    assert submitted(monkeypatch, 20).suspicion() == ""


def test_it_flags_a_filled_honeypot(monkeypatch):
    assert submitted(monkeypatch, 20, website="http://spam.example").suspicion() == "honeypot"


def test_it_flags_a_form_sent_too_fast(monkeypatch):
    assert submitted(monkeypatch, 0.5).suspicion() == "too-fast"


def test_it_flags_a_forged_form_time():
    form = SampleForm(data={"name": "Ana", "started": "12345:forged"})
    assert form.is_valid()
    assert form.suspicion() == "no-form-time"


def test_it_limits_hits_per_key_and_window():
    limit = abuse.RateLimit("sign-ip", "203.0.113.9", limit=3, window_seconds=60)
    hits = [abuse.hit_rate_limit(limit) for _ in range(5)]
    assert hits == [None, None, None, limit, limit]
    assert abuse.hit_rate_limit(abuse.RateLimit("sign-ip", "203.0.113.10", limit=3, window_seconds=60)) is None


def test_it_counts_several_limits_at_once_and_names_the_first_one_over():
    by_ip = abuse.RateLimit("letters-ip", "203.0.113.9", limit=3, window_seconds=60)
    same_text = abuse.RateLimit("letters-same-text", "203.0.113.9:abc", limit=1, window_seconds=60)
    assert abuse.hit_rate_limit(by_ip, same_text) is None
    assert abuse.hit_rate_limit(by_ip, same_text) == same_text  # the second hit of the same text
    assert abuse.hit_rate_limit(by_ip, same_text) == same_text
    assert abuse.hit_rate_limit(by_ip, same_text) == by_ip  # the fourth hit from the address: it comes first
    # Every limit counted its hit, even once another was over.
    assert abuse.hit_rate_limit(abuse.RateLimit("letters-same-text", "203.0.113.9:abc", 4, 60)) is not None


def test_it_counts_in_redis_with_an_expiry(settings):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    abuse.hit_rate_limit(abuse.RateLimit("sign-domain", "example.org", limit=3, window_seconds=60))
    client = backend._cache.get_client(write=True)
    keys = client.keys("*ratelimit:sign-domain:*")
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 65


def test_it_counts_in_the_embedded_default_cache_too(settings, tmp_path):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    limit = abuse.RateLimit("sign-ip", "203.0.113.9", limit=1, window_seconds=60)
    assert [abuse.hit_rate_limit(limit) for _ in range(3)] == [None, limit, limit]


def test_it_lets_people_through_when_the_cache_is_down(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "campaign.lib.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert abuse.hit_rate_limit(abuse.RateLimit("sign-ip", "203.0.113.9", limit=0, window_seconds=60)) is None
    assert "the cache is unreachable" in caplog.text


def test_the_cache_reuses_its_redis_client():
    from django.core.cache import caches

    backend = caches["default"]._cache
    assert backend.get_client(write=True) is backend.get_client(write=True)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.1"),
        (1, "198.51.100.1, 203.0.113.5", "203.0.113.5"),
        (2, "198.51.100.1, 203.0.113.5", "198.51.100.1"),
    ],
)
def test_it_trusts_forwarded_addresses_only_from_known_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert abuse.client_ip(request) == expected


# --- Network addresses: one IPv6 /64 is one visitor ------------------------------------------------------


def test_it_counts_the_addresses_of_one_ipv6_network_together():
    """An IPv6 visitor usually gets a whole /64 and can change address at will within it."""
    hits = [
        abuse.hit_rate_limit(abuse.RateLimit("petition-ip", f"2001:db8:1:2::{n:x}", limit=3, window_seconds=60))
        for n in range(1, 6)
    ]
    assert hits[:3] == [None, None, None]
    assert hits[3] is not None and hits[4] is not None
    # Another /64 is another visitor; IPv4 addresses stay one each.
    assert abuse.hit_rate_limit(abuse.RateLimit("petition-ip", "2001:db8:1:3::1", 3, 60)) is None
    ipv4 = [abuse.hit_rate_limit(abuse.RateLimit("petition-ip", f"203.0.113.{n}", 1, 60)) for n in range(1, 4)]
    assert ipv4 == [None, None, None]


def test_it_counts_an_address_with_something_after_it_per_network_too():
    """The letters' same-text limit is keyed on the address and the text."""
    fingerprint = "0123456789abcdef" * 4
    first = abuse.RateLimit("letters-same-text", f"2001:db8:1:2::a:{fingerprint}", limit=1, window_seconds=60)
    second = abuse.RateLimit("letters-same-text", f"2001:db8:1:2:ffff::b:{fingerprint}", limit=1, window_seconds=60)
    other_text = abuse.RateLimit("letters-same-text", f"2001:db8:1:2::a:{'f' * 64}", limit=1, window_seconds=60)
    assert abuse.hit_rate_limit(first) is None
    assert abuse.hit_rate_limit(second) == second
    assert abuse.hit_rate_limit(other_text) is None


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("", ""),
        ("not an address", "not an address"),
    ],
)
def test_it_names_the_network_a_limit_counts(address, counted_as):
    assert abuse.network_key(address) == counted_as


@pytest.mark.parametrize(
    ("remote", "network"),
    [("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"), ("203.0.113.9", "203.0.113.9"), ("", None)],
)
def test_it_gives_other_counters_the_network_as_an_address(remote, network):
    assert abuse.client_network(RequestFactory().get("/", REMOTE_ADDR=remote)) == network


def test_the_petition_limits_an_ipv6_network_not_each_address(client, case, settings):
    from django.urls import reverse

    from petitions.models import Signature

    settings.PETITION_IP_RATE_LIMIT = 2
    url = reverse("petitions:sign", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    statuses = [
        client.post(url, petition_post(email=f"ana{n}@example.org"), REMOTE_ADDR=f"2001:db8:7:7::{n}").status_code
        for n in range(1, 5)
    ]
    assert statuses == [302, 302, 429, 429]
    assert Signature.objects.count() == 2


def test_the_letters_limit_an_ipv6_network_not_each_address(client, case, settings):
    from django.urls import reverse

    from letters.models import Letter

    settings.LETTERS_RATE_LIMIT_PER_HOUR = 2
    url = reverse("letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    statuses = [
        client.post(
            url, letter_post(text=f"Letter {n}: you are not alone."), REMOTE_ADDR=f"2001:db8:7:7::{n}"
        ).status_code
        for n in range(1, 5)
    ]
    assert statuses == [302, 302, 429, 429]
    assert Letter.objects.count() == 2


# --- The form's time expires ----------------------------------------------------------------------------


def petition_post(**overrides) -> dict:
    from tests.conftest import form_started

    return {"name": "Ana Lima", "email": "ana@example.org", "country": "FR", "started": form_started(), **overrides}


def letter_post(**overrides) -> dict:
    from tests.conftest import form_started

    data = {
        "addressed_to": "person",
        "text": "Stay strong, Khaled. The whole world is watching and we are with you.",
        "language": "en",
        "first_name": "Ana",
        "country": "PT",
        "started": form_started(),
    }
    return {**data, **overrides}


def shown_form_time(html: str) -> int:
    import re

    from django.core import signing

    value = re.search(r'<input type="hidden" name="started" value="([^"]*)"', html).group(1)
    return int(signing.TimestampSigner(salt="plume.form-started").unsign(value))


def test_it_sends_an_expired_form_back_with_a_fresh_time(monkeypatch):
    shown = SampleForm()
    started = shown.fields["started"].initial
    real_time = abuse.time.time()
    monkeypatch.setattr(abuse.time, "time", lambda: real_time + 3601)
    form = SampleForm(data={"name": "Ana", "started": started})
    assert not form.is_valid()
    assert form.non_field_errors() == [abuse.FORM_EXPIRED_MESSAGE]
    # What the visitor typed stays; the time is the new one, so sending it again works.
    assert form["name"].value() == "Ana"
    again = SampleForm(data={"name": "Ana", "started": form["started"].value()})
    assert again.is_valid() and again.suspicion() == "too-fast"  # 0 seconds later, in the monkeypatched clock


def test_it_accepts_a_form_within_the_hour(monkeypatch):
    assert submitted(monkeypatch, 3500).suspicion() == ""


def test_the_petition_sends_an_expired_form_back_with_a_message_and_keeps_nothing(client, case):
    from django.urls import reverse

    from petitions.models import Signature
    from tests.conftest import form_started

    url = reverse("petitions:sign", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    response = client.post(url, petition_post(started=form_started(2 * 3600)))
    assert response.status_code == 400
    html = response.content.decode()
    # Once, and without the general "check the form" alert meant for fields.
    assert html.count("This page was open for a long time") == 1
    assert "some fields need your attention" not in html
    assert 'value="Ana Lima"' in html
    assert abs(shown_form_time(html) - time.time()) < 60
    assert not Signature.objects.exists()

    # Sent again as it came back (a few seconds later), it is taken.
    response = client.post(url, petition_post(started=fresh_from(html, seconds_later=20)))
    assert response.status_code == 302
    assert Signature.objects.get().flag_rule == ""


def test_the_letter_form_sends_an_expired_form_back_with_a_message_and_keeps_nothing(client, case):
    from django.urls import reverse

    from letters.models import Letter
    from tests.conftest import form_started

    url = reverse("letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    response = client.post(url, letter_post(started=form_started(2 * 3600)))
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("This page was open for a long time") == 1
    assert "Stay strong, Khaled." in html
    assert abs(shown_form_time(html) - time.time()) < 60
    assert not Letter.objects.exists()


def test_the_expired_form_message_is_in_the_visitors_language(client, case):
    from django.urls import reverse
    from django.utils import translation

    from tests.conftest import form_started

    with translation.override("fr"):
        url = reverse("petitions:sign", kwargs={"campaign": case.campaign.slug, "case": case.slug})
    response = client.post(url, petition_post(started=form_started(2 * 3600)))
    assert "Cette page est restée ouverte longtemps" in response.content.decode()


def fresh_from(html: str, seconds_later: int) -> str:
    """The time a page carried, as if the visitor sent the form `seconds_later` seconds after it came back."""
    return abuse.sign_form_time(shown_form_time(html) - seconds_later)


def test_a_rate_limit_key_is_a_keyed_hash_nobody_can_undo_by_trying_every_address():
    import hashlib

    from campaign.lib.abuse import RateLimit

    key = RateLimit("petition-ip", "203.0.113.7", 30, 600).cache_key()
    assert "203.0.113.7" not in key
    # A plain hash of the address (reversible by hashing the 2**32 IPv4 addresses) is not what is stored.
    assert hashlib.sha256(b"203.0.113.7").hexdigest()[:32] not in key
