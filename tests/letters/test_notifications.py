"""Writers told of delivery (then forgotten), and moderators reminded of the queue."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group

from letters.models import Letter
from letters.services import digests, notices
from letters.tasks import remind_moderators, send_delivery_notices


def test_it_tells_writers_who_asked_once_their_letter_is_delivered_then_erases_their_email(
    smtp_server, family_contact, approved_letter
):
    asked = approved_letter(writer_email="ana@example.org", writer_consent=True, writer_language="fr")
    approved_letter(text="No email given")
    assert send_delivery_notices() == {"sent": 0, "failed": 0}  # not delivered yet: nothing to say

    digests.send_family_digest(family_contact.pk)
    assert Letter.objects.get(pk=asked.pk).mail_status == "pending"
    assert send_delivery_notices() == {"sent": 1, "failed": 0}

    mails = smtp_server.wait_for(2)
    notice = next(m for m in mails if m["To"] == "ana@example.org")
    assert "Khaled Drareni" in notice["Subject"]
    assert settings.SITE_URL + "/fr/write-for-rights-2020/khaled-drareni/" in smtp_server.text_of(notice)
    asked.refresh_from_db()
    assert (asked.mail_status, asked.writer_email, asked.writer_consent) == ("sent", "", False)
    assert send_delivery_notices() == {"sent": 0, "failed": 0}  # told once


def test_a_second_contact_does_not_tell_the_writer_again(smtp_server, case, family_contact, approved_letter):
    from letters.models import FamilyContact

    approved_letter(writer_email="ana@example.org", writer_consent=True)
    digests.send_family_digest(family_contact.pk)
    send_delivery_notices()
    other = FamilyContact.objects.create(case=case, name="Brother", email="brother@example.org")
    digests.send_family_digest(other.pk)
    assert send_delivery_notices() == {"sent": 0, "failed": 0}
    assert [m["To"] for m in smtp_server.wait_for(3)].count("ana@example.org") == 1


def test_it_reminds_moderators_how_many_letters_wait(smtp_server, moderator, superuser, make_letter, django_user_model):
    assert remind_moderators() == 0  # nothing waits: no mail
    moderator.email = "moderator@example.org"
    moderator.save()
    away = django_user_model.objects.create_user("away", email="away@example.org", is_active=False)
    away.groups.add(Group.objects.get(name="Moderators"))
    superuser.email = "root@example.org"
    superuser.save()
    make_letter()
    make_letter()
    make_letter(status="approved")

    assert remind_moderators() == 1
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "moderator@example.org"
    assert mail["Subject"] == "2 letters wait for moderation"
    assert settings.SITE_URL + "/admin/letters/letter/" in smtp_server.text_of(mail)


def test_it_forgets_the_email_of_a_writer_whose_letter_was_never_delivered(make_letter, settings):
    import datetime

    from django.utils import timezone

    old = make_letter(writer_email="old@example.org", writer_consent=True, status="approved")
    Letter.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=settings.LETTERS_WRITER_EMAIL_DAYS + 1)
    )
    recent = make_letter(writer_email="recent@example.org", writer_consent=True)
    send_delivery_notices()
    assert Letter.objects.get(pk=old.pk).writer_email == ""
    assert Letter.objects.get(pk=recent.pk).writer_email == "recent@example.org"


def test_it_sends_notices_in_batches_each_over_one_connection(smtp_server, family_contact, approved_letter):
    for n in range(5):
        approved_letter(writer_email=f"writer{n}@example.org", writer_consent=True)
    digests.send_family_digest(family_contact.pk)
    smtp_server.wait_for(1)
    digest_sessions = smtp_server.connections
    result = notices.send_delivery_notices(batch_size=2)
    assert (result.sent, result.failed) == (5, 0)
    told = [m for m in smtp_server.wait_for(6) if m["To"].startswith("writer")]
    assert sorted(m["To"] for m in told) == [f"writer{n}@example.org" for n in range(5)]
    # Batches of 2, 2 and 1: one SMTP session each, not one per mail.
    assert smtp_server.connections - digest_sessions == 3
    assert not Letter.objects.exclude(writer_email="").exists()
