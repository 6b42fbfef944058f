"""Helpers for the petition tests: a filled-in form, signatures in each state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from petitions.models import Signature
from petitions.services import signing
from tests.conftest import form_started


def form_data(**overrides) -> dict:
    data = {
        "name": "Ana Lima",
        "email": "ana@example.org",
        "country": "FR",
        "website": "",
        "started": form_started(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def sign_url(case, language: str = "en") -> str:
    from django.utils import translation

    with translation.override(language):
        return reverse("petitions:sign", kwargs={"campaign": case.campaign.slug, "case": case.slug})


def url(name: str, *args, language: str = "en", **kwargs) -> str:
    """reverse() in a given language (the active language can be left over from an earlier request)."""
    from django.utils import translation

    with translation.override(language):
        return reverse(name, args=args or None, kwargs=kwargs or None)


def make_signature(case, email: str = "ana@example.org", **fields) -> Signature:
    outcome = signing.sign_petition(
        case,
        signing.SignatureData(
            name=fields.pop("name", "Ana Lima"),
            email=email,
            country=fields.pop("country", "FR"),
            language=fields.pop("language", "en"),
            ip=fields.pop("ip", "203.0.113.7"),
        ),
    )
    assert outcome is signing.SignOutcome.NEW
    signature = Signature.objects.get(case=case, email=email)
    if fields:
        Signature.objects.filter(pk=signature.pk).update(**fields)
        signature.refresh_from_db()
    return signature


@pytest.fixture
def signature(case) -> Signature:
    """A pending signature whose confirmation mail is waiting in the outbox."""
    return make_signature(case)


@pytest.fixture
def superuser_client(superuser):
    """A client of its own signed in as a superuser, beside `organizer_client` (which is pytest-django's `client`)."""
    from django.test import Client

    client = Client()
    client.force_login(superuser)
    return client
