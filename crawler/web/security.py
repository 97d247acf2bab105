"""Who may read the web interface, and what every answer carries.

Safe by default: the interface binds to 127.0.0.1, where only this machine's users reach it.
Any other address needs credentials — a token (``CHAVDER_WEB_TOKEN`` or the file named by the
``web_token_file`` setting) or basic-auth credentials (``CHAVDER_WEB_USER`` and
``CHAVDER_WEB_PASSWORD``) — else :func:`bind_problem` says why it will not start. The
interface is read-only: anything but GET and HEAD is refused; every page is served with a
Content-Security-Policy that allows no script at all.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

TOKEN_ENV = "CHAVDER_WEB_TOKEN"
USER_ENV = "CHAVDER_WEB_USER"
PASSWORD_ENV = "CHAVDER_WEB_PASSWORD"

#: No script, no inline style, nothing from another origin; forms only to these pages.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Credentials:
    """What a request must present (nothing when both are None)."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    @property
    def required(self) -> bool:
        return bool(self.token or (self.user and self.password))

    def accepts(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries these credentials: ``Bearer TOKEN``,
        or basic auth with the user and password (or any user name and the token as its
        password, so a browser's or feed reader's login box works with a token too)."""
        if not self.required:
            return True
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token:
            return _same(value.strip(), self.token)
        if scheme != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if self.token and _same(password, self.token):
            return True
        return bool(self.user and self.password and _same(user, self.user)
                    and _same(password, self.password))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def credentials_from_env(token_file: str = "", environ: dict[str, str] | None = None
                         ) -> Credentials:
    """The credentials the environment (or the token file) gives; a missing or empty token
    file gives no token. Raises ``OSError`` for a token file that exists but cannot be read."""
    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV) or "").strip() or None
    if token is None and token_file:
        path = Path(token_file)
        if path.exists():
            token = path.read_text(encoding="utf-8").strip() or None
    return Credentials(token, (env.get(USER_ENV) or "").strip() or None,
                       env.get(PASSWORD_ENV) or None)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_problem(host: str, credentials: Credentials) -> str | None:
    """Why the interface must not listen on ``host`` (one line), or None when it may."""
    if is_loopback(host) or credentials.required:
        return None
    return (f"refusing to serve the web interface on {host}: other machines could read it "
            f"— set {TOKEN_ENV} (or the web_token_file setting), or {USER_ENV} and "
            f"{PASSWORD_ENV}, or bind to 127.0.0.1")
