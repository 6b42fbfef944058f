"""Logs that keep no token and no full network address.

Links in mails carry their token in the path (/confirm/, /not-me/, /no-more-news/, /drawing/): whoever reads
a log line with one could confirm, remove or stop a signature, or see a child's drawing. And a supporter's
full address says where they are. So:

- `AccessLogger` is gunicorn's logger for the `Procfile`'s web process (`--logger-class`): in every access
  log line a token becomes `<token>` and a client address its network, `203.0.113.0/24` or `2001:db8:1::/48`
  (the request line, the path, the query, the referrer, the remote address and forwarding headers, whatever
  the log format names), and gunicorn's own warnings ("Invalid request from ip=...") likewise;
- `RedactTokensFilter` does the same to Django's log lines (settings.LOGGING), such as "Not Found: <path>".

Kept apart from Django: gunicorn imports this module before any setting is read.
"""

from __future__ import annotations

import ipaddress
import logging
import re

from gunicorn.glogging import Logger, SafeAtoms

PLACEHOLDER = "<token>"
# A path segment after one of these is a token (petitions' and letters' urls.py).
_TOKEN_IN_PATH = re.compile(r"(/(?:confirm|not-me|no-more-news|drawing)/)[^/?#\s\"']+", re.IGNORECASE)
# Runs of characters an address is written with; each run is checked with ipaddress before it is replaced.
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")
# gunicorn atoms that hold client addresses: the remote address and the headers proxies put them in, as
# request headers ({...}i) and as WSGI environ keys ({...}e).
_ADDRESS_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded", "true-client-ip", "cf-connecting-ip", "client-ip")
ADDRESS_ATOMS = frozenset(
    ["h", "{remote_addr}e"]
    + [f"{{{name}}}i" for name in _ADDRESS_HEADERS]
    + [f"{{http_{name.replace('-', '_')}}}e" for name in _ADDRESS_HEADERS]
)


def redact_tokens(text: str) -> str:
    """`text` with every token in a link's path replaced by <token>."""
    if "/" not in text:
        return text
    return _TOKEN_IN_PATH.sub(r"\1" + PLACEHOLDER, text)


def truncate_address(address: str) -> str | None:
    """The network of an address, /24 for IPv4 and /48 for IPv6, or None if `address` is not one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network((ip, prefix), strict=False))


def truncate_addresses(text: str) -> str:
    """`text` with every IP address in it (with or without a port) replaced by its network."""

    def replace(match: re.Match) -> str:
        found = match.group(0)
        # "ip=203.0.113.7: ..." ends its address with the sentence's colon.
        body = found.rstrip(":.")
        tail = found[len(body) :]
        network = truncate_address(body)
        if network is not None:
            return network + tail
        # An IPv4 address with its port (203.0.113.7:4711): the port says nothing about the person.
        host, _, port = body.rpartition(":")
        network = truncate_address(host) if port.isdigit() and "." in host else None
        return f"{network}:{port}{tail}" if network is not None else found

    return _ADDRESS_LIKE.sub(replace, text)


class PrivateAtoms(SafeAtoms):
    """gunicorn's access log atoms with tokens and client addresses taken out (see the module docstring)."""

    def __init__(self, atoms: dict) -> None:
        super().__init__(atoms)
        for key, value in self.items():
            if not isinstance(value, str):
                continue
            if key in ADDRESS_ATOMS:
                value = truncate_addresses(value)
            self[key] = redact_tokens(value)


class _PrivateMessages(logging.Filter):
    """Tokens and client addresses out of gunicorn's own messages (its error log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        private = truncate_addresses(redact_tokens(message)) if "ip=" in message else redact_tokens(message)
        if private != message:
            record.msg, record.args = private, ()
        return True


class AccessLogger(Logger):
    """gunicorn's logger, with PrivateAtoms for the access log and private messages in the error log."""

    atoms_wrapper_class = PrivateAtoms

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _PrivateMessages) for f in self.error_log.filters):
            self.error_log.addFilter(_PrivateMessages())


class RedactTokensFilter(logging.Filter):
    """For settings.LOGGING: log lines lose the tokens of the paths they name."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return True
        private = redact_tokens(message)
        if private != message:
            record.msg, record.args = private, ()
        return True
