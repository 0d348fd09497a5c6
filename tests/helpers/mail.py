"""A local SMTP server for the email tests (aiosmtpd, on 127.0.0.1), and the settings that
point the app at it."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask

FROM = "amana@example.org"
PUBLIC_URL = "https://amana.example.org"
LOGIN_URL = f"{PUBLIC_URL}/auth/login"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use_smtp(app: Flask, port: int) -> None:
    """Email on, through the server on ``port`` of localhost (no TLS, no login)."""
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False,
                      SMTP_USER=None, SMTP_PASSWORD=None, SMTP_TIMEOUT=5, MAIL_FROM=FROM,
                      PUBLIC_URL=PUBLIC_URL)


@dataclass
class Received:
    """One message as the server got it."""

    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


@dataclass
class _Inbox:
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0   # seconds the server takes to accept a message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            time.sleep(self.delay)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on 127.0.0.1:``port`` that keeps what it receives (``received``)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = _Inbox()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.inbox.received

    def start(self) -> SmtpServer:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
