"""Who brought whom, for the organizers' dashboard: confirmed, countable signatures by the channel they came
through, and how many recruits each share code brought, as a distribution. Never who: no code, name or
address leaves this module."""

from __future__ import annotations

from django.db.models import Count

from campaign.models import Campaign
from petitions.models import Channel, Signature

# Recruits per code, grouped as organizers read them: (lowest, highest or None, label).
BUCKETS = ((0, 0, "0"), (1, 1, "1"), (2, 2, "2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, None, "11+"))


def referral_summary(campaign: Campaign) -> dict:
    """Three GROUP BY queries over the campaign's signatures."""
    countable = Signature.objects.countable().filter(case__campaign=campaign).order_by()
    labels = dict(Channel.choices)
    by_channel = sorted(
        (
            {"channel": row["channel"], "label": labels.get(row["channel"], ""), "count": row["n"]}
            for row in countable.values("channel").annotate(n=Count("pk"))
        ),
        key=lambda row: (-row["count"], row["channel"]),
    )
    # Only codes that still exist: a code erased with its signer's address, or of a deleted signature, counts
    # for nobody.
    codes = Signature.objects.filter(case__campaign=campaign).exclude(share_code="").order_by()
    per_code = list(
        countable.exclude(referral_code="")
        .filter(referral_code__in=codes.values("share_code"))
        .values("referral_code")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    )
    code_count = codes.count()
    counts = [0] * (code_count - len(per_code)) + per_code
    distribution = [
        {"label": label, "codes": sum(1 for n in counts if n >= low and (high is None or n <= high))}
        for low, high, label in BUCKETS
    ]
    return {
        "by_channel": by_channel,
        "signatures": sum(row["count"] for row in by_channel),
        "through_links": sum(row["count"] for row in by_channel if row["channel"]),
        "codes": code_count,
        "recruits": sum(per_code),
        "distribution": distribution,
    }
