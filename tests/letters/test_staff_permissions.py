"""Who sees what: moderators moderate letters and nothing else; organizers manage families, not letters;
the writer's email is for superusers only; supporters' text is always escaped in the admin."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.urls import reverse

from letters.models import Digest, FamilyContact

from .conftest import image_bytes

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def test_a_moderator_never_sees_the_writers_email(moderator_client, make_letter):
    letter = make_letter(writer_email="secret-writer@example.org", writer_consent=True)
    for url in (
        reverse("admin:letters_letter_changelist"),
        reverse("admin:letters_letter_change", args=[letter.pk]),
    ):
        response = moderator_client.get(url)
        assert response.status_code == 200
        assert "secret-writer" not in response.content.decode()
    # Searching by the email finds nothing: it is not a search field.
    response = moderator_client.get(reverse("admin:letters_letter_changelist"), {"q": "secret-writer@example.org"})
    assert list(response.context["cl"].result_list) == []


def test_a_superuser_sees_the_writers_email(client, superuser, make_letter):
    client.force_login(superuser)
    letter = make_letter(writer_email="secret-writer@example.org", writer_consent=True)
    response = client.get(reverse("admin:letters_letter_change", args=[letter.pk]))
    assert "secret-writer@example.org" in response.content.decode()


def test_a_moderator_cannot_manage_family_contacts_digests_or_exports(moderator_client, moderator, case):
    contact = FamilyContact.objects.create(case=case, name="Family", email="family@example.org")
    for url in (
        reverse("admin:letters_familycontact_changelist"),
        reverse("admin:letters_familycontact_change", args=[contact.pk]),
        reverse("admin:letters_digest_changelist"),
        reverse("admin:campaign_tally_changelist"),
    ):
        assert moderator_client.get(url).status_code == 403, url
    assert moderator_client.get(reverse("organizers:exports")).status_code in (302, 403)
    assert not moderator.has_perm("campaign.export_totals")
    assert not moderator.has_perm("letters.delete_letter")
    assert moderator.has_perms(["letters.view_letter", "letters.change_letter", "letters.view_rejectionreason"])


def test_an_organizer_manages_family_contacts_but_cannot_moderate_letters(organizer_client, organizer, make_letter):
    letter = make_letter()
    assert organizer_client.get(reverse("admin:letters_letter_changelist")).status_code == 403
    assert organizer_client.get(reverse("admin:letters_letter_change", args=[letter.pk])).status_code == 403
    moderate = reverse("admin:letters_letter_moderate", args=[letter.pk])
    assert organizer_client.post(moderate, {"decision": "approve"}).status_code == 403
    assert organizer_client.get(reverse("admin:letters_letter_next")).status_code == 403
    assert organizer_client.get(reverse("admin:letters_familycontact_add")).status_code == 200
    assert organizer_client.get(reverse("admin:letters_digest_changelist")).status_code == 200
    assert organizer.has_perm("letters.change_familycontact")
    assert not organizer.has_perm("letters.change_letter")


def test_hostile_text_is_escaped_in_the_admin_list_and_page(moderator_client, make_letter):
    letter = make_letter(text=HOSTILE, first_name='<b onmouseover="alert(3)">Eve</b>')
    for url in (reverse("admin:letters_letter_changelist"), reverse("admin:letters_letter_change", args=[letter.pk])):
        html = moderator_client.get(url).content.decode()
        assert '<script>alert("x")' not in html
        assert "<img src=x onerror" not in html
        assert '<b onmouseover="alert(3)">' not in html
        assert "&lt;script&gt;" in html


def test_only_staff_who_may_see_letters_see_their_images(client, moderator, organizer, make_letter):
    letter = make_letter()
    letter.image.save("d.jpg", ContentFile(image_bytes("JPEG")))
    url = reverse("admin:letters_letter_image", args=[letter.pk])
    client.force_login(moderator)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8")
    client.force_login(organizer)
    assert client.get(url).status_code == 403
    client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous.url


def test_digests_are_read_only_in_the_admin(organizer_client, family_contact):
    digest = Digest.objects.create(contact=family_contact, status="sent")
    response = organizer_client.get(reverse("admin:letters_digest_change", args=[digest.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_an_organizer_sees_a_contacts_digests_on_its_page(organizer_client, family_contact):
    Digest.objects.create(contact=family_contact, status="failed", last_error="SMTPServerDisconnected: gone")
    response = organizer_client.get(reverse("admin:letters_familycontact_change", args=[family_contact.pk]))
    assert response.status_code == 200
    assert "SMTPServerDisconnected: gone" in response.content.decode()


def test_a_drawing_lost_from_storage_is_a_404_not_an_error(moderator_client, make_letter):
    letter = make_letter()
    letter.image.save("lost.jpg", ContentFile(image_bytes("JPEG")))
    letter.image.storage.delete(letter.image.name)
    assert moderator_client.get(reverse("admin:letters_letter_image", args=[letter.pk])).status_code == 404
