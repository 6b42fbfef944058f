"""Helpers for the petition tests: a filled-in form, signatures in each state."""

from __future__ import annotations

import pytest
from django.urls import reverse

from petitions import services
from petitions.models import Signature
from tests.conftest import form_started


@pytest.fixture(autouse=True)
def _english_first():
    """Every test starts in English: a request of an earlier test can leave another language active."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


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
    outcome = services.sign_petition(
        case,
        services.SignatureData(
            name=fields.pop("name", "Ana Lima"),
            email=email,
            country=fields.pop("country", "FR"),
            language=fields.pop("language", "en"),
            ip=fields.pop("ip", "203.0.113.7"),
        ),
    )
    assert outcome is services.SignOutcome.NEW
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
def slow_smtp_server():
    """An SMTP server on loopback that takes `delay` seconds per message: lets a test kill a worker
    in the middle of a batch. `slow_smtp_server(0.3)` returns a Mailbox."""
    import asyncio

    from aiosmtpd.controller import Controller

    from tests.conftest import Mailbox, free_port

    controllers = []

    def start(delay: float) -> Mailbox:
        mailbox = Mailbox(free_port())

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                await asyncio.sleep(delay)
                mailbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
                return "250 OK"

        controller = Controller(Handler(), hostname="127.0.0.1", port=mailbox.port)
        controller.start()
        controllers.append(controller)
        return mailbox

    yield start
    for controller in controllers:
        controller.stop()
