"""The baseline the signing path is measured against: a bare Django view that inserts one row.

Wired into campaign/urls.py only when PLUME_BENCH_BASELINE=1 (bench/run.py sets it), so production never serves
it. It goes through the same gunicorn, settings and middleware as the petition's sign view, and stores a row
of the same shape (name, email, country, time) in a table of its own that bench/run.py creates. It has
no CSRF check, no form, no template and no uniqueness rule beyond a unique index: what is left is the cost of
Django plus one INSERT, the floor any signing view stands on.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE = "bench_baseline_row"


@csrf_exempt
@require_POST
def insert_row(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (name, email, country, created_at) VALUES (%s, %s, %s, now())",  # noqa: S608
            [request.POST.get("name", ""), request.POST.get("email", ""), request.POST.get("country", "")],
        )
    return HttpResponse(status=204)


urlpatterns = [path("insert", insert_row, name="bench-baseline-insert")]
