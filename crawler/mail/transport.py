"""Delivery transports for composed alerts: SMTP, an outbox directory, and (optionally) Apprise.

All transports share one contract, ``send(msg) -> None``, and raise :class:`TransportError`
with ``temporary=True`` when a retry later may succeed (server down, 4xx reply, full disk) and
``temporary=False`` when it will not without a human (5xx reply, wrong password, TLS refused),
so the alert ledger can back off and retry only what is worth retrying.

Secrets (SMTP password, Apprise URLs with bot tokens) never appear in ``repr``, log lines or
exception text: errors are rebuilt from status codes and redacted server replies, and raised
``from None`` so the original exception (and its arguments) is not chained.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import importlib.util
import ipaddress
import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Mapping, Protocol

from crawler.alerts.recipient_keys import apprise_key, secret_fragments
from crawler.alerts.rules import Recipient
from crawler.config import MailSettings
from crawler.delivery.machine import DeliveryError
from crawler.mail.library_logs import LIBRARY_LOG_REDACTOR

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "ssl", "none")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._@+=-]")


class TransportError(DeliveryError):
    """A transport could not deliver (``temporary``: the delivery machine retries it)."""


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    sender = parseaddr(str(msg.get("From", "")))[1]
    rcpts = [addr for _, addr in getaddresses([str(v) for h in ("To", "Cc", "Bcc")
                                               for v in msg.get_all(h, [])]) if addr]
    if not sender or not rcpts:
        raise TransportError(False, "message has no From: or no To: address")
    return sender, list(dict.fromkeys(rcpts))


class SMTPTransport:
    """Send through an SMTP relay, one connection per message.

    ``security``: ``starttls`` (port 587; refuses to continue if the server does not offer
    STARTTLS — no silent downgrade), ``ssl`` (implicit TLS, port 465) or ``none`` (plain; a
    password is then only sent to a loopback relay). The caller reads the password from an
    environment variable or file (see :func:`transport_from_settings`).
    """

    def __init__(self, host: str, port: int = 587, security: str = "starttls",
                 username: str | None = None, password: str | None = None, *,
                 timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None):
        if security not in SECURITY_MODES:
            raise ValueError(f"mail security {security!r} is not one of "
                             + ", ".join(SECURITY_MODES))
        self.host, self.port, self.security = host, int(port), security
        self.username = username
        self.__password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        auth = f", username={self.username!r}, password=***" if self.username else ""
        return f"SMTPTransport({self.host!r}, {self.port}, security={self.security!r}{auth})"

    def _redact(self, text: str) -> str:
        secrets = []
        if self.__password:
            pw = self.__password
            user = self.username or ""
            secrets += [pw, base64.b64encode(pw.encode()).decode(),
                        base64.b64encode(f"\0{user}\0{pw}".encode()).decode(),
                        base64.b64encode(f"{user}\0{user}\0{pw}".encode()).decode()]
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _reply(self, code: int, message: bytes | str) -> str:
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        return self._redact(f"{code} {' '.join(message.split())}")[:300]

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=context,
                                                  local_hostname=self.local_hostname)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout,
                                local_hostname=self.local_hostname)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise TransportError(False, f"{self.host}:{self.port} does not offer "
                                         "STARTTLS — use security: ssl (port 465) or fix the "
                                         "server; refusing to send unencrypted")
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                if self.__password is None:
                    raise TransportError(False, "mail.username is set but no password was "
                                         "provided (mail.password_env / mail.password_file)")
                if self.security == "none" and not _is_loopback(self.host):
                    raise TransportError(False, "refusing to send the SMTP password "
                                         "unencrypted — use security: starttls or ssl")
                smtp.login(self.username, self.__password)
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def send(self, msg: EmailMessage) -> None:
        sender, rcpts = _envelope(msg)
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(msg, sender, rcpts)
            finally:
                _quietly_close(smtp)
        except TransportError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._refused(exc.recipients) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(400 <= exc.smtp_code < 500, "SMTP login refused: "
                                 + self._reply(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportError(False, "SMTP server lacks a required feature: "
                                 + self._redact(str(exc))[:200]) from None
        except smtplib.SMTPResponseException as exc:   # sender refused, data error, helo error
            raise TransportError(400 <= exc.smtp_code < 500 or exc.smtp_code < 0,
                                 f"{type(exc).__name__}: "
                                 + self._reply(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPServerDisconnected:
            raise TransportError(True, f"{self.host}:{self.port} closed the connection") from None
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(False, f"TLS certificate of {self.host} not trusted: "
                                 f"{exc.verify_message}") from None
        except ssl.SSLError as exc:
            raise TransportError(True, f"TLS error with {self.host}:{self.port}: "
                                 f"{exc.reason or type(exc).__name__}") from None
        except (socket.timeout, TimeoutError):
            raise TransportError(True, f"timed out talking to {self.host}:{self.port}") from None
        except smtplib.SMTPException as exc:           # (a subclass of OSError)
            raise TransportError(True, f"SMTP error: {type(exc).__name__}") from None
        except OSError as exc:                          # refused, unreachable, DNS failure
            raise TransportError(True, f"cannot reach {self.host}:{self.port}: "
                                 f"{exc.strerror or type(exc).__name__}") from None
        if refused:
            raise self._refused(refused)

    def _refused(self, recipients: Mapping[str, tuple[int, bytes]]) -> TransportError:
        codes = [code for code, _ in recipients.values()]
        temporary = bool(codes) and all(400 <= c < 500 for c in codes)
        detail = "; ".join(f"{addr}: {self._reply(code, text)}"
                           for addr, (code, text) in recipients.items())
        return TransportError(temporary, f"recipient refused — {detail}")


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        smtp.close()


def outbox_filename(message_id: str) -> str:
    """``<abc@host>`` → ``abc@host.eml``; any other character is replaced, and a hash is added
    when that changed the id, so two distinct ids never share a file."""
    core = message_id.strip().strip("<>")
    safe = _SAFE_NAME.sub("_", core)[:150].lstrip(".")
    if safe != core or not safe:
        safe += "-" + hashlib.sha256(core.encode()).hexdigest()[:12]
    return safe + ".eml"


class OutboxTransport:
    """Write each message to ``<dir>/<message-id>.eml`` (for development, or when no relay is
    configured). Atomic (temp file + fsync + rename): readers never see half a message, and a
    retry with the same Message-ID replaces the file instead of adding a second one."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"OutboxTransport({str(self.directory)!r})"

    def path_for(self, msg: EmailMessage) -> Path:
        msgid = msg.get("Message-ID")
        if not msgid or not str(msgid).strip().strip("<>"):
            raise TransportError(False, "message has no Message-ID — compose it with "
                                 "compose_alert()")
        return self.directory / outbox_filename(str(msgid))

    def send(self, msg: EmailMessage) -> None:
        target = self.path_for(msg)
        data = msg.as_bytes(policy=SMTP_POLICY)
        tmp: str | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as exc:
            # A local I/O fault (permissions, read-only or full disk, a missing mount) is for
            # the operator to fix, after which the same message goes through: always temporary,
            # so the ledger retries with backoff instead of dropping the alert for good.
            code = errno.errorcode.get(exc.errno or 0, "")
            cause = f"{exc.strerror or exc}" + (f" ({code})" if code else "")
            raise TransportError(True, f"cannot write the outbox: {cause} — {target}") from None
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        log.info("message written to outbox: %s", target.name)


