"""Digests sent by real Celery workers to a real SMTP server: two workers at once, and a worker killed
in the middle of a digest."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter

import pytest
from django.conf import settings
from django.urls import reverse

from letters.models import Digest, DigestItem, FamilyContact
from letters.tasks import send_due_digests
from tests.conftest import Mailbox, free_port, wait_until

LETTER_MARK = re.compile(r"Message number \d+")


class SlowSMTP:
    """An SMTP server on loopback that takes its time over each message and can hold one until released."""

    def __init__(self, delay: float = 0.0) -> None:
        from aiosmtpd.controller import Controller

        self.mailbox = Mailbox(free_port())
        self.delay = delay
        self.hold_first = False
        self.holding = threading.Event()
        self.release = threading.Event()
        self._held = False
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                if server.hold_first and not server._held:
                    server._held = True
                    server.holding.set()
                    while not server.release.is_set():
                        await asyncio.sleep(0.05)
                    # The sender died while waiting: this message was never acknowledged.
                    return "451 try again later"
                await asyncio.sleep(server.delay)
                server.mailbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.mailbox.port)

    def __enter__(self) -> SlowSMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.controller.stop()


def succeeded(workers, task: str) -> int:
    """How many runs of `task` the workers finished, from their logs."""
    return sum(len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", w.log())) for w in workers)


def worker_settings() -> dict[str, str]:
    return {"PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT)}


@pytest.fixture
def contacts(case):
    return [
        FamilyContact.objects.create(case=case, name=f"Relative {n}", email=f"relative{n}@example.org", language="en")
        for n in range(6)
    ]


def test_two_workers_send_each_letter_once_to_each_contact(start_worker, contacts, approved_letter):
    letters = [approved_letter() for _ in range(5)]
    with SlowSMTP(delay=0.2) as smtp:
        workers = [start_worker(mailbox=smtp.mailbox, name=f"digest{n}", **worker_settings()) for n in range(2)]
        for _ in range(4):
            send_due_digests.delay()
        wait_until(lambda: succeeded(workers, "letters.tasks.send_due_digests") == 4, timeout=60)

        mails = smtp.mailbox.messages
        assert Counter(m["To"] for m in mails) == {c.email: 1 for c in contacts}
        for mail in mails:
            marks = LETTER_MARK.findall(Mailbox.text_of(mail))
            assert sorted(marks) == sorted(x.text.split(":")[0] for x in letters)
    assert DigestItem.objects.count() == len(contacts) * len(letters)
    assert Digest.objects.filter(status="sent").count() == len(contacts)
    assert all("send_due_digests" in w.log() for w in workers)  # both workers took part


def test_a_worker_killed_in_the_middle_of_a_digest_loses_no_letter(start_worker, contacts, approved_letter):
    contact = contacts[0]
    FamilyContact.objects.exclude(pk=contact.pk).update(paused=True)
    letters = [approved_letter() for _ in range(3)]
    with SlowSMTP() as smtp:
        smtp.hold_first = True
        doomed = start_worker(mailbox=smtp.mailbox, name="doomed", **worker_settings())
        send_due_digests.delay()
        assert smtp.holding.wait(60), doomed.log()
        # The worker has sent the digest and waits for the server's answer, its transaction still open.
        doomed.kill()
        assert not Digest.objects.exists() and not DigestItem.objects.exists()

        survivor = start_worker(mailbox=smtp.mailbox, name="survivor", **worker_settings())
        send_due_digests.delay()
        [mail] = smtp.mailbox.wait_for(1, timeout=60)
        wait_until(lambda: succeeded([survivor], "letters.tasks.send_due_digests") == 1, timeout=30)
    assert mail["To"] == contact.email
    assert sorted(LETTER_MARK.findall(Mailbox.text_of(mail))) == sorted(x.text.split(":")[0] for x in letters)
    assert set(DigestItem.objects.values_list("letter_id", flat=True)) == {x.pk for x in letters}


def test_staff_send_the_next_digest_now_through_the_worker(
    start_worker, smtp_server, client, organizer, family_contact, approved_letter
):
    approved_letter(text="Message number 1: from the admin")
    family_contact.next_digest_at = family_contact.next_digest_at.replace(year=2100)
    family_contact.save()
    start_worker(mailbox=smtp_server, **worker_settings())
    client.force_login(organizer)
    response = client.post(
        reverse("admin:letters_familycontact_changelist"),
        {"action": "send_next_digest_now", "_selected_action": [family_contact.pk]},
        follow=True,
    )
    assert "The next digest of 1 contact is being sent" in response.content.decode()
    [mail] = smtp_server.wait_for(1, timeout=60)
    assert "from the admin" in Mailbox.text_of(mail)
    wait_until(lambda: Digest.objects.filter(status="sent").exists())
    response = client.get(reverse("admin:letters_digest_changelist"))
    assert "Family of Khaled" in response.content.decode()
