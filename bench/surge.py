"""A case's total moving as in a surge, for the page-caching measurements (the `pages` stage of bench/run.py).

    python -m bench.surge CASE_ID SECONDS

Every SECONDS (bench/run.py passes the rollup's interval, PETITION_ROLLUP_INTERVAL_SECONDS) it does to the
ledger what the rollup does when signatures were confirmed meanwhile: adds them to the case's tally in one
transaction, then refreshes the cached totals. Each tick gives the case page a new total, so its whole-page
cache entry (keyed by the total) is rendered anew, as during a surge. Runs until stopped.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from campaign.lib import ledger
    from campaign.models import ActionKind, ActionSource

    case_id, seconds = int(sys.argv[1]), float(sys.argv[2])
    while True:
        time.sleep(seconds)
        # About 700 signatures a second confirmed in a surge; how many does not matter, only that it moves.
        key = ledger.tally_key(case_id, ActionKind.SIGNATURE, ActionSource.ONLINE, "FR", timezone.now())
        with transaction.atomic():
            ledger.add_to_tallies([(key, int(700 * seconds))])
        ledger.refresh_totals()


if __name__ == "__main__":
    main()
