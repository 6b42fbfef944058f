"""The list of a petition's signatures for the authority, as an export job (organizers/exports/base.py).

Registered in OrganizersConfig.ready(). Name and country (its name in the requester's language), nothing
else: never an email address. Every cell is neutralised against spreadsheet formulas. As CSV on PostgreSQL
the rows are written by COPY, neutralised in SQL; as XLSX (or CSV elsewhere) they come from a server-side
cursor through Python. Both give the same rows (tests/petitions/test_signature_list_export.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case as Choose
from django.db.models import F, Func, IntegerField, JSONField, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from campaign.models import Case, ExportJob
from petitions.models import Signature

from .base import CHUNK_SIZE, FORMULA_STARTS, Exporter, copy_to_csv, neutralise, request_export

KIND = "signatures"
# The code points of the characters that start a formula (each one character long).
FORMULA_CODES = [ord(start) for start in FORMULA_STARTS]


def _signatures(job: ExportJob) -> QuerySet[Signature]:
    return Signature.objects.for_authority(job.case, job.country)


def _country_names() -> dict[str, str]:
    """Country names in the active language (the requester's, under run_export), neutralised."""
    return {code: neutralise(str(name)) for code, name in countries}


def _header() -> list[str]:
    return [neutralise(_("Name")), neutralise(_("Country"))]


def signature_rows(job: ExportJob) -> Iterator[list]:
    """The header, then (name, country name) of each signature for the authority; the Python path."""
    yield _header()
    names = _country_names()
    for name, code in _signatures(job).values_list("name", "country").iterator(chunk_size=CHUNK_SIZE):
        yield [neutralise(name), names.get(code, "")]


def copy_signatures_csv(job: ExportJob, path: Path, every: int) -> int:
    """The same rows as `signature_rows`, written by PostgreSQL's COPY.

    The neutralisation is `organizers.exports.base.neutralise` written in SQL (the same FORMULA_STARTS, compared by
    code point: ascii() gives the first character's in a UTF8 database, the first byte in a single-byte one,
    and costs less per row than taking a one-letter substring); country names are a JSON object prepared
    here and looked up per row with ->> (a binary search, no join and so no re-sorting). The query is the
    ORM's own (the filter and order of signature_rows) with two computed columns.
    """
    cells = (
        _signatures(job)
        .annotate(first=Func(F("name"), function="ASCII", output_field=IntegerField()))
        .annotate(
            cell_name=Choose(
                When(first__in=FORMULA_CODES, then=Concat(Value("'"), "name", output_field=TextField())),
                default=F("name"),
                output_field=TextField(),
            ),
            cell_country=Coalesce(
                Func(
                    Cast(Value(json.dumps(_country_names())), JSONField()),
                    F("country"),
                    arg_joiner=" ->> ",
                    template="(%(expressions)s)",
                    output_field=TextField(),
                ),
                Value(""),
                output_field=TextField(),
            ),
        )
        .values_list("cell_name", "cell_country")
    )
    query, params = cells.query.sql_with_params()
    return copy_to_csv(job, path, every, query, list(params), _header())


def count_signatures(job: ExportJob) -> int:
    return _signatures(job).count()


SIGNATURES = Exporter(
    kind=KIND,
    label=gettext_lazy("Signatures for the authority (name and country)"),
    permission="petitions.export_signatures",
    sheet_title=lambda: _("Signatures"),
    count=count_signatures,
    rows=signature_rows,
    copy_csv=copy_signatures_csv,
    needs_case=True,
)


@transaction.atomic
def request_signature_list(
    *, requested_by: AbstractBaseUser, case: Case, country: str = "", format: str = ExportJob.Format.CSV
) -> ExportJob:
    """Ask a worker for the file of a case's signatures for the authority (one country, or all); the organizer
    follows it on the export page. Enqueued after commit."""
    return request_export(requested_by=requested_by, kind=KIND, format=format, case=case, country=country)
