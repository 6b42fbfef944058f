"""gunicorn's settings for Plume's web process (the Procfile names this file; gunicorn also reads it by itself
from the working directory).

Without SECRET_KEY, Plume signs links and sessions with the demo key printed in campaign/settings.py, and
Django then answers only to loopback host names. A Host header is easy to fake, so the web process also
refuses to listen anywhere but on loopback (or a local socket) with that key.
"""

from __future__ import annotations

import ipaddress
import os
import sys


def _reachable_from_other_machines(address) -> bool:
    if not isinstance(address, tuple):  # a unix socket or a file descriptor: this machine only
        return False
    host = str(address[0]).strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: it may resolve to anything


def on_starting(server) -> None:
    key = os.environ.get("SECRET_KEY", "")
    if key and not key.startswith("plume-demo-only-not-secret-"):
        return
    exposed = [address for address in server.cfg.address if _reachable_from_other_machines(address)]
    if exposed:
        where = ", ".join(f"{address[0]}:{address[1]}" for address in exposed)
        server.log.error(
            "SECRET_KEY must be set to listen on %s. Without it Plume signs confirmation links and sessions with "
            "the demo key printed in its source, which anyone could use to forge them, so it only listens on "
            "127.0.0.1, [::1] and localhost (see the configuration table in README.md).",
            where,
        )
        sys.exit(1)
