"""A local SMTP server that accepts every message and notes it, for bench/run's end-to-end measurement.

Each message becomes one line in --out: the recipients, then every http(s) link of its plain-text part,
separated by tabs, flushed at once so that `wc -l` tells bench/run how many mails arrived. Listens on
127.0.0.1 only.

    python bench/smtp_sink.py --port 2525 --out bench/results/<run>/mail.tsv
"""

from __future__ import annotations

import argparse
import asyncio
import email
import re
import signal

from aiosmtpd.smtp import SMTP

LINK = re.compile(r"https?://[^\s<>\"']+")


class Sink:
    def __init__(self, out) -> None:
        self.out = out

    async def handle_DATA(self, server, session, envelope) -> str:
        # The legacy (compat32) parser: several times cheaper than email.policy.default, and the sink's CPU
        # is taken from the platform it measures.
        message = email.message_from_bytes(envelope.content)
        text = ""
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", "replace")
                break
        self.out.write("\t".join([",".join(envelope.rcpt_tos), *LINK.findall(text)]) + "\n")
        self.out.flush()
        return "250 OK"


async def serve(port: int, out_path: str) -> None:
    with open(out_path, "a", encoding="utf-8") as out:
        handler = Sink(out)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, hostname="bench-sink"), "127.0.0.1", port)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.out))


if __name__ == "__main__":
    main()
