"""Paper sheets: organizers upload a CSV or XLSX file of named rows or of counts per country; each row is
checked, the accepted ones are stored and counted with the source "paper", and the rejected ones are listed,
with a reason written for the organizer, in the import's report.

Files come as sections really have them (`read_sheet`): CSV with commas, semicolons or tabs, in UTF-8 (with
or without its byte-order mark), UTF-16 with its mark, or Windows-1252/Latin-1 (what Excel saves as "CSV"
in Western Europe), told apart from the bytes; or an XLSX workbook (its first sheet). Headers in any
configured language (`COLUMNS`, as the tally sheets print them: organizers/exports/tally_sheet.py), countries
as ISO codes or by their name in any configured language (`find_country`).

The report must not tell an uploader who signed: every row refused for its address gets the same reason
(`EMAIL_REFUSED`), and no address is kept in it (`mask_addresses`). It is erased after
PETITION_PAPER_REPORT_DAYS (`retention.forget_old_data`).
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django_countries import countries

from campaign.lib import ledger
from campaign.lib.ledger import TallyKey, tally_key
from campaign.lib.outbox import MailStatus
from campaign.models import ActionKind

from ..models import PaperCount, PaperImport, Signature, email_marker, normalise_email
from . import signing
from .signing import NAME_MAX_LENGTH, name_problem

MAX_PAPER_ROWS = 50_000
# An XLSX file is a ZIP: what its parts may expand to before it is refused (a 10 MB file of 2 GB of XML).
MAX_XLSX_EXPANDED_BYTES = 200 * 1024 * 1024
# Not a valid address, twice in the file, or already used for this petition: one reason for all three, so that
# the report never tells which addresses have signed.
EMAIL_REFUSED = gettext_lazy(
    "The email address cannot be used (not valid, twice in the file, or already used for this petition)"
)
# The columns of a sheet, as printed on the tally sheets and read in the first line of a file, in every
# configured language (and in English, and as these keys).
COLUMNS = {
    "name": pgettext_lazy("paper sheet column", "name"),
    "country": pgettext_lazy("paper sheet column", "country"),
    "email": pgettext_lazy("paper sheet column", "email"),
    "count": pgettext_lazy("paper sheet column", "count"),
}
# Other headers sections write, normalised (`_plain`).
HEADER_SYNONYMS = {
    "name": ("fullname", "nomcomplet", "prenometnom", "nomprenom", "nombrecompleto", "nombreyapellidos", "signataire"),
    "country": ("countrycode", "codepays", "pais", "paisderesidencia", "الدولة"),
    "email": ("mail", "emailaddress", "courriel", "adressemail", "adresseemail", "correo", "correoelectronico"),
    "count": ("number", "total", "signatures", "cantidad", "numero", "nombredesignatures"),
}
# Anything with an @ inside a word, as typed in any column: what the report must not keep.
_ADDRESS = re.compile(r"[^\s,;@]*@[^\s,;]*")
# How the files people upload by mistake begin: a document (ZIP that is not a workbook: .ods, .docx), a PDF,
# old Excel (OLE), images.
_PDF_OR_IMAGE_STARTS = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
_OLE_START = b"\xd0\xcf\x11\xe0"
_ZIP_START = b"PK\x03\x04"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def column_header(column: str) -> str:
    """The header of a column in the active language, as a tally sheet prints it."""
    return str(COLUMNS[column])


def mask_addresses(text: str) -> str:
    """`text` with every address masked: "ana.lima@example.org" becomes "a***@e***.org"."""
    return _ADDRESS.sub(lambda m: _mask(m.group()), text)


def _mask(address: str) -> str:
    local, _, domain = address.partition("@")
    name, dot, suffix = domain.rpartition(".")
    if not dot:
        name, suffix = domain, ""
    return f"{local[:1]}***@{name[:1]}***{dot}{suffix}"


def _plain(text: str) -> str:
    """`text` compared loosely: no accents or Arabic vowel marks, no case, no spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _languages() -> list[str]:
    return list(dict.fromkeys(["en", *(code for code, _name in settings.LANGUAGES)]))


