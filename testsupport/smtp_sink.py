"""A real SMTP server on 127.0.0.1 for tests: receives, parses and keeps every message.

Built on aiosmtpd's ``Controller`` (its own thread and event loop), so code under test talks
real SMTP over a socket. ``stop()``/``start()`` simulate an outage on the same port; ``reply``
makes the server answer DATA with a chosen code (e.g. ``"451 4.3.0 try later"``); ``delay``
(seconds) makes each DATA take that long, as a slow relay does (widens race windows);
``credentials`` turns on AUTH PLAIN/LOGIN (allowed without TLS, for tests only);
``tls_context`` offers STARTTLS, ``implicit_tls`` wraps the whole connection (port-465 style).
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs each session's EOF and cancellation from its own thread, which can outlive the
# test whose captured stderr a handler writes to ("--- Logging error ---" noise); what a test
# checks is the mail it received, so the server's chatter stays out of the output.
logging.getLogger("mail.log").propagate = False


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage        # parsed with email.policy.default (headers decoded)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, sink: "SMTPSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        self.sink.data_started += 1
        try:
            if self.sink.delay:
                await asyncio.sleep(self.sink.delay)
            if self.sink.reply:
                return self.sink.reply
            raw = envelope.original_content or envelope.content
            if isinstance(raw, str):
                raw = raw.encode("utf-8")
            msg = message_from_bytes(raw, policy=default_policy)
            with self.sink._lock:
                self.sink.messages.append(ReceivedMessage(envelope.mail_from,
                                                          list(envelope.rcpt_tos), raw, msg))
            return "250 OK"
        finally:
            self.sink.data_done += 1


class SMTPSink:
    """Usage: ``with SMTPSink() as sink: …; sink.messages`` — or ``start()``/``stop()``."""

    host = "127.0.0.1"

    def __init__(self, *, port: int | None = None, credentials: tuple[str, str] | None = None,
                 tls_context: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 delay: float = 0.0):
        self.port = port or free_port()
        self.credentials = credentials
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.messages: list[ReceivedMessage] = []
        self.reply: str | None = None
        self.delay = delay
        self.data_started = 0          # DATA commands received / answered (a slow one is both
        self.data_done = 0             # started and not done while its client can be killed)
        self.auth_attempts: list[str] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode()
            password = auth_data.password.decode()
            self.auth_attempts.append(user)
            if (user, password) == self.credentials:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> "SMTPSink":
        kwargs: dict = {}
        if self.credentials:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=False)
        if self.tls_context and not self.implicit_tls:
            kwargs.update(tls_context=self.tls_context)
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port,
            ssl_context=self.tls_context if self.implicit_tls else None,
            server_hostname="localhost", **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SMTPSink":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