def apprise_available() -> bool:
    """Whether Apprise recipients can be served (the optional package is installed)."""
    return importlib.util.find_spec("apprise") is not None


class AppriseTransport:
    """Deliver the subject and text part to one Apprise target (Telegram, Slack, Matrix,
    webhooks …). Needs the optional ``apprise`` package; without it every send fails
    permanently with a message saying so (the rest of the alerts still go out).

    Apprise reports only success/failure, so failures count as temporary (the ledger's retry
    budget bounds them); a URL Apprise does not understand is permanent.
    """

    def __init__(self, url: str):
        try:
            import apprise
        except ImportError:
            apprise = None
        self._apprise = apprise
        self.__url = url
        self.scheme = url.split("://", 1)[0]
        self.label = apprise_key(url)
        LIBRARY_LOG_REDACTOR.hide(secret_fragments(url))

    def __repr__(self) -> str:
        return f"AppriseTransport({self.label!r})"

    def send(self, msg: EmailMessage) -> None:
        if self._apprise is None:
            raise TransportError(False, "Apprise recipients need the 'apprise' package — "
                                 "pip install apprise")
        subject = " ".join(str(msg.get("Subject", "")).split())
        part = msg.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        notifier = self._apprise.Apprise()
        if not notifier.add(self.__url):
            raise TransportError(False, f"Apprise does not understand the {self.scheme}:// "
                                 "URL — check the recipient in alerts.yaml")
        try:
            ok = notifier.notify(title=subject, body=body)
        except Exception as exc:     # a plugin bug must not leak the URL via its message
            raise TransportError(True, f"Apprise {self.scheme} failed: "
                                 f"{type(exc).__name__}") from None
        if not ok:
            raise TransportError(True, f"Apprise {self.scheme} notification was not delivered")


def read_password(mail: MailSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password from ``mail.password_file`` (first line) or ``$mail.password_env``."""
    environ = os.environ if environ is None else environ
    if mail.password_file:
        try:
            return Path(mail.password_file).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError):
            raise ValueError(f"cannot read the SMTP password from mail.password_file "
                             f"({mail.password_file}) — check that it exists and is not "
                             "empty") from None
    return environ.get(mail.password_env) if mail.password_env else None


def transport_from_settings(mail: MailSettings, data_dir: str | Path, *,
                            environ: Mapping[str, str] | None = None) -> Transport:
    """SMTP when ``mail.smtp_host`` is set, otherwise the outbox under ``data_dir``."""
    if not mail.smtp_host:
        return OutboxTransport(Path(data_dir) / mail.outbox)
    password = read_password(mail, environ) if mail.username else None
    if mail.username and password is None:
        raise ValueError(f"mail.username is set but ${mail.password_env} is empty and no "
                         "mail.password_file is given — provide the SMTP password")
    return SMTPTransport(mail.smtp_host, mail.smtp_port, mail.security, mail.username,
                         password)


def transport_for(recipient: Recipient, mail_transport: Transport) -> Transport:
    """The transport for one recipient: Apprise targets get their own, e-mail uses the mail one."""
    if recipient.kind == "apprise":
        return AppriseTransport(recipient.address)
    return mail_transport
