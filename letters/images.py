"""Checking and cleaning the drawing or photo a supporter attaches to a letter, and serving it to those who may
see it.

The file's name and declared type are ignored: Pillow reads what the bytes really are. Only JPEG, PNG and
WebP are accepted, within a size and a pixel limit. The image is then re-encoded as a new JPEG, which drops
every metadata block (EXIF with its GPS position, comments, embedded profiles and anything hidden after the
image data).

Decoding is what costs memory (a 92 KB PNG can declare 40 megapixels, 160 MB once decoded), so it is
bounded three ways, all decided from the header before any pixel is decoded:

- the pixel cap (LETTERS_IMAGE_MAX_PIXELS) and a memory budget per decoding (DECODE_BUDGET_BYTES, which
  also counts the copies a WebP picture goes through);
- a JPEG is decoded already shrunk (libjpeg's draft mode, at 1/2, 1/4 or 1/8 of its size), and every image
  is flattened and reduced tile by tile, so that the decoded image is the only large block in memory;
- at most DECODES_AT_ONCE decodings at a time in a process; another waits up to DECODE_WAIT_SECONDS, then
  the writer is asked to send the picture again in a moment (HTTP 503);
- and the memory a decoding used goes back to the system (`_keep_large_blocks_apart`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import math
import threading
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
# Whatever LETTERS_IMAGE_MAX_PIXELS says, a decoding never takes more than this (by `decoding_bytes`: a
# 16-megapixel PNG with transparency takes 64 MB, a 6-megapixel WebP 96 MB), so that a web process stays within
# 150 MiB of its idle size (measured by bench/images.py: docs/letters.md).
DECODE_BUDGET_BYTES = 100 * 1024 * 1024
DECODES_AT_ONCE = 1
DECODE_WAIT_SECONDS = 5.0
_decoding = threading.BoundedSemaphore(DECODES_AT_ONCE)
# The side of the tiles flattened and reduced one at a time: a few megabytes each.
_TILE_SIDE = 1024
# EXIF orientations and the transposition that makes each upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def megabytes(size: int) -> str:
    """8388608 -> "8", 3040000 -> "2.9"."""
    return f"{round(size / 1_048_576, 1):g}"


def clean_letter_image(upload) -> ContentFile:
    """Return a re-encoded JPEG of `upload`, or raise ValidationError with a message for the supporter (code
    "busy" when too many pictures are being decoded in this process: the view answers 503)."""
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
            out = _decode_bounded(upload, too_many_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_many_pixels from exc
        except ValidationError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise unreadable from exc
    return ContentFile(out, name="drawing.jpg")


def _decode_bounded(upload, too_many_pixels: ValidationError) -> bytes:
    """The JPEG bytes of the picture in `upload`, upright, on white, at most LETTERS_IMAGE_MAX_SIDE."""
    with Image.open(upload) as image:
        return _reencode(image, too_many_pixels)


def _reencode(image: Image.Image, too_many_pixels: ValidationError) -> bytes:
    side = settings.LETTERS_IMAGE_MAX_SIDE
    if image.format == "JPEG":
        # libjpeg decodes at the smallest of 1/8, 1/4, 1/2 or full size that is still at least the target.
        image.draft("RGB", _fitting(image.size, side))
    if decoding_bytes(image) > DECODE_BUDGET_BYTES:
        raise too_many_pixels
    _keep_large_blocks_apart()
    if not _decoding.acquire(timeout=DECODE_WAIT_SECONDS):
        raise ValidationError(
            _("Many pictures are arriving right now. Please send your message again in a minute."), code="busy"
        )
    try:
        image.load()
        # Read once decoded: a PNG's EXIF block may come after its pixels, and asking first would decode it.
        orientation = image.getexif().get(0x0112)
        small = _flatten_and_reduce(image, max(1, max(image.size) // side))
        # The decoded image is the one large block: let it go before the rest (the upload stays open).
        image.close()
    finally:
        _decoding.release()
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
    small.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No exif= and no icc_profile= argument: the new file carries no metadata at all.
    small.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _keep_large_blocks_apart() -> None:
    """Once per process, before its first decoding: fix glibc's mmap threshold at its starting value (128 KiB).

    glibc raises that threshold to the size of the largest block freed, up to 32 MiB, so that after one
    picture the next one's buffers come from the heap, which keeps them once freed: four WebP pictures in a
    row left a web process 148 MiB above its idle size, against 100 MiB at the peak and nothing after with the
    threshold fixed (bench/images.py). The same as MALLOC_MMAP_THRESHOLD_=131072 in the environment; nothing
    happens where the C library is not glibc."""
    global _allocator_set
    if _allocator_set:
        return
    _allocator_set = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):  # not glibc: musl or macOS have no mallopt
        pass


_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
_allocator_set = False


def decoding_bytes(image: Image.Image) -> int:
    """About how much memory decoding `image` takes, from its header (after `draft`, for a JPEG). Pillow keeps
    one byte a pixel for 1, L and P images, two for 16-bit grey and four for the others (RGB included). A WebP
    picture is decoded by libwebp into a canvas of its own, copied out as bytes, then into Pillow's image:
    measured, its peak is about four times the image."""
    width, height = image.size
    per_pixel = 1 if image.mode in ("1", "L", "P") else 2 if image.mode.startswith("I;16") else 4
    copies = 4 if image.format == "WEBP" else 1
    return width * height * per_pixel * copies


def _fitting(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` shrunk, keeping its shape, so that its longest side is at most `side`."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten_and_reduce(image: Image.Image, factor: int) -> Image.Image:
    """`image` in RGB on a white background, `factor` times smaller (by averaging), made a tile at a time:
    converting a whole 16-megapixel RGBA image would take 64 MB more, and Image.reduce would copy it once again
    to premultiply its alpha. Tiles rather than strips of rows, so that even a picture 16 million pixels wide
    and one high is worked on in small pieces."""
    width, height = image.size
    out = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)), "white")
    step = max(factor, _TILE_SIDE // factor * factor)  # a multiple of factor: tiles reduce without a seam
    for top in range(0, height, step):
        for left in range(0, width, step):
            tile = _on_white(image.crop((left, top, min(left + step, width), min(top + step, height))))
            if factor > 1:
                tile = tile.reduce(factor)
            out.paste(tile, (left // factor, top // factor))
    return out


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


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
