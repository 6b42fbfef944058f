"""A mail server that keeps every message it accepts, for bench/faults/run.py.

    python bench/faults/mailserver.py PORT LOG

Listens on 127.0.0.1:PORT (aiosmtpd). Each message is written to LOG, one line per recipient ("<time>\t<address>"),
and the line is flushed to the file before the server answers 250: like a real server, which commits a message
to its queue before it says so, a message is kept even when the client dies before reading the answer. Stopped
with SIGTERM or SIGINT; started again on the same port, it appends to the same LOG.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Keeper:
    def __init__(self, log_path: str) -> None:
        self.log = open(log_path, "a", buffering=1)  # noqa: SIM115 (open for the server's whole life)

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        self.log.write("".join(f"{now:.6f}\t{address}\n" for address in envelope.rcpt_tos))
        self.log.flush()
        return "250 OK: kept"


def main() -> None:
    port, log_path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Keeper(log_path), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"keeping mail on 127.0.0.1:{port} in {log_path}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
