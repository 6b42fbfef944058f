"""Staff cannot look rows up by a personal field they are not shown: Django's admin takes a lookup on any field
from the query string, so `?writer_email__regex=^a` would give a writer's address away one character at a
time. Everyone but superusers gets a 400; the declared filters keep working."""

from __future__ import annotations

import pytest
from django.urls import reverse

from letters.models import Digest, FamilyContact

LETTERS = "admin:letters_letter_changelist"
CONTACTS = "admin:letters_familycontact_changelist"
DIGESTS = "admin:letters_digest_changelist"


@pytest.fixture
def rows(make_letter, family_contact):
    letter = make_letter(
        writer_email="ana@example.org", writer_consent=True, writer_language="fr", mail_last_error="SMTPDataError: 554"
    )
    Digest.objects.create(contact=family_contact, status="failed", last_error="SMTPRecipientsRefused: 550")
    return letter


# (changelist, lookup, value): every personal field of each letters admin.
PERSONAL_LOOKUPS = [
    (LETTERS, "writer_email__regex", "^a"),
    (LETTERS, "writer_email__startswith", "a"),
    (LETTERS, "writer_consent__exact", "1"),
    (LETTERS, "writer_language__exact", "fr"),
    (LETTERS, "mail_last_error__contains", "5"),
    (CONTACTS, "email__regex", "^f"),
    (CONTACTS, "email__startswith", "f"),
    (DIGESTS, "last_error__contains", "5"),
]
# The same fields reached across a relation (Django itself refuses most of these, to superusers too).
RELATED_LOOKUPS = [
    (LETTERS, "digest_items__contact__email__regex", "^f"),
    (CONTACTS, "digests__last_error__contains", "5"),
    (DIGESTS, "contact__email__regex", "^f"),
    (DIGESTS, "items__letter__writer_email__regex", "^a"),
]


@pytest.mark.parametrize(("changelist", "lookup", "value"), PERSONAL_LOOKUPS + RELATED_LOOKUPS)
def test_staff_cannot_look_up_a_personal_field(rows, client, moderator, organizer, changelist, lookup, value):
    # The staff member whose work is on that list: moderators on letters, organizers on families.
    client.force_login(moderator if changelist == LETTERS else organizer)
    assert client.get(reverse(changelist)).status_code == 200
    response = client.get(reverse(changelist), {lookup: value})
    assert response.status_code == 400, (changelist, lookup)


@pytest.mark.parametrize(("changelist", "lookup", "value"), PERSONAL_LOOKUPS)
def test_a_superuser_may_look_up_a_personal_field(rows, client, superuser, changelist, lookup, value):
    client.force_login(superuser)
    response = client.get(reverse(changelist), {lookup: value})
    assert response.status_code == 200, (changelist, lookup)
    assert len(response.context["cl"].result_list) == 1, (changelist, lookup)


def test_the_letters_declared_filters_still_work(moderator_client, make_letter, case):
    make_letter(country="DZ", language="fr", flags="link")
    make_letter(country="BR", image="letters/x.jpg")
    for params, expected in (
        ({"status": "all"}, 2),
        ({"flag": "link"}, 1),
        ({"kind": "drawing"}, 1),
        ({"case__id__exact": case.pk}, 2),
        ({"language__exact": "fr"}, 1),
        ({"country": "BR"}, 1),
        ({"q": "Message"}, 2),
    ):
        response = moderator_client.get(reverse(LETTERS), params)
        assert response.status_code == 200, params
        assert len(response.context["cl"].result_list) == expected, params


def test_the_families_declared_filters_and_search_still_work(organizer_client, family_contact, case):
    FamilyContact.objects.create(case=case, name="Brother", email="brother@example.org", cadence="daily")
    Digest.objects.create(contact=family_contact, status="uncertain")
    for params, expected in (
        ({"case__campaign__id__exact": case.campaign_id}, 2),
        ({"case__id__exact": case.pk}, 2),
        ({"cadence__exact": "daily"}, 1),
        ({"paused__exact": "0"}, 2),
        ({"language__exact": "fr"}, 1),
        ({"q": "brother@"}, 1),  # organizers see contacts' addresses, and may search them
    ):
        response = organizer_client.get(reverse(CONTACTS), params)
        assert response.status_code == 200, params
        assert len(response.context["cl"].result_list) == expected, params
    for params in ({"status__exact": "uncertain"}, {"contact__case__id__exact": case.pk}):
        response = organizer_client.get(reverse(DIGESTS), params)
        assert response.status_code == 200, params
        assert len(response.context["cl"].result_list) == 1, params
