"""Paper sheets: organizers upload a CSV of named rows or of counts per country; each row is checked, the
accepted ones are stored and counted with the source "paper", and the rejected ones are listed in the
import's report.

The report must not tell an uploader who signed: every row refused for its address gets the same reason
(`EMAIL_REFUSED`), and no address is kept in it (`mask_addresses`). It is erased after
PETITION_PAPER_REPORT_DAYS (`retention.forget_old_data`).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey, tally_key
from campaign.lib.outbox import MailStatus
from campaign.models import ActionKind

from ..models import PaperCount, PaperImport, Signature, email_marker, normalise_email
from .signing import name_problem

MAX_PAPER_ROWS = 50_000
# Not a valid address, twice in the file, or already used for this petition: one reason for all three, so that
# the report never tells which addresses have signed.
EMAIL_REFUSED = gettext_lazy(
    "The email address cannot be used (not valid, twice in the file, or already used for this petition)"
)
# Anything with an @ inside a word, as typed in any column: what the report must not keep.
_ADDRESS = re.compile(r"[^\s,;@]*@[^\s,;]*")
# How the files people upload by mistake begin: a spreadsheet or document (ZIP: .xlsx, .ods, .docx), a PDF,
# old Excel (OLE), images.
_BINARY_STARTS = (b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff")


def mask_addresses(text: str) -> str:
    """`text` with every address masked: "ana.lima@example.org" becomes "a***@e***.org"."""
    return _ADDRESS.sub(lambda m: _mask(m.group()), text)


def _mask(address: str) -> str:
    local, _, domain = address.partition("@")
    name, dot, suffix = domain.rpartition(".")
    if not dot:
        name, suffix = domain, ""
    return f"{local[:1]}***@{name[:1]}***{dot}{suffix}"


def find_country(value: str) -> str:
    """An ISO code from a code ("FR", "fr") or an English country name ("France"); "" if unknown."""
    value = value.strip()
    if not value:
        return ""
    if len(value) in (2, 3) and countries.alpha2(value):
        return countries.alpha2(value)
    with translation.override("en"):
        return countries.by_name(value) or ""


@dataclass
class ImportReport:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)

    def reject(self, line: int, row: dict, reason: str) -> None:
        # The email column is masked whatever it holds (an invalid address is still someone's), and so is
        # anything like an address in the other columns.
        values = [_mask(v) if k == "email" and v else mask_addresses(v) for k, v in row.items() if v is not None]
        self.rejected.append({"line": line, "row": ", ".join(values)[:200], "reason": str(reason)})


class PaperFileError(ValueError):
    """The whole file cannot be read (not a CSV, wrong encoding, missing columns, too long); the message says
    what to do, in the uploader's language."""


