"""Read the petition form from a case page as a browser would, and print what bench/run needs to POST it.

    python bench/sign_form.py http://127.0.0.1:PORT/en/<campaign>/<case>/

Prints shell assignments: SIGN_PATH (the form's action), SIGN_COOKIE (the CSRF cookie the page set),
SIGN_BODY (every field of the form, with {n} where the wrk script puts a number unique to each request:
a new name and email each time) and CONFIRM_BODY (the CSRF token alone, for the confirmation buttons).
Exits 1 when the page has no petition form.
"""

from __future__ import annotations

import shlex
import sys
import urllib.request
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

# What a person types; {n} is replaced per request by bench/lua/post_unique.lua.
TYPED = "name=Bench+Signer+{n}&email=bench-{n}%40example.org&country=FR"


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


def main() -> None:
    url = sys.argv[1]
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit("bench/sign_form.py only reads pages on this machine")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only, checked above)
        html = response.read().decode()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    form = SignForm()
    form.feed(html)
    if not form.action:
        sys.exit(f"no petition form on {url}")
    # The honeypot stays empty, as a person leaves it.
    fields = {**form.hidden, "website": ""}
    cookie = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    token = fields.get("csrfmiddlewaretoken", "")
    print(f"SIGN_PATH={shlex.quote(form.action)}")
    print(f"SIGN_COOKIE={shlex.quote(cookie)}")
    print(f"SIGN_BODY={shlex.quote(urlencode(fields) + '&' + TYPED)}")
    print(f"CONFIRM_BODY={shlex.quote(urlencode({'csrfmiddlewaretoken': token}))}")


if __name__ == "__main__":
    main()
