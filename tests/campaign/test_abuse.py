"""campaign.abuse: honeypot, form time and shared rate limits."""

from __future__ import annotations

import pytest
from django import forms
from django.test import RequestFactory

from campaign import abuse


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
    hits = [abuse.hit_rate_limit("sign-ip", "203.0.113.9", limit=3, window_seconds=60) for _ in range(5)]
    assert hits == [False, False, False, True, True]
    assert abuse.hit_rate_limit("sign-ip", "203.0.113.10", limit=3, window_seconds=60) is False


def test_it_counts_in_redis_with_an_expiry(settings):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    abuse.hit_rate_limit("sign-domain", "example.org", limit=3, window_seconds=60)
    client = backend._cache.get_client(write=True)
    keys = client.keys("*ratelimit:sign-domain:*")
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 65


def test_it_lets_people_through_when_the_cache_is_down(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert abuse.hit_rate_limit("sign-ip", "203.0.113.9", limit=0, window_seconds=60) is False
    assert "the cache is unreachable" in caplog.text


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