def _read_csv(content: bytes, required: set[str]) -> Iterator[tuple[int, dict]]:
    if content.startswith(_BINARY_STARTS):
        raise PaperFileError(
            _("This file is not a CSV file (it looks like a spreadsheet, a document or a picture).") + " " + _save_as()
        )
    try:
        if content.startswith(_UTF16_32_BOMS):
            raise UnicodeDecodeError("utf-8", content[:2], 0, 2, "a UTF-16 or UTF-32 byte order mark")
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PaperFileError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from exc
    if "\x00" in text:
        raise PaperFileError(_("The file contains null bytes: it is not a CSV file."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        headers = {(h or "").strip().lower() for h in reader.fieldnames or []}
        missing = required - headers
        if missing:
            raise PaperFileError(
                _("The first line must name the columns; missing: %(columns)s.")
                % {"columns": ", ".join(sorted(missing))}
            )
        found = False
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_PAPER_ROWS:
                raise PaperFileError(_("The file has more than %(n)s rows: split it.") % {"n": MAX_PAPER_ROWS})
            cleaned = {
                (k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()
            }
            if any(cleaned.values()):
                found = True
                yield number, cleaned
    except csv.Error as exc:
        # The reader's own words are English and technical (a 500 before): say what they mean instead.
        line = reader.reader.line_num
        if "field larger than field limit" in str(exc):
            raise PaperFileError(
                _("Line %(line)s has a field longer than 128 KB: this is not a sheet of signatures.") % {"line": line}
            ) from exc
        raise PaperFileError(
            _("The file cannot be read as CSV near line %(line)s.") % {"line": line} + " " + _save_as()
        ) from exc
    if not found:
        raise PaperFileError(_("The file has no rows below its first line."))


def _save_as() -> str:
    return _("Save the sheet as “CSV UTF-8” and upload that file.")


def _required_columns(kind: str) -> set[str]:
    return {"country", "count"} if kind == PaperImport.Kind.COUNTS else {"name", "country"}


def check_paper_file(content: bytes, kind: str) -> None:
    """Raise PaperFileError if the file as a whole cannot be imported (rows are checked one by one later)."""
    for _row in _read_csv(content, _required_columns(kind)):
        pass


def import_paper_signatures(paper_import: PaperImport, content: bytes) -> PaperImport:
    """Validate each row of an uploaded CSV, store and count the accepted ones with the source "paper",
    and keep the rejected ones with their reason in the import's report. One transaction.

    `paper_import` is unsaved, with case, kind, event, day and uploaded_by set. Raises PaperFileError when
    the file as a whole cannot be read (nothing is stored then).
    """
    report = ImportReport()
    case = paper_import.case
    day = paper_import.day
    noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
    tallies: Counter[TallyKey] = Counter()
    with transaction.atomic():
        paper_import.save()
        if paper_import.kind == PaperImport.Kind.COUNTS:
            per_country: Counter[str] = Counter()
            for line, row in _read_csv(content, _required_columns(paper_import.kind)):
                country = find_country(row.get("country", ""))
                if not country and row.get("country"):
                    report.reject(line, row, _("Unknown country"))
                    continue
                try:
                    n = int(row.get("count", ""))
                except ValueError:
                    report.reject(line, row, _("The count is not a whole number"))
                    continue
                if not 0 < n <= 1_000_000:
                    report.reject(line, row, _("The count must be between 1 and 1,000,000"))
                    continue
                per_country[country] += n
            PaperCount.objects.bulk_create(
                PaperCount(paper_import=paper_import, country=c, count=n) for c, n in per_country.items()
            )
            for country, n in per_country.items():
                tallies[tally_key(case.pk, ActionKind.SIGNATURE, Signature.Source.PAPER, country, day)] += n
            report.accepted = sum(per_country.values())
        else:
            seen: set[str] = set()
            new: list[tuple[int, dict, Signature]] = []
            for line, row in _read_csv(content, _required_columns(paper_import.kind)):
                name = row.get("name", "")
                problem = name_problem(name)
                if problem:
                    report.reject(line, row, problem)
                    continue
                country = find_country(row.get("country", ""))
                if not country:
                    report.reject(line, row, _("Unknown or missing country"))
                    continue
                email, normalised, marker = row.get("email", ""), "", ""
                if email:
                    try:
                        validate_email(email)
                    except ValidationError:
                        report.reject(line, row, EMAIL_REFUSED)
                        continue
                    normalised = normalise_email(email)
                    marker = email_marker(normalised)
                    if marker in seen:
                        report.reject(line, row, EMAIL_REFUSED)
                        continue
                    seen.add(marker)
                new.append(
                    (
                        line,
                        row,
                        Signature(
                            case=case,
                            name=name,
                            email=email,
                            email_normalised=normalised,
                            email_marker=marker,
                            country=country,
                            source=Signature.Source.PAPER,
                            status=Signature.Status.CONFIRMED,
                            confirmed_at=noon,
                            counted_at=timezone.now(),
                            # People who signed on paper did not ask for mail.
                            mail_status=MailStatus.NONE,
                            paper_import=paper_import,
                        ),
                    )
                )
            # Also the signatures whose address was erased: their marker stays.
            already = set(
                Signature.objects.filter(case=case, email_marker__in=seen).values_list("email_marker", flat=True)
            )
            keep = []
            for line, row, signature in new:
                if signature.email_marker and signature.email_marker in already:
                    report.reject(line, row, EMAIL_REFUSED)
                else:
                    keep.append(signature)
            Signature.objects.bulk_create(keep, batch_size=2000)
            for signature in keep:
                key = tally_key(case.pk, ActionKind.SIGNATURE, Signature.Source.PAPER, signature.country, noon)
                tallies[key] += 1
            report.accepted = len(keep)
        ledger.add_to_tallies(tallies.items())
        paper_import.accepted = report.accepted
        paper_import.rejected = len(report.rejected)
        paper_import.report = report.rejected
        paper_import.save(update_fields=["accepted", "rejected", "report"])
    ledger.refresh_totals()
    return paper_import
