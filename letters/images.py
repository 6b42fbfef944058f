"""Checking and cleaning the drawing or photo a supporter attaches to a letter, and serving it to those who may
see it.

The file's name and declared type are ignored: Pillow reads what the bytes really are. Only JPEG, PNG and
WebP are accepted, within a size and a pixel limit (checked from the header, before any pixel is decoded,
so a small "decompression bomb" never expands in memory). The image is then re-encoded as a new JPEG,
which drops every metadata block (EXIF with its GPS position, comments, embedded profiles and anything
hidden after the image data).
"""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def megabytes(size: int) -> str:
    """8388608 -> "8", 3040000 -> "2.9"."""
    return f"{round(size / 1_048_576, 1):g}"


def clean_letter_image(upload) -> ContentFile:
    """Return a re-encoded JPEG of `upload`, or raise ValidationError with a message for the supporter."""
    max_bytes = settings.LETTERS_IMAGE_MAX_BYTES
    if upload.size > max_bytes:
        raise ValidationError(
            _("This image is too large (%(size)s MB). Please choose one under %(limit)s MB."),
            code="too_large",
            params={"size": megabytes(upload.size), "limit": megabytes(max_bytes)},
        )
    unreadable = ValidationError(
        _("This file is not an image we can read. Please choose a JPEG, PNG or WebP picture."), code="not_an_image"
    )
    too_many_pixels = ValidationError(
        _("This image has too many pixels. Please choose a smaller picture (a photo from a phone is fine)."),
        code="too_many_pixels",
    )
    with warnings.catch_warnings():
        # Pillow warns, then refuses, past Image.MAX_IMAGE_PIXELS: both mean "not this image" here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            upload.seek(0)
            with Image.open(upload) as probe:
                if probe.format not in ALLOWED_FORMATS:
                    raise unreadable
                # Only the header has been read so far: refuse huge images before decoding them.
                width, height = probe.size
                if width * height > settings.LETTERS_IMAGE_MAX_PIXELS:
                    raise too_many_pixels
                probe.verify()
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                if image.mode in ("RGBA", "LA", "P"):
                    image = image.convert("RGBA")
                    background = Image.new("RGB", image.size, "white")
                    background.paste(image, mask=image.getchannel("A"))
                    image = background
                elif image.mode != "RGB":
                    image = image.convert("RGB")
                side = settings.LETTERS_IMAGE_MAX_SIDE
                image.thumbnail((side, side))
                out = io.BytesIO()
                # No exif= and no icc_profile= argument: the new file carries no metadata at all.
                image.save(out, "JPEG", quality=85, optimize=True)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_many_pixels from exc
        except ValidationError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise unreadable from exc
    return ContentFile(out.getvalue(), name="drawing.jpg")


def private_image_response(letter) -> FileResponse:
    """A letter's drawing, for a view that has checked who may see it."""
    try:
        file = letter.image.open("rb")
    except OSError as exc:  # Lost from storage: say so plainly rather than fail.
        raise Http404(_("This drawing is no longer available.")) from exc
    response = FileResponse(file, content_type="image/jpeg")
    response["Content-Disposition"] = f'inline; filename="drawing-{letter.pk}.jpg"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
