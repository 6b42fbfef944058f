"""The suite's own guards: a test that forgot its mail server fails instead of mailing into the void."""

from __future__ import annotations

import pytest
from django.core.mail import send_mail

from tests.conftest import MailWithoutServer


def test_a_send_without_a_mail_server_is_refused_and_remembered(settings):
    assert settings.EMAIL_BACKEND == "tests.conftest.MailWithoutServer"
    with pytest.raises(ConnectionRefusedError):
        send_mail("Hello", "Body", "from@example.org", ["someone@example.org"])
    assert MailWithoutServer.attempts == ["someone@example.org: Hello"]
    # The fixture fails the test at its end for any attempt left: this one was meant.
    MailWithoutServer.attempts.clear()


def test_a_test_that_asks_for_the_in_memory_outbox_keeps_it(mailoutbox):
    send_mail("Hello", "Body", "from@example.org", ["someone@example.org"])
    assert [m.subject for m in mailoutbox] == ["Hello"]


def test_the_smtp_server_counts_its_sessions(smtp_server):
    from django.core.mail import get_connection

    with get_connection() as connection:
        send_mail("One", "Body", "from@example.org", ["a@example.org"], connection=connection)
        send_mail("Two", "Body", "from@example.org", ["b@example.org"], connection=connection)
    send_mail("Three", "Body", "from@example.org", ["c@example.org"])
    smtp_server.wait_for(3)
    assert smtp_server.connections == 2
