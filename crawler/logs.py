"""Logging set-up for every command and the service: one readable line per record on stderr
(or JSON lines), URL passwords masked, third-party chatter only with ``--verbose``.

No Scrapy or Twisted import here: the CLI sets logging up before it knows whether the command
crawls at all."""
from __future__ import annotations

import logging
import sys

from crawler.redact import redact_text


def setup_logging(level: str = "INFO", json_lines: bool = False, verbose: bool = False) -> None:
    """Readable one-line logs on stderr; Scrapy's own chatter only with --verbose."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(message)s",
                                           "%H:%M:%S"))
    if not verbose:
        handler.addFilter(_QuietThirdParty())
    root.addHandler(handler)
    root.setLevel(level)
    _LOG_STATE["verbose"] = verbose
    apply_logger_levels()


_LOG_STATE = {"verbose": False}
_THIRD_PARTY = ("scrapy", "twisted", "urllib3", "elastic_transport", "charset_normalizer",
                "py.warnings", "filelock", "asyncio", "apscheduler", "hpack")
# Extraction libraries warn about every odd page; Chavder reports what matters itself.
_EXTRACTORS = ("trafilatura", "htmldate", "courlan", "readability", "justext")
_SILENCED = ("scrapy.downloadermiddlewares.robotstxt",
             "scrapy.downloadermiddlewares.retry", "scrapy.core.downloader.handlers.http11",
             "scrapy.spidermiddlewares.httperror", "scrapy.core.engine")
# The spider reports an over-size decompressed body itself, once, with its source.
_REPORTED_BY_SPIDER = ("scrapy.downloadermiddlewares.httpcompression", "DOWNLOAD_MAXSIZE")


class _QuietThirdParty(logging.Filter):
    """Third-party records below WARNING are dropped at the handler, where Scrapy's own
    ``dictConfig`` cannot undo it; failures Chavder already reports in one line are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name.startswith(_SILENCED):
            return record.levelno >= logging.CRITICAL
        if name == _REPORTED_BY_SPIDER[0] and _REPORTED_BY_SPIDER[1] in record.getMessage():
            return False
        if name.startswith(_EXTRACTORS):
            return record.levelno >= logging.ERROR
        if name.startswith(_THIRD_PARTY):
            return record.levelno >= logging.WARNING
        return True


def apply_logger_levels() -> None:
    """Keep third-party chatter out of the way unless --verbose."""
    verbose = _LOG_STATE["verbose"]
    for noisy in ("scrapy", "twisted", "trafilatura", "urllib3", "elastic_transport",
                  "htmldate", "courlan", "readability", "charset_normalizer", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not verbose:
        # Failed downloads and exceptions in callbacks are logged by Chavder in one line each
        # (spiders, crawler.unexpected); Scrapy's own versions are DEBUG (crawler.logformatter).
        logging.getLogger("scrapy.downloadermiddlewares.robotstxt").setLevel(logging.CRITICAL)
        logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
        logging.getLogger("scrapy.core.downloader.handlers.http11").setLevel(logging.ERROR)


class TextFormatter(logging.Formatter):
    """One line per record, URL passwords masked (whoever logged it: us, Scrapy, a client)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import json
        payload = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
                   "level": record.levelname, "logger": record.name,
                   "message": redact_text(record.getMessage())}
        if record.exc_info:
            payload["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)
