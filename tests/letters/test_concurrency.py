"""Moderators acting on the same letters at the same moment, on PostgreSQL."""

from __future__ import annotations

import pytest

from campaign.models import Tally
from letters.models import Letter
from letters.services import moderation
from tests.conftest import run_in_threads


@pytest.mark.django_db(transaction=True)
def test_a_letter_approved_twice_at_once_is_counted_once(case, make_letter, moderator, superuser):
    letters = [make_letter(country="FR") for _ in range(10)]
    ids = [x.pk for x in letters]
    users = [moderator, superuser, moderator, superuser]
    results = run_in_threads(lambda i: moderation.approve_letters(ids, users[i]), len(users))
    assert sum(results) == 10
    assert Letter.objects.filter(status="approved").count() == 10
    assert Tally.objects.get(case=case, kind="letter").count == 10


@pytest.mark.django_db(transaction=True)
def test_approve_and_reject_at_once_leave_one_decision(case, make_letter, moderator, superuser):
    from letters.models import RejectionReason

    reason = RejectionReason.objects.first()
    letter = make_letter()
    results = run_in_threads(
        lambda i: (
            moderation.approve_letters([letter.pk], moderator)
            if i == 0
            else moderation.reject_letters([letter.pk], reason, superuser)
        ),
        2,
    )
    assert sorted(results) == [0, 1]
    letter.refresh_from_db()
    counted = Tally.objects.filter(case=case).values_list("count", flat=True)
    assert (letter.status == "approved") == (list(counted) == [1])


@pytest.mark.django_db(transaction=True)
def test_the_recount_running_during_approvals_leaves_the_tallies_right(case, make_letter, moderator):
    batches = [[make_letter(country="FR").pk for _ in range(15)] for _ in range(3)]

    def work(i: int) -> int:
        if i == 3:
            return sum(moderation.reconcile_letter_tallies() for _ in range(5))
        return sum(moderation.approve_letters([pk], moderator) for pk in batches[i])

    results = run_in_threads(work, 4)
    assert results[:3] == [15, 15, 15]
    assert Tally.objects.get(case=case, kind="letter").count == 45
    assert moderation.reconcile_letter_tallies() == 0


@pytest.mark.django_db(transaction=True)
def test_moderators_taking_the_next_letter_at_the_same_moment_never_read_the_same_letter(
    make_letter, django_user_model
):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Moderators")
    moderators = []
    for n in range(6):
        user = django_user_model.objects.create_user(f"moderator-{n}", password="x" * 16, is_staff=True)
        user.groups.add(group)
        moderators.append(user)
    letters = [make_letter() for _ in range(8)]

    taken = run_in_threads(lambda i: moderation.claim_next_letter(moderators[i]), len(moderators))

    assert None not in taken  # nobody was told "nothing waits" while letters did
    assert len({letter.pk for letter in taken}) == len(moderators)
    # The oldest letters, each held by the moderator who got it.
    assert {letter.pk for letter in taken} == {letter.pk for letter in letters[:6]}
    claims = dict(Letter.objects.filter(claimed_by__isnull=False).values_list("pk", "claimed_by"))
    assert claims == {letter.pk: moderators[i].pk for i, letter in enumerate(taken)}
