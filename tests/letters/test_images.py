"""The drawing or photo sent with a letter: checked for what it really is, cleaned, kept private."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from letters.models import Letter

from .conftest import image_bytes, letter_post


def write_url(case) -> str:
    return reverse("letters:write", kwargs={"campaign": case.campaign.slug, "case": case.slug})


def post_image(client, case, name: str, data: bytes, content_type: str = "image/png"):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(write_url(case), {**letter_post(), "image": upload})


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (120, 80), "blue")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    data = out.getvalue()
    assert b"PhoneMaker" in data
    return data


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG file that declares a huge picture (zeros compress to almost nothing)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(min(height, 2000))) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_it_stores_a_photo_re_encoded_without_its_gps_position_in_private_storage(client, case):
    response = post_image(client, case, "card.jpg", jpeg_with_gps(), "image/jpeg")
    assert response.status_code == 302
    letter = Letter.objects.get()
    path = letter.image.path
    assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert not path.startswith(str(settings.MEDIA_ROOT))
    stored = Path(path).read_bytes()
    assert b"PhoneMaker" not in stored
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert image.size == (120, 80)
        assert not image.getexif()
    assert letter.kind == "drawing"


def test_it_accepts_a_transparent_png_and_shrinks_a_large_one(client, case, settings):
    settings.LETTERS_IMAGE_MAX_SIDE = 100
    out = io.BytesIO()
    Image.new("RGBA", (400, 200), (0, 0, 0, 0)).save(out, "PNG")
    assert post_image(client, case, "drawing.png", out.getvalue()).status_code == 302
    with Image.open(Letter.objects.get().image.path) as image:
        assert image.size == (100, 50)


def test_it_refuses_a_script_renamed_png(client, case):
    response = post_image(client, case, "drawing.png", b"<script>alert(document.cookie)</script>\n" * 20)
    assert response.status_code == 400
    assert "This file is not an image we can read" in response.content.decode()
    assert not Letter.objects.exists()


def test_it_refuses_a_real_image_of_another_type(client, case):
    response = post_image(client, case, "drawing.png", image_bytes("GIF"))
    assert response.status_code == 400
    assert "Please choose a JPEG, PNG or WebP picture" in response.content.decode()


def test_it_refuses_a_file_over_the_size_limit(client, case, settings):
    noisy = Image.frombytes("RGB", (1000, 1000), random.Random(4).randbytes(3_000_000))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    settings.LETTERS_IMAGE_MAX_BYTES = out.tell() - 1
    response = post_image(client, case, "big.png", out.getvalue())
    assert response.status_code == 400
    assert "This image is too large (2.9 MB). Please choose one under 2.9 MB." in response.content.decode()
    assert not Letter.objects.exists()


def test_it_refuses_a_decompression_bomb_before_decoding_it(client, case):
    bomb = png_bomb(60_000, 60_000)  # 3.6 gigapixels in a few kilobytes
    assert len(bomb) < 100_000
    response = post_image(client, case, "bomb.png", bomb)
    assert response.status_code == 400
    assert "This image has too many pixels" in response.content.decode()
    assert not Letter.objects.exists()


def test_it_refuses_a_picture_over_the_pixel_limit(client, case, settings):
    settings.LETTERS_IMAGE_MAX_PIXELS = 100 * 100
    response = post_image(client, case, "wide.png", image_bytes("PNG", size=(101, 100)))
    assert response.status_code == 400
    assert "This image has too many pixels" in response.content.decode()


def test_it_refuses_a_truncated_image(client, case):
    data = image_bytes("JPEG", size=(300, 300))
    response = post_image(client, case, "cut.jpg", data[: len(data) // 2], "image/jpeg")
    assert response.status_code == 400
    assert "This file is not an image we can read" in response.content.decode()


def test_it_refuses_a_huge_upload_before_reading_it(client, case, settings):
    settings.LETTERS_IMAGE_MAX_BYTES = 1024 * 1024
    data = b"\x00" * (2 * 1024 * 1024)
    response = post_image(client, case, "huge.png", data)
    assert response.status_code == 413
    assert "This image is too large. Please choose one under 1 MB." in response.content.decode()
    assert not Letter.objects.exists()
