"""campaign.lib.abuse: honeypot, form time and shared rate limits."""

from __future__ import annotations

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
