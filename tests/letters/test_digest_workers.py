"""Digests sent by real Celery workers to a real SMTP server: two workers at once, workers killed while the
server answers, and the admin's "send the next digest now"."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

from django.conf import settings
from django.urls import reverse

from letters.models import Digest, DigestItem, FamilyContact, Letter
from letters.tasks import send_due_digests
from tests.conftest import Mailbox, free_port, wait_until

LETTER_MARK = re.compile(r"Message number \d+")


def succeeded(workers, task: str) -> int:
    """How many runs of `task` the workers finished, from their logs."""
    return sum(len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", w.log())) for w in workers)


def received(worker, task: str) -> bool:
    """Whether `worker` took a run of `task` off the queue (its start-up banner names every task anyway)."""
    return re.search(rf"Task {re.escape(task)}\[[0-9a-f-]+\] received", worker.log()) is not None


def worker_settings(**extra: str) -> dict[str, str]:
    return {"PRIVATE_MEDIA_ROOT": str(settings.PRIVATE_MEDIA_ROOT), **extra}


def marks(mail) -> list[str]:
    return LETTER_MARK.findall(Mailbox.text_of(mail))


class KeepingSMTP:
    """An SMTP server on loopback that keeps every message it received in full at once, then takes `delay`
    seconds to say so, as a real server queues a message before its answer reaches the sender: a sender
    killed during the wait has sent the mail without knowing it. (tests.conftest's server keeps a message
    only once it answered, and aiosmtpd drops it when the sender dies first.)"""

    def __init__(self, delay: float) -> None:
        from aiosmtpd.controller import Controller

        self.mailbox = Mailbox(free_port())
        mailbox = self.mailbox

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mailbox.add(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
                await asyncio.sleep(delay)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=mailbox.port)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self.mailbox

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def test_two_workers_send_each_letter_once_to_each_contact(start_worker, start_smtp_server, case, approved_letter):
    contacts = [
        FamilyContact.objects.create(case=case, name=f"Relative {n}", email=f"relative{n}@example.org", language="en")
        for n in range(6)
    ]
    letters = [approved_letter() for _ in range(5)]
    mailbox = start_smtp_server(delay=0.2)
    workers = [start_worker(mailbox=mailbox, name=f"digest{n}", **worker_settings()) for n in range(2)]
    for _ in range(4):
        send_due_digests.delay()
    wait_until(lambda: succeeded(workers, "letters.tasks.send_due_digests") == 4, timeout=60)

    mails = mailbox.messages
    assert Counter(m["To"] for m in mails) == {c.email: 1 for c in contacts}
    for mail in mails:
        assert sorted(marks(mail)) == sorted(x.text.split(":")[0] for x in letters)
    assert DigestItem.objects.count() == len(contacts) * len(letters)
    assert Digest.objects.filter(status="sent").count() == len(contacts)
    assert all(received(w, "letters.tasks.send_due_digests") for w in workers)  # both workers took part


def test_workers_killed_while_the_server_answers_send_no_letter_twice_and_lose_none(
    start_worker, case, approved_letter, organizer_client
):
    """Each worker is SIGKILLed once the server has its digest and before the server answers. No family gets a
    letter twice, and every letter arrived or is in a digest the admin shows as "May not have arrived"."""
    contacts = [
        FamilyContact.objects.create(case=case, name=f"Family {n}", email=f"family{n}@example.org", language="en")
        for n in range(2)
    ]
    letters = [approved_letter() for _ in range(8)]
    # Two digests per contact, and a lease that ends soon after the server's answer would have come.
    env = worker_settings(LETTERS_DIGEST_MAX_LETTERS="4", LETTERS_DIGEST_LEASE_SECONDS="4")
    kills = 2
    with KeepingSMTP(delay=1.5) as mailbox:
        for n in range(kills):
            doomed = start_worker(mailbox=mailbox, name=f"doomed{n}", **env)
            send_due_digests.delay()
            # The server has the digest and takes 1.5 s to answer: the worker is waiting for that answer.
            mailbox.wait_for(n + 1, timeout=60)
            doomed.kill()

        survivor = start_worker(mailbox=mailbox, name="survivor", **env)
        runs = 0

        def all_recorded() -> bool:
            nonlocal runs
            if succeeded([survivor], "letters.tasks.send_due_digests") < runs:
                return False
            waiting = any(Letter.objects.not_yet_sent_to(c).exists() for c in contacts)
            if not waiting and not Digest.objects.filter(status="sending").exists():
                return True
            send_due_digests.delay()  # the next beat tick
            runs += 1
            return False

        wait_until(all_recorded, timeout=90, interval=0.5)

    expected = sorted(x.text.split(":")[0] for x in letters)
    for contact in contacts:
        got = Counter(mark for mail in mailbox.messages if mail["To"] == contact.email for mark in marks(mail))
        assert max(got.values()) == 1, f"a letter reached {contact.email} twice: {got}"
        in_doubt = DigestItem.objects.filter(contact=contact, digest__status="uncertain")
        doubtful = {item.letter.text.split(":")[0] for item in in_doubt.select_related("letter")}
        assert set(got) | doubtful == set(expected), f"letters lost for {contact.email}"
    uncertain = Digest.objects.filter(status="uncertain")
    assert 1 <= uncertain.count() <= kills  # the digests whose worker died
    shown = organizer_client.get(reverse("admin:letters_digest_changelist"), {"status__exact": "uncertain"})
    assert {d.pk for d in shown.context["cl"].result_list} == set(uncertain.values_list("pk", flat=True))
    assert "May not have arrived" in shown.content.decode()


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
