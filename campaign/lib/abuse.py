"""Checks that keep bots and floods out without hurting real people (no CAPTCHA: it shuts out people with
disabilities). Shared by every form a supporter submits: the petition and the letter."""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

_STARTED_SALT = "plume.form-started"

# Shown when a form comes back after FORM_EXPIRES_AFTER_SECONDS (an hour): someone who left the page open gets
# the form again as they filled it in, with a fresh time, and sends it once more.
FORM_EXPIRED_MESSAGE = _(
    "This page was open for a long time, so nothing was sent yet. Please check the form and send it again."
)


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

    def _shown_at(self) -> int | None:
        """When the form was shown (the signed time it carried), or None if it carried no genuine time."""
        try:
            return int(signing.TimestampSigner(salt=_STARTED_SALT).unsign(self.cleaned_data.get("started") or ""))
        except (signing.BadSignature, ValueError):
            return None

    def clean(self) -> dict:
        data = super().clean()
        shown = self._shown_at()
        if shown is not None and time.time() - shown > settings.FORM_EXPIRES_AFTER_SECONDS:
            # A signed time is only good for so long, or one value fetched once would serve a robot for ever.
            # The form goes back with what was typed and a new time: sending it again works.
            self.data = self.data.copy()
            self.data[self.add_prefix("started")] = sign_form_time(time.time())
            raise forms.ValidationError(FORM_EXPIRED_MESSAGE, code="expired")
        return data

    def suspicion(self) -> str:
        if self.cleaned_data.get("website"):
            return "honeypot"
        shown = self._shown_at()
        if shown is None:
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


def network_key(key: str) -> str:
    """What a rate limit counts for `key`: an IPv4 address as it is, an IPv6 address as its /64 (one visitor
    usually holds a whole /64 and may change address within it at will), and an address followed by
    `:something` (an address and a text, say) likewise. Any other key is returned as it is."""
    if not key:
        return key
    for address, rest in ((key, ""), (key.rpartition(":")[0], ":" + key.rpartition(":")[2])):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.version == 6 and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped) + rest
        if ip.version == 6:
            return str(ipaddress.IPv6Network((ip, 64), strict=False)) + rest
        return str(ip) + rest
    return key


def client_network(request: HttpRequest) -> str | None:
    """The visitor's address as the limits count it, written as an address (an IPv6 /64 as its first address),
    or None when unknown: for other counters of the same visitor, such as the staff sign-in lockout
    (settings.AXES_CLIENT_IP_CALLABLE)."""
    return network_key(client_ip(request)).removesuffix("/64") or None


class RateLimit(NamedTuple):
    """At most `limit` hits for `key` in `bucket` per window of `window_seconds`.

    A key that is a network address (or starts with one, followed by `:` and more) counts per network, not
    per address: see network_key. So views build their limits from client_ip() as it is.
    """

    bucket: str
    key: str
    limit: int
    window_seconds: int

    def cache_key(self) -> str:
        window = int(time.time() // self.window_seconds)
        # Keyed: a plain hash of an IPv4 address is undone by trying all 2**32 of them.
        digest = salted_hmac("plume.rate-limit", network_key(self.key)).hexdigest()[:32]
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
