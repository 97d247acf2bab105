"""Keep Apprise targets' secrets out of the log lines of the libraries that deliver to them.

The Apprise library logs the URLs it posts to (``Telegram POST URL: …/bot<token>/…``) and the
exceptions of ``requests``, which quote the same URL; urllib3 logs the request line. Chavder
cannot change those lines, so it rewrites their records: each Apprise transport registers the
parts of its URL (crawler/alerts/recipient_keys.py ``secret_fragments``) with
:data:`LIBRARY_LOG_REDACTOR`, which is attached to every logger in :data:`LIBRARY_LOGGERS` —
logger filters see the records of that very logger only, before any handler, whatever the log
level or format (text or JSON).
"""
from __future__ import annotations

import logging

class SecretRedactor(logging.Filter):
    """Replaces registered secrets (with "…") in the records of the loggers it is attached
    to; a traceback that carries one is folded, redacted, into the message."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []

    def hide(self, fragments: list[str]) -> None:
        known = set(self._secrets)
        self._secrets = sorted(known | {f for f in fragments if f}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "…")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record: drop its arguments, keep the text
            message = str(record.msg)
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:         # formatters render exc_info themselves: fold it in, redacted
            text = logging.Formatter().formatException(record.exc_info)
            if self.redact(text) != text:
                record.msg, record.args = f"{clean}\n{self.redact(text)}", None
                record.exc_info, record.exc_text = None, None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


#: Loggers whose lines can quote an Apprise target's URL.
LIBRARY_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.connection",
                   "urllib3.util.retry", "urllib3.poolmanager", "requests")
LIBRARY_LOG_REDACTOR = SecretRedactor()
for _name in LIBRARY_LOGGERS:
    logging.getLogger(_name).addFilter(LIBRARY_LOG_REDACTOR)
