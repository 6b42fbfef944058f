"""The demo's local mailbox: with DEBUG on and no EMAIL_URL (`make run`), every mail is kept as a file in
SUPPORTERS_MAILBOX_DIR and read in the browser at /<language>/supporters/mailbox/, links clickable, instead of
being fished out of the worker's log. Never on a site: the page answers 404 without DEBUG."""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

NAME = re.compile(r"\d{8}T\d{12}-[0-9a-f]{32}\.eml")
KEPT = 200  # the oldest mails beyond these are deleted as new ones come


class LocalMailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = Path(settings.SUPPORTERS_MAILBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.eml"
            (folder / name).write_bytes(message.message().as_bytes())
            sys.stdout.write(f"Mail to {', '.join(message.to)} kept in the local mailbox: {message.subject}\n")
        for old in sorted(folder.glob("*.eml"))[:-KEPT]:
            old.unlink(missing_ok=True)
        return len(email_messages)


@dataclass
class KeptMail:
    name: str
    subject: str
    to: str
    date: str
    text: str


def _read(path: Path) -> KeptMail:
    message: EmailMessage = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    return KeptMail(
        name=path.name,
        subject=str(message["Subject"] or ""),
        to=str(message["To"] or ""),
        date=str(message["Date"] or ""),
        text=body.get_content() if body is not None else "",
    )


def kept_mails() -> list[KeptMail]:
    folder = Path(settings.SUPPORTERS_MAILBOX_DIR)
    if not folder.is_dir():
        return []
    return [_read(path) for path in sorted(folder.glob("*.eml"), reverse=True) if NAME.fullmatch(path.name)]


def kept_mail(name: str) -> KeptMail | None:
    if not NAME.fullmatch(name):
        return None
    path = Path(settings.SUPPORTERS_MAILBOX_DIR) / name
    return _read(path) if path.is_file() else None
