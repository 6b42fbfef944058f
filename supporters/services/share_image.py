"""The image a link preview shows for a case without a photo: its name, country and the ask, per language.

Drawn with Pillow through libraqm (HarfBuzz and FriBiDi), so Arabic is shaped and laid out right to left,
in SUPPORTERS_SHARE_IMAGE_FONT (DejaVu Sans covers Latin and Arabic). Each image is drawn once and kept on disk
under MEDIA_ROOT/share/, named by a digest of everything drawn on it: a case whose texts change gets a new
image at its next request, and a request never draws an image that exists (`share_image_path`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils.translation import get_language, get_language_bidi, gettext
from PIL import Image, ImageDraw, ImageFont, features

from campaign.models import Case

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
MARGIN = 72
VERSION = "1"  # change when the drawing changes: every image is drawn anew


def _texts(case: Case) -> dict[str, str]:
    """What the image says, in the active language."""
    return {
        "name": case.name,
        "place": f"{case.role} · {case.country.name}" if case.role else str(case.country.name),
        "ask": " ".join(case.ask.split()),
        # The hashtag in a left-to-right isolate: in an Arabic line "#W4R20" would otherwise read "W4R20#".
        "footer": " · ".join(
            part
            for part in (case.campaign.name, f"\u2066{case.campaign.hashtag}\u2069" if case.campaign.hashtag else "")
            if part
        ),
        "cta": gettext("Sign the petition"),
    }


def share_image_path(case: Case) -> Path:
    """The case's image in the active language, drawn now if it was not yet."""
    texts = _texts(case)
    rtl = bool(get_language_bidi())
    digest = hashlib.sha256(repr((VERSION, rtl, sorted(texts.items()))).encode()).hexdigest()[:20]
    folder = Path(settings.MEDIA_ROOT) / "share"
    path = folder / f"{case.pk}-{get_language()}-{digest}.png"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        image = draw_share_image(texts, rtl)
        # Written aside and renamed: a request at the same moment never reads half a file.
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".png")
        with os.fdopen(handle, "wb") as out:
            image.save(out, "PNG", optimize=True)
        os.replace(temporary, path)
    return path


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    try:
        return ImageFont.truetype(path, size, layout_engine=engine)
    except OSError:
        # No 500 for a missing font: the system check (supporters.checks) says which setting to fix.
        log.error("The share image font %s cannot be read: SUPPORTERS_SHARE_IMAGE_FONT", path)
        return ImageFont.load_default(size)


def _layout(font: ImageFont.FreeTypeFont, direction: str, language: str) -> dict:
    """Direction and language for a font laid out by libraqm; the fallback font takes neither."""
    if getattr(font, "layout_engine", None) == ImageFont.Layout.RAQM:
        return {"direction": direction, "language": language}
    return {}


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, layout: dict, lines: int) -> list[str]:
    words, out, line = text.split(), [], ""
    options = {"direction": layout["direction"]} if layout else {}
    for word in words:
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate, **options) <= width or not line:
            line = candidate
        else:
            out.append(line)
            line = word
    if line:
        out.append(line)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1].rstrip(" .,;:") + "…"
    return out


def draw_share_image(texts: dict[str, str], rtl: bool) -> Image.Image:
    direction = "rtl" if rtl else "ltr"
    language = get_language() or settings.LANGUAGE_CODE
    regular, bold = settings.SUPPORTERS_SHARE_IMAGE_FONT, settings.SUPPORTERS_SHARE_IMAGE_BOLD_FONT
    image = Image.new("RGB", (WIDTH, HEIGHT), "#ffff00")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, HEIGHT - 96, WIDTH, HEIGHT), fill="#000000")
    width = WIDTH - 2 * MARGIN
    # Right to left: each line is laid out from the right margin.
    x, anchor = (WIDTH - MARGIN, "ra") if rtl else (MARGIN, "la")

    y = MARGIN
    name_font = _font(bold, 68)
    layout = _layout(name_font, direction, language)
    for line in _wrap(texts["name"], name_font, width, layout, 2):
        draw.text((x, y), line, font=name_font, fill="#000000", anchor=anchor, **layout)
        y += 84
    place_font = _font(regular, 34)
    layout = _layout(place_font, direction, language)
    draw.text((x, y + 6), texts["place"], font=place_font, fill="#000000", anchor=anchor, **layout)
    y += 80
    ask_font = _font(regular, 40)
    layout = _layout(ask_font, direction, language)
    for line in _wrap(texts["ask"], ask_font, width, layout, 4):
        draw.text((x, y), line, font=ask_font, fill="#000000", anchor=anchor, **layout)
        y += 54
    footer_font = _font(bold, 32)
    layout = _layout(footer_font, direction, language)
    footer = f"{texts['cta']} · {texts['footer']}" if texts["footer"] else texts["cta"]
    draw.text((x, HEIGHT - 48), footer, font=footer_font, fill="#ffff00", anchor=anchor[0] + "m", **layout)
    return image
