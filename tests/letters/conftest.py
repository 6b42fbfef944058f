"""Letters' fixtures: a supporter's form data, letters in each state, family contacts, images."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import form_started


def letter_post(**overrides) -> dict:
    data = {
        "addressed_to": "person",
        "text": "Stay strong, Khaled. The whole world is watching and we are with you.",
        "language": "en",
        "first_name": "Ana",
        "country": "PT",
        "writer_email": "",
        "website": "",
        "started": form_started(),
    }
    data.update(overrides)
    return data


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "red", **save_args) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save_args)
    return out.getvalue()


@pytest.fixture
def make_letter(case):
    """Create a letter directly (as submit_letter would), pending unless told otherwise."""
    from letters.models import Letter
    from letters.services.screening import text_fingerprint

    counter = iter(range(1, 10_000))

    def make(**fields) -> Letter:
        n = next(counter)
        fields.setdefault("case", case)
        fields.setdefault("first_name", f"Writer{n}")
        fields.setdefault("country", "FR")
        fields.setdefault("language", "en")
        fields.setdefault("text", f"Message number {n}: you are not alone.")
        fields["text_hash"] = text_fingerprint(fields["text"])
        return Letter.objects.create(**fields)

    return make


@pytest.fixture
def approved_letter(make_letter, moderator):
    from letters.services.moderation import approve_letters

    def make(**fields):
        letter = make_letter(**fields)
        assert approve_letters([letter.pk], moderator) == 1
        letter.refresh_from_db()
        return letter

    return make


@pytest.fixture
def family_contact(case):
    from letters.models import FamilyContact

    return FamilyContact.objects.create(case=case, name="Family of Khaled", email="family@example.org", language="fr")
