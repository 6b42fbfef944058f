"""PDF files from HTML templates: WeasyPrint (HTML and CSS laid out by Pango and HarfBuzz, so Arabic is shaped
and runs right to left, Chinese and Cyrillic are set with their own fonts) and pypdf (to join the parts).

A long document is rendered in parts (`PdfBook.add`: a few hundred names, a few dozen letters), each a PDF
of its own whose first page number follows the last part's, then joined into one file: WeasyPrint keeps
the whole layout of a document in memory (about 80 KB a name in a table), so a part's size, not the
document's, bounds the worker's memory. The fonts are the Debian packages `.ci/run` installs (fonts-dejavu,
fonts-noto-core, fonts-noto-cjk), found through fontconfig. Nothing is fetched: the only files a document
may load are the images its caller names (`images`), and any other URL is refused.
"""

from __future__ import annotations

import functools
import io
import logging
import shutil
import subprocess
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

# Paper sizes an organizer chooses from; the export's format says which (organizers.exports.base).
PAPER_SIZES = {"A4": "A4", "LETTER": "letter"}
# Fonts the documents are set in, per script (fontconfig falls back to any installed font for the rest).
FONT_FAMILIES = '"Noto Sans", "DejaVu Sans", "Noto Sans Arabic", "Noto Sans CJK SC", sans-serif'
# fontconfig family names that must be installed for every script a letter or a name may come in.
REQUIRED_FONTS = ("Noto Sans", "Noto Sans Arabic", "Noto Sans CJK SC", "DejaVu Sans")
IMAGE_SCHEME = "plume-image:"
RTL_LANGUAGES = {"ar", "fa", "he", "ur"}

# WeasyPrint logs every step of every part at INFO: a pack would fill the worker's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class PdfEngineMissing(RuntimeError):
    """WeasyPrint or its libraries or fonts are not installed; the message says how to install them."""


def missing_parts() -> list[str]:
    """What the PDF engine lacks on this machine (empty when everything is there): Pango through WeasyPrint,
    and the fonts of REQUIRED_FONTS. `.ci/run` installs them (README, "Libraries")."""
    problems = []
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        problems.append(f"WeasyPrint cannot load ({exc}): apt-get install libpango-1.0-0 libpangoft2-1.0-0")
    if shutil.which("fc-list") is None:
        problems.append("fontconfig is missing: apt-get install fontconfig")
        return problems
    fc_list = shutil.which("fc-list")
    installed = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    families = {name.strip() for line in installed.splitlines() for name in line.split(",")}
    for font in REQUIRED_FONTS:
        if font not in families:
            problems.append(
                f"The font {font!r} is missing: apt-get install fonts-dejavu-core fonts-noto-core fonts-noto-cjk"
            )
    return problems


def text_direction(text: str, language: str = "") -> str:
    """ "rtl" or "ltr": the letter's language when it is written right to left, else its first strong
    character (a letter marked "another language" may be in Persian or Hebrew)."""
    if language in RTL_LANGUAGES:
        return "rtl"
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def css_string(text: str) -> str:
    """`text` as a CSS string literal, every character but letters, digits and spaces escaped (a footer's case
    name can hold a quote, a backslash or "</style>")."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


def _fetcher(images: Mapping[str, Path]):
    """A URL fetcher that serves the named images only: a document never reaches the network or the disk."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class NamedImagesOnly(URLFetcher):
        def fetch(self, url: str, headers=None) -> URLFetcherResponse:
            path = images.get(url.removeprefix(IMAGE_SCHEME)) if url.startswith(IMAGE_SCHEME) else None
            if path is None:
                raise ValueError(f"not allowed: {url[:80]}")
            return URLFetcherResponse(url, body=path.open("rb"))

    return NamedImagesOnly(allowed_protocols=())


@functools.cache
def _font_config():
    """One font configuration per process: setting up fontconfig and Pango's font map for every part took about
    a third of a part's time (bench/packs.py)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(html: str, images: Mapping[str, Path] | None = None) -> tuple[bytes, int]:
    """One HTML document as PDF bytes, and its number of pages."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise PdfEngineMissing(f"WeasyPrint cannot load: {exc}") from exc
    document = HTML(string=html, base_url=IMAGE_SCHEME, url_fetcher=_fetcher(images or {})).render(
        font_config=_font_config()
    )
    return document.write_pdf(), len(document.pages)


class PdfBook:
    """A PDF written part by part: `add(template, context)` renders one part with its pages numbered after the
    parts before it (the template reads `first_page`, the number of its first page, `paper`, and `footer_css`
    made from the context's `footer`), and `close()`
    joins them into `path`. Memory holds one part's layout and the joined pages' objects (compressed)."""

    def __init__(self, path: Path, paper: str) -> None:
        from pypdf import PdfWriter

        self.path = path
        self.paper = paper
        self.pages = 0
        self._writer = PdfWriter()

    def add(self, template: str, context: dict, images: Mapping[str, Path] | None = None) -> int:
        footer = mark_safe(css_string(str(context.get("footer", ""))))  # noqa: S308 (escaped above)
        html = render_to_string(
            template, {**context, "first_page": self.pages + 1, "paper": self.paper, "footer_css": footer}
        )
        data, count = render_pdf(html, images)
        from pypdf import PdfReader

        self._writer.append(PdfReader(io.BytesIO(data)))
        self.pages += count
        return count

    def close(self, title: str = "") -> None:
        if title:
            self._writer.add_metadata({"/Title": title, "/Producer": "Plume"})
        with self.path.open("wb") as file:
            self._writer.write(file)
        self._writer.close()
