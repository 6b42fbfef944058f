"""The drawing or photo sent with a letter: checked for what it really is, cleaned, kept private."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageFile

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


# --- Memory: the rate limit first, a pixel cap, a bounded decoding, one at a time -------------------------------


@pytest.fixture
def decodings(monkeypatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow decodes in this test: (format, size at decoding)."""
    seen: list[tuple[str, tuple[int, int]]] = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        if self.tile:  # not yet decoded (once it is, load() only hands the pixels back)
            seen.append((self.format, self.size))
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


def test_a_writer_over_the_rate_limit_gets_no_picture_read_nor_decoded(monkeypatch, case, settings, decodings):
    settings.LETTERS_RATE_LIMIT_PER_HOUR = 1
    chunks: list[int] = []
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        real = handler.receive_data_chunk

        def receive(self, raw_data, start, real=real):
            chunks.append(len(raw_data))
            return real(self, raw_data, start)

        monkeypatch.setattr(handler, "receive_data_chunk", receive)
    # As a browser does: with the CSRF token, which Django's middleware would read from the body.
    client = Client(enforce_csrf_checks=True)
    token = str(client.get(write_url(case)).context["csrf_token"])
    upload = SimpleUploadedFile("card.png", image_bytes("PNG"), content_type="image/png")
    data = {**letter_post(), "csrfmiddlewaretoken": token, "image": upload}
    assert client.post(write_url(case), data).status_code == 302
    assert chunks and decodings  # the first letter's picture was read and decoded
    chunks.clear()
    decodings.clear()

    upload = SimpleUploadedFile("bomb.png", png_bomb(8000, 5000), content_type="image/png")
    response = client.post(write_url(case), {**data, "text": "A second letter", "image": upload})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Please wait an hour before the next one" in html
    assert "A second letter" in html  # what they wrote comes back to them
    assert (chunks, decodings) == ([], [])
    assert Letter.objects.count() == 1


def test_it_still_refuses_a_letter_without_its_csrf_token(case):
    client = Client(enforce_csrf_checks=True)
    assert client.post(write_url(case), letter_post()).status_code == 403
    assert not Letter.objects.exists()


def test_the_default_pixel_cap_refuses_a_40_megapixel_png_of_92_kb_before_decoding_it(client, case, decodings):
    bomb = png_bomb(8000, 5000)
    assert len(bomb) < 100_000
    response = post_image(client, case, "bomb.png", bomb)
    assert response.status_code == 400
    assert "This image has too many pixels" in response.content.decode()
    assert decodings == []


def test_a_large_photo_is_decoded_already_shrunk(client, case, decodings):
    photo = image_bytes("JPEG", size=(4000, 3000), color="green")
    assert post_image(client, case, "photo.jpg", photo, "image/jpeg").status_code == 302
    # libjpeg's draft mode: decoded at half size, which is still at least the 2000 pixels kept.
    assert decodings == [("JPEG", (2000, 1500))]
    with Image.open(Letter.objects.get().image.path) as stored:
        assert stored.size == (2000, 1500)


def test_it_refuses_a_picture_whose_decoding_would_pass_the_memory_budget_before_decoding_it(
    monkeypatch, client, case, decodings
):
    from letters import images

    # A 100x100 RGB picture takes 40,000 bytes decoded; a WebP one goes through about four times that.
    monkeypatch.setattr(images, "DECODE_BUDGET_BYTES", 100 * 100 * 4 * 4 - 1)
    response = post_image(client, case, "drawing.webp", image_bytes("WEBP", size=(100, 100)), "image/webp")
    assert response.status_code == 400
    assert "This image has too many pixels" in response.content.decode()
    assert decodings == []
    assert post_image(client, case, "drawing.png", image_bytes("PNG", size=(100, 100))).status_code == 302


def test_a_picture_that_finds_the_decoder_busy_is_asked_to_be_sent_again(monkeypatch, client, case, decodings):
    from letters import images

    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 0.01)
    assert images.DECODES_AT_ONCE == 1
    # Another request of this process is decoding a picture.
    assert images._decoding.acquire(blocking=False)
    try:
        response = post_image(client, case, "drawing.png", image_bytes("PNG"))
    finally:
        images._decoding.release()
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "Many pictures are arriving right now. Please send your message again in a minute." in (
        response.content.decode()
    )
    assert decodings == []
    assert not Letter.objects.exists()
    # Once the other decoding is done, the same picture goes through.
    assert post_image(client, case, "drawing.png", image_bytes("PNG")).status_code == 302


def test_a_picture_that_fails_to_decode_frees_the_decoder(monkeypatch, client, case):
    from letters import images

    monkeypatch.setattr(images, "DECODE_WAIT_SECONDS", 0.01)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    # Every chunk whole and checked (verify() passes), but the pixel data is not zlib: only decoding fails.
    header = struct.pack(">IIBBBBB", 300, 300, 8, 0, 0, 0, 0)
    broken = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"not pixels" * 50) + chunk(b"IEND", b"")
    for _ in range(3):
        response = post_image(client, case, "broken.png", broken)
        assert response.status_code == 400
        assert "This file is not an image we can read" in response.content.decode()
    assert post_image(client, case, "drawing.png", image_bytes("PNG")).status_code == 302


def test_a_transparent_drawing_is_flattened_on_white_piece_by_piece_without_seams(client, case, settings):
    settings.LETTERS_IMAGE_MAX_SIDE = 100
    drawing = Image.new("RGBA", (2500, 1000), (0, 0, 0, 0))
    drawing.paste((200, 0, 0, 255), (1250, 0, 2500, 1000))  # the right half painted red, the left transparent
    out = io.BytesIO()
    drawing.save(out, "PNG")
    assert post_image(client, case, "drawing.png", out.getvalue()).status_code == 302
    with Image.open(Letter.objects.get().image.path) as stored:
        assert stored.size == (100, 40)
        for x in (5, 38, 42, 47):  # 38 and 42 on each side of the first tile's edge (source x = 1000)
            assert min(stored.getpixel((x, 20))) > 240, x  # white
        for x in (53, 79, 81, 95):  # 79 and 81 on each side of the second tile's edge (source x = 2000)
            red, green, blue = stored.getpixel((x, 20))
            assert red > 180 and green < 30 and blue < 30, x


def test_it_turns_a_photo_upright(client, case):
    photo = Image.new("RGB", (120, 80), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone turned: shown rotated 90° clockwise
    out = io.BytesIO()
    photo.save(out, "JPEG", exif=exif.tobytes())
    assert post_image(client, case, "photo.jpg", out.getvalue(), "image/jpeg").status_code == 302
    with Image.open(Letter.objects.get().image.path) as stored:
        assert stored.size == (80, 120)
        assert not stored.getexif()
