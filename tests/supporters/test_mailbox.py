"""The demo's local mailbox: mails kept as files and read in the browser, links clickable; only with DEBUG."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_mailbox(settings, tmp_path):
    settings.SUPPORTERS_MAILBOX_DIR = tmp_path / "mailbox"
    settings.EMAIL_BACKEND = "supporters.mailbox.LocalMailboxBackend"
    return settings.SUPPORTERS_MAILBOX_DIR


def send(subject: str, body: str) -> None:
    message = EmailMultiAlternatives(subject, body, to=["ana@example.org"], connection=get_connection())
    message.attach_alternative("<p>html</p>", "text/html")
    message.send()


def test_it_keeps_each_mail_and_shows_it_with_clickable_links(client, settings, local_mailbox):
    settings.DEBUG = True
    send("Confirm your signature", 'Open http://127.0.0.1:8000/en/petitions/confirm/abc/ <script>alert("x")</script>')
    send("Second", "Nothing")
    listing = client.get("/en/supporters/mailbox/")
    html = listing.content.decode()
    assert listing.status_code == 200 and html.index("Second") < html.index("Confirm your signature")
    link = html.split('href="/en/supporters/mailbox/', 2)[2].split('"', 1)[0]
    page = client.get(f"/en/supporters/mailbox/{link}").content.decode()
    assert '<a href="http://127.0.0.1:8000/en/petitions/confirm/abc/"' in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_it_is_not_there_without_debug(client, settings, local_mailbox):
    settings.DEBUG = False
    send("Confirm your signature", "secret link")
    assert client.get("/en/supporters/mailbox/").status_code == 404
    name = next(local_mailbox.glob("*.eml")).name
    assert client.get(f"/en/supporters/mailbox/{name}/").status_code == 404


@pytest.mark.parametrize("name", ["../../etc/passwd", "nope.eml", "..%2F..%2Fsettings.py"])
def test_a_strange_mail_name_is_a_404(client, settings, local_mailbox, name):
    settings.DEBUG = True
    assert client.get(f"/en/supporters/mailbox/{name}/").status_code == 404
