"""A view that fails with personal data in its request, its error and its log (tests/ops/test_sentry.py)."""

import logging

from django.http import HttpRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

log = logging.getLogger("plume.tests.failing")


@csrf_exempt
def fail(request: HttpRequest, token: str):
    email = request.POST.get("email", "")
    log.warning("About to fail for %s from %s", email, request.META.get("REMOTE_ADDR"))
    raise RuntimeError(f"could not store {email} ({request.META.get('HTTP_X_FORWARDED_FOR')}) with {request.path}")


urlpatterns = [path("en/petitions/confirm/<str:token>/", fail)]
