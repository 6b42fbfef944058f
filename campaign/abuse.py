"""Checks that keep bots and floods out without hurting real people (no CAPTCHA: it shuts out people with
disabilities). Shared by every form a supporter submits: the petition and the letter."""

from __future__ import annotations

import hashlib
import logging
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

_STARTED_SALT = "plume.form-started"


def sign_form_time(moment: float) -> str:
    """The value of a form's hidden `started` field: the time it was shown, signed so it cannot be forged."""
    return signing.TimestampSigner(salt=_STARTED_SALT).sign(str(int(moment)))


class HumanCheckFormMixin(forms.Form):
    """A honeypot field people never see and a signed time at which the form was shown.

    `suspicion()` names the rule a submission broke, or returns "" for one that looks human. The view
    decides what to do with it (store it flagged and leave it out of the counts, for example).
    """

    # Hidden from people by CSS (class `plume-hp`) and from screen readers by aria-hidden; bots fill it in.
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    min_seconds_to_fill = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["started"].initial = sign_form_time(time.time())

    def suspicion(self) -> str:
        if self.cleaned_data.get("website"):
            return "honeypot"
        try:
            shown = int(signing.TimestampSigner(salt=_STARTED_SALT).unsign(self.cleaned_data.get("started") or ""))
        except (signing.BadSignature, ValueError):
            return "no-form-time"
        if time.time() - shown < self.min_seconds_to_fill:
            return "too-fast"
        return ""


def client_ip(request: HttpRequest) -> str:
    """The visitor's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def hit_rate_limit(bucket: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for `key` in `bucket`; True when it goes over `limit` hits in the current window.

    Shared by all processes through the cache (Redis in production). If the cache is unreachable the hit
    is let through and the fault logged: a rate limit must never stop real people from acting.
    """
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{bucket}:{digest}:{window}"
    try:
        hits = _count_hit(cache_key, window_seconds + 5)
    except Exception:
        log.warning("Rate limit %s not checked: the cache is unreachable", bucket, exc_info=True)
        return False
    return hits > limit


# INCR, and EXPIRE on the first hit of a window: one round trip, atomic. (A pipeline would be one round trip
# too, but redis-py copies its ~170 response callbacks for every pipeline it builds.)
_COUNT_HIT_LUA = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)
_count_hit_script = None


def _count_hit(cache_key: str, ttl: int) -> int:
    global _count_hit_script
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        redis_key = backend.make_and_validate_key(cache_key)
        # Django builds a light client on its shared connection pool for each call.
        client = backend._cache.get_client(redis_key, write=True)
        if _count_hit_script is None:
            _count_hit_script = client.register_script(_COUNT_HIT_LUA)
        return int(_count_hit_script(keys=[redis_key], args=[ttl], client=client))
    return 1 if cache.add(cache_key, 1, ttl) else cache.incr(cache_key)
