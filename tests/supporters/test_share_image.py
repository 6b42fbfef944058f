"""The link preview's image of a case without a photo: drawn once per case, language and text, Arabic shaped and
laid out right to left (Pillow through libraqm), and the Open Graph tags that point at it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from PIL import Image, ImageFont, features

from supporters.services import share_image

pytestmark = pytest.mark.django_db


def image_url(case, language: str = "en") -> str:
    return f"/{language}/supporters/image/{case.campaign.slug}/{case.slug}.png"


def test_the_machine_can_shape_arabic():
    """A missing part is an error that says how to get it, never a skip."""
    assert features.check("raqm"), (
        "Pillow cannot shape Arabic: libraqm is missing (Pillow's wheels bundle it; it needs FriBiDi: "
        "`apt-get install libfribidi0`)."
    )
    for name in ("SUPPORTERS_SHARE_IMAGE_FONT", "SUPPORTERS_SHARE_IMAGE_BOLD_FONT"):
        assert Path(getattr(settings, name)).is_file(), f"{name}: `apt-get install fonts-dejavu-core`"


def test_arabic_is_shaped_and_right_to_left():
    """Shaped, the letters of a word join and take their joined forms: the word is narrower than its letters set
    one by one, and the first letter of the text ends up on the right."""
    font = ImageFont.truetype(settings.SUPPORTERS_SHARE_IMAGE_FONT, 60, layout_engine=ImageFont.Layout.RAQM)
    basic = ImageFont.truetype(settings.SUPPORTERS_SHARE_IMAGE_FONT, 60, layout_engine=ImageFont.Layout.BASIC)
    word = "خالد درارني"
    assert font.getlength(word, direction="rtl") < basic.getlength(word)

    def ink_columns(text: str) -> tuple[int, int]:
        image = Image.new("L", (900, 120), 0)
        from PIL import ImageDraw

        ImageDraw.Draw(image).text((10, 10), text, font=font, fill=255, direction="rtl", language="ar")
        box = image.getbbox()
        return box[0], box[2]

    # "خ ـــــــ" (a letter then a long run of tatweel): right to left, the letter sits at the right end.
    _, right_end = ink_columns("خ" + "ـ" * 20)
    letter_only = ink_columns("خ")
    assert right_end > letter_only[1] + 100


def test_it_is_drawn_once_per_case_language_and_text(client, case, monkeypatch, settings, tmp_path):
    drawn = []
    real = share_image.draw_share_image
    monkeypatch.setattr(share_image, "draw_share_image", lambda *a: drawn.append(a) or real(*a))
    for _ in range(3):
        response = client.get(image_url(case))
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert len(drawn) == 1
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.size == (1200, 630)
    client.get(image_url(case, "ar"))
    assert len(drawn) == 2 and drawn[1][1] is True  # right to left
    case.ask_en = "Drop every charge."
    case.save()
    client.get(image_url(case))
    assert len(drawn) == 3  # a new text, a new image
    assert len(list((Path(settings.MEDIA_ROOT) / "share").glob("*.png"))) == 3


def test_an_unknown_case_is_a_404_not_a_500(client, case):
    assert client.get(image_url(case).replace(case.slug, "nobody")).status_code == 404


def test_a_missing_font_still_gives_an_image(client, case, settings):
    settings.SUPPORTERS_SHARE_IMAGE_FONT = settings.SUPPORTERS_SHARE_IMAGE_BOLD_FONT = "/nonexistent/font.ttf"
    assert client.get(image_url(case, "fr")).status_code == 200
    from django.core.checks import run_checks

    assert {m.id for m in run_checks()} >= {"supporters.W001"}


def test_the_case_page_carries_link_preview_tags_in_its_language(client, case):
    for language, locale in (("en", "en_GB"), ("fr", "fr_FR"), ("ar", "ar_AR")):
        html = client.get(f"/{language}/{case.campaign.slug}/{case.slug}/").content.decode()
        head = html.split("</head>", 1)[0]
        tags = dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', head))
        assert tags["og:locale"] == locale
        with translation.override(language):
            assert tags["og:title"].startswith(str(case.name))
            assert tags["og:description"].startswith(case.ask[:20])
        assert tags["og:image"] == settings.SITE_URL + image_url(case, language)
        assert tags["og:url"].endswith(f"/{language}/{case.campaign.slug}/{case.slug}/")
        assert tags["twitter:card"] == "summary_large_image"
        # Nothing from another site is loaded to make the preview.
        assert '<script src="http' not in html
