"""Read the petition form from a case page as a browser would: what bench/run.py needs to POST it.

`read_sign_form(url)` gives the form's action (`path`), the CSRF cookie the page set (`cookie`), every field of
the form with {n} where the wrk script puts a number unique to each request, so a new name and email each time
(`body`), and the CSRF token alone, for the confirmation buttons (`confirm_body`).
"""

from __future__ import annotations

import urllib.request
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

# What a person types; {n} is replaced per request by bench/lua/post_unique.lua, for a new email each time. Not in
# the name: the form refuses a name with a long number in it (a phone number), and names need not be unique.
TYPED = "name=Bench+Signer&email=bench-{n}%40example.org&country=FR"


class SignForm(HTMLParser):
    """The first <form> whose action ends in /sign/, and its hidden fields' values."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.inside = False
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "form" and not self.action and (attrs.get("action") or "").rstrip("/").endswith("/sign"):
            self.action, self.inside = attrs["action"], True
        elif tag == "input" and self.inside and attrs.get("type") == "hidden" and attrs.get("name"):
            self.hidden[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def read_sign_form(url: str) -> dict[str, str] | None:
    """The petition form of the case page at `url`, as bench/run.py POSTs it; None when the page has none."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("bench/sign_form.py only reads pages on this machine")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only, checked above)
        html = response.read().decode()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    form = SignForm()
    form.feed(html)
    if not form.action:
        return None
    # The honeypot stays empty, as a person leaves it.
    fields = {**form.hidden, "website": ""}
    token = fields.get("csrfmiddlewaretoken", "")
    return {
        "path": form.action,
        "cookie": "; ".join(f"{k}={v.value}" for k, v in cookies.items()),
        "body": urlencode(fields) + "&" + TYPED,
        "confirm_body": urlencode({"csrfmiddlewaretoken": token}),
    }
