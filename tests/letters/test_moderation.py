"""Moderating letters in the admin: the queue, approve and reject (one or many), claims, counting."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.models import Tally
from letters.models import Letter, RejectionReason
from letters.services import moderation

CHANGELIST = "admin:letters_letter_changelist"


@pytest.fixture
def reason(db):
    return RejectionReason.objects.get(label="Advertising or spam")


def test_it_opens_the_queue_on_pending_letters_oldest_first(
    moderator_client, make_letter, django_assert_max_num_queries
):
    now = timezone.now()
    newer = make_letter(text="Newer letter", created_at=now - datetime.timedelta(hours=1))
    older = make_letter(text="Older letter", created_at=now - datetime.timedelta(hours=5))
    make_letter(text="Already approved", status="approved")
    for n in range(20):
        make_letter(text=f"Filler {n}")
    with django_assert_max_num_queries(14):
        response = moderator_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Already approved" not in html
    assert html.index("Older letter") < html.index("Newer letter")
    assert [x.pk for x in response.context["cl"].result_list][:2] == [older.pk, newer.pk]
    all_html = moderator_client.get(reverse(CHANGELIST), {"status": "all"}).content.decode()
    assert "Already approved" in all_html


def test_it_filters_by_flag_kind_and_searches_the_text(moderator_client, make_letter):
    make_letter(text="Visit www.spam.example.com", flags="link")
    make_letter(text="Plain support")
    make_letter(text="With a drawing", image="letters/x.jpg")

    def texts(**params):
        response = moderator_client.get(reverse(CHANGELIST), params)
        return {x.text for x in response.context["cl"].result_list}

    assert texts(flag="link") == {"Visit www.spam.example.com"}
    assert texts(flag="none") == {"Plain support", "With a drawing"}
    assert texts(kind="drawing") == {"With a drawing"}
    assert texts(q="support") == {"Plain support"}


def test_it_approves_selected_letters_and_counts_each_once(moderator_client, moderator, make_letter, case):
    letters = [make_letter(country="FR"), make_letter(country="FR"), make_letter(country="DZ", image="letters/d.jpg")]
    already = make_letter(status="rejected")
    data = {"action": "approve_selected", "_selected_action": [x.pk for x in [*letters, already]]}
    # On the "all" view, so that the rejected letter is part of the selection.
    response = moderator_client.post(reverse(CHANGELIST) + "?status=all", data, follow=True)
    text = response.content.decode()
    assert "3 letters approved." in text
    assert "1 letter left alone" in text
    assert set(Letter.objects.filter(status="approved").values_list("pk", flat=True)) == {x.pk for x in letters}
    approved = Letter.objects.get(pk=letters[0].pk)
    assert approved.moderated_by == moderator and approved.moderated_at is not None
    today = timezone.localdate()
    tallies = {(t.kind, t.country, t.source, t.day): t.count for t in Tally.objects.filter(case=case)}
    assert tallies == {("letter", "FR", "online", today): 2, ("drawing", "DZ", "online", today): 1}

    # Approving again changes nothing and counts nothing.
    moderator_client.post(reverse(CHANGELIST), {**data, "_selected_action": [letters[0].pk]})
    assert Tally.objects.get(case=case, kind="letter").count == 2


def test_it_rejects_with_a_reason_and_forgets_the_writers_email(moderator_client, make_letter, reason):
    letter = make_letter(writer_email="ana@example.org", writer_consent=True)
    url = reverse(CHANGELIST)
    response = moderator_client.post(url, {"action": "reject_selected", "_selected_action": [letter.pk]}, follow=True)
    assert "Choose a reason to reject letters." in response.content.decode()
    assert Letter.objects.get().status == "pending"

    data = {"action": "reject_selected", "_selected_action": [letter.pk], "rejection_reason": reason.pk}
    response = moderator_client.post(url, data, follow=True)
    assert "1 letter rejected." in response.content.decode()
    letter.refresh_from_db()
    assert (letter.status, letter.rejection_reason, letter.writer_email) == ("rejected", reason, "")
    assert not Tally.objects.exists()


def test_it_claims_a_letter_for_the_moderator_who_opens_it(moderator_client, moderator, make_letter, django_user_model):
    letter = make_letter(text="Be brave")
    response = moderator_client.get(reverse("admin:letters_letter_change", args=[letter.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("admin:letters_letter_moderate", args=[letter.pk]) in html
    assert "Be brave" in html
    letter.refresh_from_db()
    assert letter.claimed_by == moderator and letter.claimed_until > timezone.now()

    # A second moderator is told and gets no buttons; their bulk approve leaves the letter alone.
    from django.contrib.auth.models import Group
    from django.test import Client

    other = django_user_model.objects.create_user("other-moderator", password="x" * 16, is_staff=True)
    other.groups.add(Group.objects.get(name="Moderators"))
    other_client = Client()
    other_client.force_login(other)
    response = other_client.get(reverse("admin:letters_letter_change", args=[letter.pk]))
    html = response.content.decode()
    assert "Moderator is working on this letter until" in html
    assert reverse("admin:letters_letter_moderate", args=[letter.pk]) not in html
    assert moderation.approve_letters([letter.pk], other) == 0

    # Once the claim expires, the other moderator may take it.
    Letter.objects.filter(pk=letter.pk).update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    assert moderation.claim_letter(letter.pk, other) == (letter, True)


def test_it_approves_from_the_buttons_and_moves_on_to_the_next_letter(moderator_client, make_letter, case):
    first = make_letter()
    second = make_letter()
    moderator_client.get(reverse("admin:letters_letter_change", args=[first.pk]))
    response = moderator_client.post(reverse("admin:letters_letter_moderate", args=[first.pk]), {"decision": "approve"})
    assert response.url == reverse("admin:letters_letter_next")
    response = moderator_client.get(response.url)
    assert response.url == reverse("admin:letters_letter_change", args=[second.pk])
    assert Letter.objects.get(pk=first.pk).status == "approved"
    assert Tally.objects.get(case=case).count == 1


def test_it_rejects_from_the_buttons_only_with_a_reason(moderator_client, make_letter, reason):
    letter = make_letter()
    url = reverse("admin:letters_letter_moderate", args=[letter.pk])
    moderator_client.post(url, {"decision": "reject"})
    assert Letter.objects.get().status == "pending"
    moderator_client.post(url, {"decision": "reject", "rejection_reason": reason.pk})
    assert Letter.objects.get().status == "rejected"


def test_the_next_letter_skips_one_claimed_by_another_and_gives_back_ones_own(make_letter, moderator, superuser):
    first, second = make_letter(), make_letter()
    assert moderation.claim_next_letter(moderator) == first
    assert moderation.claim_next_letter(superuser) == second
    assert moderation.claim_next_letter(moderator) == first  # their own claim is still theirs


def test_it_only_moderates_with_a_post(moderator_client, make_letter):
    letter = make_letter()
    response = moderator_client.get(reverse("admin:letters_letter_moderate", args=[letter.pk]), {"decision": "approve"})
    assert response.status_code == 405
    assert Letter.objects.get().status == "pending"


def test_a_moderator_can_leave_a_letter_for_someone_else(moderator_client, make_letter):
    letter = make_letter()
    moderator_client.get(reverse("admin:letters_letter_change", args=[letter.pk]))
    assert Letter.objects.get().claimed_by_id is not None
    url = reverse("admin:letters_letter_moderate", args=[letter.pk])
    response = moderator_client.post(url, {"decision": "release"})
    assert response.url == reverse(CHANGELIST)
    letter.refresh_from_db()
    assert (letter.claimed_by, letter.status) == (None, "pending")


def test_the_country_filter_lists_only_countries_letters_came_from(moderator_client, make_letter):
    make_letter(country="DZ")
    make_letter(country="BR")
    response = moderator_client.get(reverse(CHANGELIST))
    country_filter = next(
        f for f in response.context["cl"].filter_specs if getattr(f, "parameter_name", "") == "country"
    )
    assert [code for code, _ in country_filter.lookup_choices] == ["DZ", "BR"]  # Algeria, Brazil
    filtered = moderator_client.get(reverse(CHANGELIST), {"country": "BR"}).context["cl"].result_list
    assert [x.country.code for x in filtered] == ["BR"]


def test_rejecting_a_letter_deletes_its_image(moderator, make_letter, reason, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    from .conftest import image_bytes

    letter = make_letter()
    letter.image.save("card.jpg", ContentFile(image_bytes("JPEG")))
    path = letter.image.path
    with django_capture_on_commit_callbacks(execute=True):
        assert moderation.reject_letters([letter.pk], reason, moderator) == 1
    letter.refresh_from_db()
    assert letter.image.name == ""
    import os

    assert not os.path.exists(path)


def test_the_nightly_recount_repairs_drift_in_the_letter_tallies(approved_letter, make_letter, case):
    from letters.tasks import reconcile_letter_tallies

    approved_letter(country="FR")
    drawing = approved_letter(country="FR")
    Letter.objects.filter(pk=drawing.pk).update(image="letters/x.jpg")  # a drawing counted as a letter
    gone = approved_letter(country="DZ")
    Letter.objects.filter(pk=gone.pk).update(status="rejected")  # changed by hand: no longer counts
    assert reconcile_letter_tallies() == 3
    tallies = {(t.kind, t.country): t.count for t in Tally.objects.filter(case=case)}
    assert tallies == {("letter", "FR"): 1, ("drawing", "FR"): 1}
    assert reconcile_letter_tallies() == 0
