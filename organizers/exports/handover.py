"""The hand-over pack: a case's petition printed for the authority, as an export job (organizers/exports/base.py).

Registered in OrganizersConfig.ready(). In the language the authority reads (`Case.authority_language`, else
the campaign's): a cover letter from the organisation, the petition's text, the authority's name and
address, the total and a table by country, then the names and countries of the countable signatures
(`Signature.objects.for_authority`: never an email), numbered. Volumes of VOLUME_NAMES names, each a PDF;
more than one come as a ZIP. Each volume is rendered in parts of PART_NAMES names (organizers/exports/pdf.py),
so the worker's memory is that of one part however many names there are.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from campaign.models import Case, ExportJob
from petitions.models import Signature

from .base import PDF_A4, PDF_FORMATS, Exporter, paper_size, request_export
from .pdf import PdfBook, text_direction

KIND = "handover"
VOLUME_NAMES = 5000
PART_NAMES = 500
TEMPLATE = "organizers/packs/handover.html"


def authority_language(case: Case) -> str:
    """The language the pack is printed in: the authority's, else the campaign's first language."""
    return case.authority_language or case.campaign.default_language or settings.LANGUAGE_CODE


def _signatures(job: ExportJob, last_pk: int | None):
    signatures = Signature.objects.for_authority(job.case, job.country)
    # The names counted on the cover are the names listed: signatures that arrive meanwhile wait for the next pack.
    return signatures.filter(pk__lte=last_pk) if last_pk is not None else signatures.none()


def count_names(job: ExportJob) -> int:
    return Signature.objects.for_authority(job.case, job.country).count()


def _names(signatures, country_names: dict[str, str]) -> Iterator[tuple[int, str, str, str]]:
    """(number, name, country, the name's direction): each name reads in its own direction, whatever the
    page's (a Latin name in an Arabic pack, an Arabic one in an English pack)."""
    rows = signatures.values_list("name", "country").iterator(chunk_size=2000)
    for number, (name, code) in enumerate(rows, start=1):
        yield number, name, country_names.get(code, ""), text_direction(name)


def _take(rows: Iterator, n: int) -> list:
    part = []
    for row in rows:
        part.append(row)
        if len(part) == n:
            break
    return part


def write_handover_pack(job: ExportJob, path: Path, progress: Callable[[int], None]) -> tuple[int, str]:
    """Write the pack: one PDF, or a ZIP of PDF volumes. Returns the names written and the file's extension."""
    case = job.case
    last_pk = Signature.objects.for_authority(case, job.country).aggregate(last=Max("pk"))["last"]
    signatures = _signatures(job, last_pk)
    language = authority_language(case)
    with translation.override(language):
        country_names = {code: str(name) for code, name in countries}
        by_country = [
            (country_names.get(row["country"], _("Unknown")), row["n"])
            for row in signatures.order_by().values("country").annotate(n=Count("pk")).order_by("-n", "country")
        ]
        total = sum(n for _name, n in by_country)
        volumes = max(1, -(-total // VOLUME_NAMES))
        context = {
            "case": case,
            "campaign": case.campaign,
            "language": language,
            "direction": "rtl" if translation.get_language_bidi() else "ltr",
            "organisation": getattr(settings, "ORGANISATION_NAME", "") or case.campaign.name,
            "today": timezone.localdate(),
            "total": total,
            "by_country": by_country,
            "country": country_names.get(job.country, "") if job.country else "",
            "volumes": volumes,
        }
        rows = _names(signatures, country_names)
        paper = paper_size(job.format)
        done = 0
        files: list[Path] = []
        try:
            for volume in range(1, volumes + 1):
                volume_path = path.with_name(f"{path.name}.{volume}.pdf")
                files.append(volume_path)
                book = PdfBook(volume_path, paper)
                first = done + 1
                last = min(done + VOLUME_NAMES, total)
                # The opening (cover letter, petition, table by country) in volume 1; a title page in the others.
                footer = _("Petition for %(case)s · volume %(volume)s of %(volumes)s") % {
                    "case": case.name,
                    "volume": volume,
                    "volumes": volumes,
                }
                opening = "opening" if volume == 1 else "title"
                part = {**context, "volume": volume, "footer": footer, "first": first, "last": last}
                book.add(TEMPLATE, {**part, "part": opening, "names": []})
                while done < last:
                    names = _take(rows, min(PART_NAMES, last - done))
                    if not names:
                        break
                    book.add(TEMPLATE, {**part, "part": "names", "names": names})
                    done += len(names)
                    progress(done)
                book.close(title=_("Petition: %(case)s") % {"case": case.name})
            if volumes == 1:
                files[0].rename(path)
                return done, "pdf"
            # The volumes are compressed PDFs already: stored as they are.
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
                for volume, volume_path in enumerate(files, start=1):
                    archive.write(volume_path, _volume_name(case, volume, volumes))
                    volume_path.unlink()
            return done, "zip"
        finally:
            for volume_path in files:
                volume_path.unlink(missing_ok=True)


def _volume_name(case: Case, volume: int, volumes: int) -> str:
    width = len(str(volumes))
    return f"{case.slug}-{volume:0{width}d}-of-{volumes}.pdf"


HANDOVER = Exporter(
    kind=KIND,
    label=gettext_lazy("Hand-over pack for the authority (PDF)"),
    permission="petitions.export_signatures",
    sheet_title=lambda: _("Petition"),
    count=count_names,
    rows=lambda job: iter(()),
    needs_case=True,
    formats=PDF_FORMATS,
    write_file=write_handover_pack,
)


@transaction.atomic
def request_handover_pack(
    *, requested_by: AbstractBaseUser, case: Case, country: str = "", format: str = PDF_A4
) -> ExportJob:
    """Ask a worker for a case's hand-over pack (one country, or all); the organizer follows it on the export
    page. Enqueued after commit."""
    return request_export(requested_by=requested_by, kind=KIND, format=format, case=case, country=country)
