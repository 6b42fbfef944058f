"""The signatures in the admin: who sees what, bulk invalidation with a preview, and the query budget."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.models import Tally
from petitions.models import Signature
from petitions.services import counting, links

from .conftest import make_signature

CHANGELIST = "admin:petitions_signature_changelist"
BULK = "admin:petitions_signature_bulk_invalidate"


@pytest.fixture
def signatures(case):
    made = [
        make_signature(case, email="ana@example.org", ip="203.0.113.7"),
        make_signature(case, email="bot1@spam.example", ip="198.51.100.10"),
        make_signature(case, email="bot2@spam.example", ip="198.51.100.11"),
    ]
    for signature in made:
        links.confirm_signature(signature.pk)
    counting.count_signatures()
    return made


def test_it_hides_signatures_from_moderators(moderator_client, signatures):
    assert moderator_client.get(reverse(CHANGELIST)).status_code == 403
    assert moderator_client.get(reverse(BULK)).status_code == 403


def test_it_shows_organizers_names_but_never_addresses(organizer_client, signatures, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = organizer_client.get(reverse(CHANGELIST))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ana Lima" in html
    assert "@spam.example" not in html and "ana@example.org" not in html
    detail = organizer_client.get(reverse("admin:petitions_signature_change", args=[signatures[0].pk]))
    assert detail.status_code == 200
    assert "ana@example.org" not in detail.content.decode()
    assert "203.0.113.7" not in detail.content.decode()


def test_it_shows_superusers_the_addresses(client, superuser, signatures):
    client.force_login(superuser)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "ana@example.org" in html
    found = client.get(reverse(CHANGELIST), {"q": "ana@example.org"}).content.decode()
    assert "bot1@spam.example" not in found


def test_it_previews_then_invalidates_by_domain(organizer_client, signatures, case):
    response = organizer_client.post(reverse(BULK), {"domain": "spam.example"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "This will invalidate 2 signatures." in html
    assert Signature.objects.filter(status=Signature.Status.INVALIDATED).count() == 0

    response = organizer_client.post(reverse(BULK), {"domain": "spam.example", "confirm": "1"})
    assert response.status_code == 302
    assert Signature.objects.filter(status=Signature.Status.INVALIDATED).count() == 2
    assert sum(Tally.objects.values_list("count", flat=True)) == 1


def test_it_invalidates_by_address_range_and_time_window(organizer_client, signatures, case):
    organizer_client.post(reverse(BULK), {"network": "198.51.100.0/24", "confirm": "1"})
    assert set(Signature.objects.filter(status="invalidated").values_list("email", flat=True)) == {
        "bot1@spam.example",
        "bot2@spam.example",
    }
    assert sum(Tally.objects.values_list("count", flat=True)) == 1
    # Ana signed three hours ago; Zoë signs now, outside the window.
    Signature.objects.filter(email="ana@example.org").update(created_at=timezone.now() - datetime.timedelta(hours=3))
    links.confirm_signature(make_signature(case, email="zoe@example.org").pk)
    counting.count_signatures()
    window = {"signed_from": (timezone.now() - datetime.timedelta(hours=4)).strftime("%Y-%m-%d %H:%M")}
    window["signed_until"] = (timezone.now() - datetime.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    preview = organizer_client.post(reverse(BULK), window).content.decode()
    assert "This will invalidate 1 signature." in preview
    assert organizer_client.post(reverse(BULK), {**window, "confirm": "1"}).status_code == 302
    assert set(Signature.objects.filter(status="invalidated").values_list("email", flat=True)) == {
        "ana@example.org",
        "bot1@spam.example",
        "bot2@spam.example",
    }
    # Ana's counted signature left the ledger; Zoë's stays.
    assert {(t.country, t.count) for t in Tally.objects.filter(count__gt=0)} == {("FR", 1)}
    assert Signature.objects.get(email="zoe@example.org").status == Signature.Status.CONFIRMED
    assert counting.reconcile_signatures() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Give a domain, an address range or a time window."),
        ({"network": "300.1.2.3/99"}, "Write an address or a range"),
        ({"domain": "not a domain"}, "Write a domain such as example.com."),
        ({"signed_from": "yesterday"}, "Enter a valid date/time."),
    ],
)
def test_it_explains_a_bad_bulk_filter(organizer_client, signatures, data, message):
    response = organizer_client.post(reverse(BULK), {**data, "confirm": "1"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Signature.objects.filter(status="invalidated").exists()


def test_it_invalidates_selected_signatures_with_an_action(organizer_client, signatures):
    response = organizer_client.post(
        reverse(CHANGELIST), {"action": "invalidate_selected", "_selected_action": [signatures[1].pk]}
    )
    assert response.status_code == 302
    assert Signature.objects.get(pk=signatures[1].pk).status == Signature.Status.INVALIDATED
    assert sum(Tally.objects.values_list("count", flat=True)) == 2


def test_it_clears_flags_so_pending_ones_get_their_mail_and_confirmed_ones_count(organizer_client, case):
    from campaign.lib.outbox import MailStatus

    pending = make_signature(case, email="fast@example.org", flagged=True, flag_rule="too-fast", mail_status="none")
    confirmed = make_signature(case, email="quick@example.org", flagged=True, flag_rule="too-fast")
    links.confirm_signature(confirmed.pk)
    response = organizer_client.post(
        reverse(CHANGELIST), {"action": "clear_flags", "_selected_action": [pending.pk, confirmed.pk]}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.flagged, pending.mail_status) == (False, MailStatus.PENDING)
    assert counting.count_signatures() == 1


def test_it_takes_a_deleted_signature_out_of_the_counts(client, superuser, signatures):
    client.force_login(superuser)
    response = client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [signatures[0].pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Signature.objects.filter(pk=signatures[0].pk).exists()
    assert sum(Tally.objects.values_list("count", flat=True)) == 2
    assert counting.reconcile_signatures() == 0


def test_it_lets_only_superusers_delete(organizer_client, signatures):
    response = organizer_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [signatures[0].pk], "post": "yes"}
    )
    assert Signature.objects.filter(pk=signatures[0].pk).exists()
    assert response.status_code in (200, 302, 403)


# A field hidden from organizers cannot be filtered on by them either: `?email__regex=^a` would otherwise tell,
# row by row, whether an address starts with "a", and rebuild it a character at a time.
@pytest.mark.parametrize(
    "lookup",
    [
        "email__regex=^a",
        "email__startswith=a",
        "email_normalised__startswith=a",
        "email_marker__startswith=0",
        "ip__startswith=203",
        "mail_last_error__contains=@",
    ],
)
def test_it_refuses_organizers_a_lookup_on_a_personal_field(organizer_client, superuser_client, signatures, lookup):
    assert organizer_client.get(reverse(CHANGELIST) + "?" + lookup).status_code == 400
    assert superuser_client.get(reverse(CHANGELIST) + "?" + lookup).status_code == 200


def test_it_still_lets_organizers_use_the_declared_filters(organizer_client, signatures, case):
    response = organizer_client.get(
        reverse(CHANGELIST), {"status__exact": "confirmed", "flagged__exact": "0", "case__id__exact": case.pk}
    )
    assert response.status_code == 200
    assert "Ana Lima" in response.content.decode()
