"""Errors go to Sentry (the official SDK) without personal data: checked on what the SDK would really send,
through a transport of the test's own."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory
from sentry_sdk.transport import Transport

from campaign.lib import metrics

EMAIL = "ana.lima@example.org"
ADDRESS = "198.51.100.23"
TOKEN = "MTIz-c2VjcmV0LXRva2Vu"


class RecordingTransport(Transport):
    """Keeps every envelope the SDK would send."""

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.envelopes: list = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [event for envelope in self.envelopes if (event := envelope.get_event()) is not None]


@pytest.fixture
def sentry(settings):
    transport = RecordingTransport()
    metrics.init_sentry("https://public@sentry.example.invalid/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: nothing is sent any more


@pytest.mark.django_db
@pytest.mark.urls("tests.ops.failing_urls")
def test_an_error_reaches_sentry_without_the_supporters_data(sentry, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # Through Django's WSGI handler, as gunicorn calls it (the test client skips the WSGI layer Sentry wraps).
    environ = (
        RequestFactory()
        .post(
            f"/en/petitions/confirm/{TOKEN}/?token={TOKEN}&email={EMAIL}",
            {"email": EMAIL, "name": "Ana Lima"},
            HTTP_X_FORWARDED_FOR=ADDRESS,
            REMOTE_ADDR=ADDRESS,
            HTTP_REFERER=f"https://plume.example.org/en/petitions/confirm/{TOKEN}/",
            HTTP_AUTHORIZATION="Bearer admin-secret",
            HTTP_COOKIE="sessionid=session-secret-value",
            HTTP_HOST="testserver",
        )
        .environ
    )
    statuses = []
    body = b"".join(WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["500 Internal Server Error"], body[:300]
    sentry_sdk.flush()

    events = sentry.events()
    assert events, "the error did not reach the transport"
    error = next(e for e in events if e.get("exception"))
    assert error["exception"]["values"][-1]["type"] == "RuntimeError"
    sent = json.dumps(events)
    for secret in (EMAIL, ADDRESS, TOKEN, "session-secret-value", "admin-secret", "Ana Lima"):
        assert secret not in sent, f"{secret!r} was sent to Sentry"
    # What stays is what a developer needs: the error, the path without its token, the network.
    assert "could not store [email]" in sent
    assert "/en/petitions/confirm/<token>/" in error["request"]["url"]
    assert "198.51.100.0/24" in sent
    assert "data" not in error["request"] and "cookies" not in error["request"]
    assert "query_string" not in error["request"]
    assert "user" not in error


def test_the_scrubber_leaves_no_address_in_any_part_of_an_event():
    event = {
        "message": f"Mail for {EMAIL} failed",
        "logentry": {"message": "Mail for %s failed", "params": [EMAIL]},
        "user": {"ip_address": ADDRESS, "email": EMAIL},
        "request": {
            "url": f"https://plume.example.org/en/petitions/not-me/{TOKEN}/?next=/x",
            "query_string": f"email={EMAIL}",
            "headers": {"Cookie": "sessionid=x", "X-Forwarded-For": ADDRESS, "Accept-Language": "fr"},
            "env": {"REMOTE_ADDR": ADDRESS},
        },
        "breadcrumbs": {"values": [{"message": f"SELECT ... WHERE email = '{EMAIL}'"}]},
        "exception": {"values": [{"value": f"Key (email)=({EMAIL}) exists", "stacktrace": {"frames": [
            {"function": "sign", "vars": {"email": EMAIL}}]}}]},
        "extra": {"ip": f"2001:db8:1:2::{ADDRESS[-2:]}"},
    }  # fmt: skip
    scrubbed = json.dumps(metrics.scrub_event(event, {}))
    assert EMAIL not in scrubbed and ADDRESS not in scrubbed and TOKEN not in scrubbed
    assert "2001:db8:1:2::" not in scrubbed and "2001:db8:1::/48" in scrubbed
    assert '"Accept-Language": "fr"' in scrubbed
    assert "vars" not in scrubbed


def test_settings_turn_personal_data_off_in_the_sdk(sentry):
    client = sentry_sdk.get_client()
    options = client.options
    assert client.should_send_default_pii() is False
    assert options["event_scrubber"] is not None  # the SDK's own scrubber, besides ours
    assert options["include_local_variables"] is False
    assert options["max_request_body_size"] == "never"
    assert options["before_send"] is metrics.scrub_event
