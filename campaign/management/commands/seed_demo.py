"""Load the Write for Rights 2020 campaign and its ten cases (idempotent: run it as often as you like).

Its texts are in every language Plume ships (campaign/data/write-for-rights-2020.json). By default the campaign
opens today and runs as long as the real one did, so that its petitions can be signed; every date the demo
shows agrees with that: the good news of a case is dated the day the campaign opened (never before it, never
in the future), and the outcome texts carry no date of their own. `--historical-dates` keeps the real ones.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign, Case

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "write-for-rights-2020.json"
# Published on purpose: demo users exist only with DEBUG on and the demo key, which serves loopback only (see
# _demo_users and settings.RUNS_WITH_DEMO_KEY).
DEMO_PASSWORD = "plume-demo-password"  # noqa: S105
DEMO_USERS = [("admin", None), ("moderator", "Moderators"), ("organizer", "Organizers")]


def _texts(field: str, texts: dict[str, dict[str, str]], default: str = "") -> dict[str, str]:
    """One column a language (`name_en`, `name_fr`, ...); a language without this text gets `default` (empty:
    the pages fall back to the default language's text)."""
    return {f"{field}_{lang}": values.get(field, default) for lang, values in texts.items()}


def _outcome_date(real: str | None, opened: datetime.date, real_start: str) -> datetime.date | None:
    """The date a case's good news shows: the real one when the campaign keeps its real dates, else the day the
    demo campaign opened (the real one came months after the campaign, so moved with it, it would lie in the
    future). None when the real date is not known."""
    if real is None:
        return None
    if opened == datetime.date.fromisoformat(real_start):
        return datetime.date.fromisoformat(real)
    return opened


class Command(BaseCommand):
    help = "Load the Write for Rights 2020 demo campaign (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--historical-dates",
            action="store_true",
            help="Use the real 2020 dates (the campaign is then closed). By default a new demo campaign opens "
            "today and runs as long as the real one did, so that its petitions can be signed.",
        )
        parser.add_argument(
            "--with-demo-users",
            action="store_true",
            help=f"Also create the staff users admin, moderator and organizer with the password {DEMO_PASSWORD!r} "
            "(refused unless DEBUG is on and no SECRET_KEY is set: the demo, on this machine only).",
        )

    @transaction.atomic
    def handle(self, *args, historical_dates: bool, with_demo_users: bool, **options) -> None:
        data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
        info = data["campaign"]
        # Midnight in TIME_ZONE, the days pages show: the campaign runs from the first day to the end of the last.
        zone = timezone.get_current_timezone()
        starts = datetime.datetime.combine(datetime.date.fromisoformat(info["starts"]), datetime.time(), tzinfo=zone)
        ends = datetime.datetime.combine(
            datetime.date.fromisoformat(info["ends"]) + datetime.timedelta(days=1), datetime.time(), tzinfo=zone
        )
        if not historical_dates:
            today = datetime.datetime.combine(timezone.localdate(), datetime.time(), tzinfo=zone)
            starts, ends = today, today + (ends - starts)

        campaign, created = Campaign.objects.get_or_create(
            slug=info["slug"],
            defaults={"opens_at": starts, "closes_at": ends, "status": Campaign.Status.PUBLISHED},
        )
        # Texts are refreshed on every run; dates and status only on creation, so an organizer's changes stay.
        for name, value in {**_texts("name", info["text"]), **_texts("intro", info["text"])}.items():
            setattr(campaign, name, value)
        campaign.hashtag = info.get("hashtag", "")
        campaign.save()
        opened = timezone.localdate(campaign.opens_at)

        for item in data["cases"]:
            texts = item["text"]
            fields = {
                "country": item["country"],
                "display_order": item["display_order"],
                "authority_language": item.get("authority_language", ""),
                # Names are written per language where the script differs (Arabic); elsewhere the name as is.
                **_texts("name", texts, default=item["name"]),
            }
            for field in ("role", "summary", "ask", "outcome", "authority", "authority_address"):
                fields.update(_texts(field, texts))
            if any(t.get("outcome") for t in texts.values()):
                fields["status"] = Case.Status.GOOD_NEWS
                fields["outcome_date"] = _outcome_date(item.get("outcome_date"), opened, info["starts"])
            case, case_created = Case.objects.get_or_create(campaign=campaign, slug=item["slug"], defaults=fields)
            if not case_created:
                for name, value in fields.items():
                    setattr(case, name, value)
                case.save()

        verb = "Created" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {campaign.name_en}: {len(data['cases'])} cases, open from {opened:%Y-%m-%d} "
                f"to {timezone.localdate(campaign.closes_at) - datetime.timedelta(days=1):%Y-%m-%d} (the last day)."
            )
        )
        if with_demo_users:
            self._demo_users()

    def _demo_users(self) -> None:
        if not (settings.DEBUG and settings.RUNS_WITH_DEMO_KEY):
            raise CommandError(
                "Demo users have a published password: they are only created when DEBUG is on and no SECRET_KEY is "
                "set (the demo, which answers on this machine only)."
            )
        User = get_user_model()
        for username, group in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_superuser = group is None
                user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
        self.stdout.write(
            f"Demo staff users: admin, moderator, organizer (password {DEMO_PASSWORD!r}) at {settings.SITE_URL}/admin/"
        )
