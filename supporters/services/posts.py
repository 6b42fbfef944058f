"""Solidarity posts started here: counted once per visitor, case and day, without keeping who.

A visitor who opens a network's compose page from a case (`count_post`) is recognised for the day by a keyed
hash (HMAC) of their network (an IPv6 /64 as one, as the rate limits count), the case and the day, kept in the
cache with an expiry of two days: only whether that hash was seen is kept, never the address. A first post
of the day adds one to a counter per case and day in the cache; `fold_posts`, every minute, moves those
counters into the ledger (kind "post", source online, country unknown), so no request writes to the database.

What it trades: counters still in the cache when it is flushed or lost are not counted (at most a minute of
posts); a worker that dies between taking a counter and committing gives it back (see `fold_posts`).
"""

from __future__ import annotations

import datetime
import logging

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from campaign.lib import ledger
from campaign.lib.abuse import client_ip, network_key
from campaign.lib.ledger import tally_key
from campaign.lib.locks import advisory_lock
from campaign.models import ActionKind, ActionSource, Case

log = logging.getLogger(__name__)

SEEN_SECONDS = 2 * 86400
# Counters live longer than the days fold_posts looks back over, so that none expires before it is folded.
COUNTER_SECONDS = 5 * 86400
FOLD_DAYS = 3
FOLD_LOCK = "supporters:fold-posts"


def counter_key(case_id: int, day: datetime.date) -> str:
    return f"supporters:posts:{day.isoformat()}:{case_id}"


def visitor_key(request: HttpRequest, case: Case, day: datetime.date) -> str:
    # Keyed: a plain hash of an IPv4 address, a case and a day is undone by trying every address.
    digest = salted_hmac("supporters.post", f"{network_key(client_ip(request))}|{case.pk}|{day}").hexdigest()
    return f"supporters:post-seen:{digest[:32]}"


def count_post(request: HttpRequest, case: Case) -> bool:
    """Count a solidarity post started for `case` by this visitor, once a day. True when it counted.

    Never fails the visitor: with the cache down the post is not counted and the fault is logged.
    """
    day = timezone.localdate()
    try:
        if not cache.add(visitor_key(request, case, day), 1, SEEN_SECONDS):
            return False
        key = counter_key(case.pk, day)
        cache.add(key, 0, COUNTER_SECONDS)
        cache.incr(key)
    except Exception:
        log.warning("A solidarity post for case %s was not counted: the cache is unreachable", case.pk, exc_info=True)
        return False
    return True


def fold_posts(today: datetime.date | None = None) -> int:
    """Move the posts counted in the cache over the last FOLD_DAYS days into the ledger; returns how many.

    Single runner (an advisory lock). Each counter is taken down by what was read (a post counted meanwhile
    stays for the next run) before the ledger is written; if writing fails, what was taken is given back.
    """
    today = today or timezone.localdate()
    days = [today - datetime.timedelta(days=n) for n in range(FOLD_DAYS)]
    case_ids = list(Case.objects.public().values_list("pk", flat=True))
    keys = {counter_key(case_id, day): (case_id, day) for case_id in case_ids for day in days}
    folded = 0
    with transaction.atomic():
        if not advisory_lock(FOLD_LOCK, wait=False):
            return 0
        try:
            found = {key: int(n) for key, n in cache.get_many(list(keys)).items() if n and int(n) > 0}
        except Exception:
            log.warning("Solidarity posts not folded: the cache is unreachable", exc_info=True)
            return 0
        taken: dict[str, int] = {}
        try:
            for key, n in found.items():
                cache.decr(key, n)
                taken[key] = n
            ledger.add_to_tallies(
                (tally_key(keys[key][0], ActionKind.POST, ActionSource.ONLINE, "", keys[key][1]), n)
                for key, n in taken.items()
            )
        except Exception:
            for key, n in taken.items():
                cache.incr(key, n)
            raise
        folded = sum(taken.values())
    if folded:
        ledger.refresh_totals()
    return folded
