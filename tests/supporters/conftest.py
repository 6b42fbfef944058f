"""Helpers for the supporters' tests: confirmed signers with a share code, a letter writer, a share link."""

from __future__ import annotations

import pytest
from django.utils import translation

from petitions.models import Signature
from petitions.services import links
from tests.petitions.conftest import form_data, make_signature, sign_url, url  # noqa: F401


def confirmed(case, email: str = "ana@example.org", **fields) -> Signature:
    """A signature confirmed through its link, so with its share code."""
    signature = make_signature(case, email=email, **fields)
    assert links.confirm_signature(signature.pk) is not None
    signature.refresh_from_db()
    assert signature.share_code
    return signature


def shared_link(case, channel: str, code: str = "", language: str = "en") -> str:
    """The path a share link of `case` carries (without the site)."""
    from django.urls import reverse

    kwargs = {"campaign": case.campaign.slug, "case": case.slug, "channel": channel}
    with translation.override(language):
        if code:
            return reverse("petitions:shared-by", kwargs={**kwargs, "code": code})
        return reverse("petitions:shared", kwargs=kwargs)


@pytest.fixture
def sharer(case) -> Signature:
    """Ana, who signed for the case and confirmed: she has her own share code."""
    return confirmed(case)
