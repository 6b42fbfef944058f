"""`manage.py import_case_pack <file or address>`: import a case pack (see docs/sections.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sections.models import CasePackImport
from sections.services import casepack_import


class Command(BaseCommand):
    help = "Import a case pack from a file or an http(s) address; prints what it changed and what it left."

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="A case pack's ZIP file (or pack.json), or its address.")

    def handle(self, *args, source: str, **options) -> None:
        row, report = casepack_import.import_from_source(source)
        for problem in report.problems:
            where = " ".join(part for part in (problem["case"], problem["detail"]) if part)
            self.stderr.write(f"{casepack_import.PROBLEMS.get(problem['code'], problem['code'])} {where}".strip())
        if row.status != CasePackImport.Status.DONE:
            raise CommandError("The case pack was refused: nothing was changed.")
        self.stdout.write(f"Imported {row.campaign_key} (revision {row.revision}).")
        if report.created:
            self.stdout.write(f"Cases created: {', '.join(report.created)}")
        for key, fields in report.updated.items():
            self.stdout.write(f"Updated {key}: {', '.join(fields)}")
        for key, fields in report.kept.items():
            self.stdout.write(f"Left as this site changed them, {key}: {', '.join(fields)}")
