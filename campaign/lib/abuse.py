"""Checks that keep bots and floods out without hurting real people (no CAPTCHA: it shuts out people with
disabilities). Shared by every form a supporter submits: the petition and the letter."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import NamedTuple

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
        if not self.is_bound:  # A submitted form carries its own time.
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


class RateLimit(NamedTuple):
    """At most `limit` hits for `key` in `bucket` per window of `window_seconds`."""

    bucket: str
    key: str
    limit: int
    window_seconds: int

    def cache_key(self) -> str:
        window = int(time.time() // self.window_seconds)
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"ratelimit:{self.bucket}:{digest}:{window}"


def hit_rate_limit(*limits: RateLimit) -> RateLimit | None:
    """Count one hit in each of `limits`; the first that goes over, or None when all pass.

    Shared by all processes through the cache (Redis in production: one round trip for all the limits).
    If the cache is unreachable the hit is let through and the fault logged: a rate limit must never stop
    real people from acting.
    """
    try:
        over = _count_hits(limits)
    except Exception:
        log.warning(
            "Rate limits %s not checked: the cache is unreachable", [lim.bucket for lim in limits], exc_info=True
        )
        return None
    return limits[over - 1] if over else None


# INCR each key, EXPIRE it on the first hit of its window, and return the (1-based) position of the first key
# over its limit, or 0: one round trip, atomic. (A pipeline would be one round trip too, but redis-py copies
# its ~170 response callbacks for every pipeline it builds.) ARGV holds (ttl, limit) pairs.
_COUNT_HITS_LUA = """
local over = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[2 * i - 1]) end
  if over == 0 and n > tonumber(ARGV[2 * i]) then over = i end
end
return over
"""
_count_hits_script = None


def _count_hits(limits: tuple[RateLimit, ...]) -> int:
    global _count_hits_script
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(lim.cache_key()) for lim in limits]
        client = backend._cache.get_client(keys[0], write=True)
        if _count_hits_script is None:
            _count_hits_script = client.register_script(_COUNT_HITS_LUA)
        args = [n for lim in limits for n in (lim.window_seconds + 5, lim.limit)]
        return int(_count_hits_script(keys=keys, args=args, client=client))
    # Other caches (the embedded default): add-or-increment, one key at a time.
    over = 0
    for position, lim in enumerate(limits, start=1):
        key = lim.cache_key()
        hits = 1 if cache.add(key, 1, lim.window_seconds + 5) else cache.incr(key)
        if not over and hits > lim.limit:
            over = position
    return over
