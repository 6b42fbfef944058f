"""Sections that do not run Plume push their totals with a token: created and shown once, revoked at once; a
revoked token replayed is refused and the organizers see it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sections.models import SectionToken, Snapshot
from sections.services import movement, tokens
from tests.sections.conftest import KHALED, as_bytes, document

pytestmark = pytest.mark.django_db

URL = "/api/v1/sections/totals"
GOOD = as_bytes(document({KHALED: {"BR": {"signature": 40, "letter": 2}}}))


def push(client, token: str, body: bytes = GOOD, content_type: str = "application/json"):
    return client.post(URL, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_token_is_shown_once_and_only_its_hash_is_kept(section, organizer):
    token = tokens.create_token(section, created_by=organizer)
    assert token.startswith("plume_") and len(token) > 40
    row = SectionToken.objects.get()
    assert token not in (row.digest, row.hint) and row.hint == token[:12]


def test_a_pushed_document_counts_and_replaces_the_previous_one(client, section, organizer):
    token = tokens.create_token(section, created_by=organizer)
    response = push(client, token)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "counted", "total": 42}
    assert push(client, token).json()["status"] == "unchanged"
    assert push(client, token, as_bytes(document({KHALED: {"BR": {"signature": 44}}}))).json()["total"] == 44
    assert list(Snapshot.objects.values_list("total", "channel")) == [(44, "push")]
    assert movement.refresh()["cases"][KHALED]["total"] == 44


def test_a_section_can_push_a_csv(client, section, organizer):
    token = tokens.create_token(section, created_by=organizer)
    body = f"case;kind;country;count\n{KHALED};signature;BR;30\n{KHALED};letter;;5\n".encode()
    response = push(client, token, body, content_type="text/csv")
    assert response.json() == {"status": "counted", "total": 35}


def test_a_revoked_token_replayed_is_refused_and_shown_to_organizers(client, section, organizer):
    token = tokens.create_token(section, created_by=organizer)
    push(client, token)
    assert tokens.revoke_tokens(list(SectionToken.objects.values_list("pk", flat=True))) == 1
    response = push(client, token, as_bytes(document({KHALED: {"BR": {"signature": 1}}})))
    assert response.status_code == 401
    assert response.json()["problem"] == "revoked_token"
    section.refresh_from_db()
    assert section.problem == "revoked_token"
    # The counted figures stand.
    assert Snapshot.objects.get().total == 42


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer plume_not-a-token", "Basic dXNlcjpwYXNz", "Token abc"])
def test_no_valid_token_no_figures(client, section, header):
    response = client.post(URL, GOOD, content_type="application/json", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert not Snapshot.objects.exists()


def test_a_document_too_large_is_not_read(client, section, organizer, settings):
    settings.SECTIONS_MAX_DOCUMENT_BYTES = 1000
    token = tokens.create_token(section, created_by=organizer)
    response = push(client, token, b" " * 1001)
    assert response.status_code == 413
    section.refresh_from_db()
    assert section.problem == "too_large"


def test_a_refused_document_says_why_and_changes_nothing(client, section, organizer):
    token = tokens.create_token(section, created_by=organizer)
    push(client, token)
    bad = document({KHALED: {"BR": {"signature": 4}}})
    bad["cases"][0]["signatures"] = [{"name": "Ana Lima", "email": "ana@example.org"}]
    response = push(client, token, as_bytes(bad))
    assert response.status_code == 400
    assert response.json()["problem"] == "not_aggregate"
    assert "signatures" in response.json()["detail"]
    assert Snapshot.objects.get().total == 42


def test_a_section_no_longer_followed_is_refused(client, section, organizer):
    token = tokens.create_token(section, created_by=organizer)
    section.is_active = False
    section.save()
    assert push(client, token).status_code == 403


def test_pushes_are_rate_limited(client, section, organizer, settings):
    settings.SECTIONS_PUSH_RATE_LIMIT_PER_HOUR = 2
    token = tokens.create_token(section, created_by=organizer)
    assert [push(client, token).status_code for _ in range(3)] == [200, 200, 429]


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405
    assert reverse("push-totals") == URL