@functools.lru_cache(maxsize=8)
def _country_lookup(languages: tuple[str, ...]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for language in languages:
        with translation.override(language):
            for code, name in countries:
                lookup.setdefault(_plain(str(name)), code)
    for code, _name in countries:
        lookup.setdefault(_plain(countries.alpha3(code) or ""), code)
        lookup[_plain(code)] = code
    lookup.pop("", None)
    return lookup


def find_country(value: str) -> str:
    """An ISO code from a code ("FR", "fr", "FRA") or a country's name in English or any configured language
    ("France", "Algérie", "ARGELIA", "الجزائر"), accents and case aside; "" if unknown."""
    return _country_lookup(tuple(_languages())).get(_plain(value), "") if value.strip() else ""


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
    """The whole file cannot be read (not a CSV or XLSX file, missing columns, too long); the message says what
    to do, in the uploader's language."""


def _save_as() -> str:
    return _("Save the sheet as “CSV UTF-8” or as an Excel workbook (XLSX) and upload that file.")


def decode_text(content: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without its mark), UTF-16 with its mark, else Windows-1252 (which
    Latin-1 text also reads as, but for five bytes Windows-1252 leaves undefined)."""
    if content.startswith(_UTF16_BOMS):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise PaperFileError(_("The file cannot be read as UTF-16 text.") + " " + _save_as()) from exc
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError:
            return content.decode("latin-1")


def _header_columns(headers: list[str], kind: str) -> list[str]:
    """Each header's column ("name", "country", ...), or the header itself when it is none of them. The kind's
    own columns are matched first: "nombre" is a count in French and a name in Spanish."""
    wanted = ["country", "count"] if kind == PaperImport.Kind.COUNTS else ["name", "country", "email"]
    aliases: dict[str, str] = {}
    for column in [*wanted, *(c for c in COLUMNS if c not in wanted)]:
        names = {column, *HEADER_SYNONYMS[column]}
        for language in _languages():
            with translation.override(language):
                names.add(str(COLUMNS[column]))
        for name in names:
            aliases.setdefault(_plain(name), column)
    return [aliases.get(_plain(h), h.strip().lower()) for h in headers]


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    text = decode_text(content)
    if "\x00" in text:
        raise PaperFileError(_("The file contains null bytes: it is not a CSV file.") + " " + _save_as())
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    # The separator is the one the first line uses most: commas, semicolons (Excel in most of Europe), tabs.
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        # The reader's own words are English and technical (a 500 before): say what they mean instead.
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            raise PaperFileError(
                _("Line %(line)s has a field longer than 128 KB: this is not a sheet of signatures.") % {"line": line}
            ) from exc
        raise PaperFileError(
            _("The file cannot be read as CSV near line %(line)s.") % {"line": line} + " " + _save_as()
        ) from exc


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = archive.namelist()
        expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise PaperFileError(_("This file is damaged: it cannot be opened.") + " " + _save_as()) from exc
    if "xl/workbook.xml" not in names:
        raise PaperFileError(
            _("This file is not a CSV file or an Excel workbook (it looks like another document).") + " " + _save_as()
        )
    if expanded > MAX_XLSX_EXPANDED_BYTES:
        raise PaperFileError(_("This workbook is too large once opened: split it."))
    try:
        # Read-only: rows are streamed from the sheet's XML, never all built in memory.
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in row]
        book.close()
    except PaperFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds of errors for a damaged workbook
        raise PaperFileError(_("This workbook cannot be read.") + " " + _save_as()) from exc


def read_sheet(content: bytes, kind: str) -> Iterator[tuple[int, dict]]:
    """Each row of the file below its header, as (line number, {column: value}) with empty rows left out.
    Raises PaperFileError for a file that cannot be read as a whole."""
    if content.startswith(_PDF_OR_IMAGE_STARTS):
        raise PaperFileError(
            _("This file is not a CSV file (it looks like a document or a picture).") + " " + _save_as()
        )
    if content.startswith(_OLE_START):
        raise PaperFileError(_("This is an old Excel file (.xls).") + " " + _save_as())
    rows = _xlsx_rows(content) if content.startswith(_ZIP_START) else _csv_rows(content)
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        raise PaperFileError(_("The file has no rows below its first line."))
    columns = _header_columns(header, kind)
    missing = [c for c in _required_columns(kind) if c not in columns]
    if missing:
        raise PaperFileError(
            _("The first line must name the columns; missing: %(columns)s.")
            % {"columns": ", ".join(column_header(c) for c in missing)}
        )
    found = False
    for number, cells in enumerate(rows, start=2):
        if number - 1 > MAX_PAPER_ROWS:
            raise PaperFileError(_("The file has more than %(n)s rows: split it.") % {"n": MAX_PAPER_ROWS})
        row = {column: cells[i].strip() if i < len(cells) else "" for i, column in enumerate(columns) if column}
        if any(row.values()):
            found = True
            yield number, row
    if not found:
        raise PaperFileError(_("The file has no rows below its first line."))


def _required_columns(kind: str) -> list[str]:
    return ["country", "count"] if kind == PaperImport.Kind.COUNTS else ["name", "country"]


def check_paper_file(content: bytes, kind: str) -> None:
    """Raise PaperFileError if the file as a whole cannot be imported (rows are checked one by one later)."""
    for _row in read_sheet(content, kind):
        pass


def name_reason(name: str) -> str:
    """Why a name on a sheet cannot be counted, said to the organizer who typed it up ("" when it can): the
    rules of the petition's form (`signing.name_problem`)."""
    if not name_problem(name):
        return ""
    plain = unicodedata.normalize("NFKC", name)
    if not name.strip():
        return _("No name on this line")
    if len(name) > NAME_MAX_LENGTH:
        return _("The name is longer than %(n)s characters: check it on the sheet") % {"n": NAME_MAX_LENGTH}
    if signing._EMAIL.search(plain):
        return _("The name holds an email address: put it in the email column, or leave it out")
    if signing._URL.search(plain):
        return _("The name holds a web address (or a word with a dot inside, such as “example.org”)")
    if signing._LONG_NUMBER.search(plain):
        return _("The name holds a phone number or another long number")
    return _("The name holds invisible control characters: type it again")


def country_reason(value: str) -> str:
    if not value.strip():
        return _("No country on this line: write its name or its code, such as FR")
    return _(
        "Country “%(country)s” not recognised: write its name in one of the site's languages or its code, such as FR"
    ) % {"country": value[:60]}


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
            for line, row in read_sheet(content, paper_import.kind):
                country = find_country(row.get("country", ""))
                if not country and row.get("country"):
                    report.reject(line, row, country_reason(row["country"]))
                    continue
                try:
                    n = int(row.get("count", "").replace(" ", "").replace("\u202f", "").replace("\xa0", ""))
                except ValueError:
                    report.reject(
                        line,
                        row,
                        _("The count “%(count)s” is not a whole number") % {"count": row.get("count", "")[:30]},
                    )
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
            for line, row in read_sheet(content, paper_import.kind):
                name = " ".join(row.get("name", "").split())
                problem = name_reason(name)
                if problem:
                    report.reject(line, row, problem)
                    continue
                country = find_country(row.get("country", ""))
                if not country:
                    report.reject(line, row, country_reason(row.get("country", "")))
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
