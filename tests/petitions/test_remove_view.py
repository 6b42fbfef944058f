"""/<lang>/petitions/not-me/<token>/: "this was not me" removes a pending signature, after a button press."""

from __future__ import annotations

from petitions.models import Signature
from petitions.services import links

from .conftest import url


def remove_url(signature_id: int) -> str:
    return url("petitions:remove", links.removal_token(signature_id))


def test_it_asks_before_removing(client, signature):
    response = client.get(remove_url(signature.pk))
    assert "Remove this signature" in response.content.decode()
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_it_removes_a_pending_signature(client, signature):
    response = client.post(remove_url(signature.pk))
    assert "The signature was removed" in response.content.decode()
    assert not Signature.objects.filter(pk=signature.pk).exists()
    again = client.post(remove_url(signature.pk))
    assert again.status_code == 200
    assert "nothing to remove" in again.content.decode()


def test_it_keeps_a_confirmed_signature(client, signature):
    links.confirm_signature(signature.pk)
    response = client.post(remove_url(signature.pk))
    assert "already confirmed" in response.content.decode()
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_it_refuses_a_confirmation_token_as_a_removal_token(client, signature):
    response = client.post(url("petitions:remove", links.confirmation_token(signature.pk)))
    assert response.status_code == 400
    assert Signature.objects.filter(pk=signature.pk).exists()
