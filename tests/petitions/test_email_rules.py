"""Email normalisation: case everywhere, per-domain rules (seeded for gmail.com, editable in the admin)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from petitions.models import EmailRule, normalise_email


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Ana.Lima+w4r@GMail.com", "analima@gmail.com"),
        ("ana.lima@googlemail.com", "analima@gmail.com"),
        ("Ana.Lima+w4r@Example.org", "ana.lima+w4r@example.org"),
        ("  ANA@EXAMPLE.ORG ", "ana@example.org"),
    ],
)
def test_it_applies_the_seeded_rules(db, typed, normalised):
    assert normalise_email(typed) == normalised


# Rules decide which addresses are one inbox, so one wrong rule on a big domain would merge strangers and stop
# them from signing: they are for superusers, who also handle the addresses; organizers read them.
def test_it_applies_a_rule_a_superuser_adds_at_once(client, superuser):
    assert normalise_email("a.b+x@proton.example") == "a.b+x@proton.example"
    client.force_login(superuser)
    response = client.post(
        reverse("admin:petitions_emailrule_add"),
        {"domain": "Proton.Example", "ignore_dots": "", "strip_plus_tag": "on", "same_as": ""},
    )
    assert response.status_code == 302
    assert EmailRule.objects.get(domain="proton.example").strip_plus_tag
    assert normalise_email("a.b+x@proton.example") == "a.b@proton.example"


def test_it_lets_organizers_read_the_rules_but_not_change_them(organizer_client):
    assert organizer_client.get(reverse("admin:petitions_emailrule_changelist")).status_code == 200
    assert organizer_client.get(reverse("admin:petitions_emailrule_add")).status_code == 403
