"""`manage.py export_case_pack <campaign key> <file>`: write a campaign's case pack (see docs/sections.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from sections.services import casepacks


class Command(BaseCommand):
    help = "Write a campaign's case pack (a ZIP of its cases' texts in every language and photos)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("campaign", help="The campaign's key, for example write-for-rights-2020.")
        parser.add_argument("output", help="The ZIP file to write.")

    def handle(self, *args, campaign: str, output: str, **options) -> None:
        found = Campaign.objects.filter(key=campaign).first()
        if found is None:
            raise CommandError(f"No campaign has the key {campaign!r}.")
        Path(output).write_bytes(casepacks.export_case_pack(found))
        self.stdout.write(f"Wrote the case pack of {found.key} ({found.cases.count()} cases) to {output}.")
