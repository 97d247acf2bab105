"""Unexpected exceptions during a crawl: one ERROR line each, counted, and a failing exit code.

Scrapy catches what a spider callback or errback, an item pipeline or a signal handler raises
and only logs it, with a traceback; nothing reaches the crawl summary, so a damaged store used
to end in ``fetched=0, errors=0`` and exit 0. This extension hears Scrapy's ``spider_error``
and ``item_error`` signals (and Scrapy's report of a failed signal handler, which has no signal
of its own) and turns each into the line every other problem gets —
``source=… url=… reason=unexpected error in <where>: <Class>: <message>`` — counted in the
source's ``errors`` and in ``chavder/unexpected_errors`` (``chavder crawl`` then exits 1). The
traceback is logged once at DEBUG, so ``-v`` shows it: by Scrapy for callbacks and pipelines
(its lines are DEBUG, see ``crawler.logformatter``), by this module for signal handlers.
"""
from __future__ import annotations

import logging
import weakref
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.log import failure_to_exc_info
from twisted.python.failure import Failure

from crawler.appref import app_of
from crawler.counters import count
from crawler.store.faults import StoreUnusable
from crawler.urls import display_url

logger = logging.getLogger("chavder.crawl")

STAT = "chavder/unexpected_errors"
_SIGNAL_LOGGER = "scrapy.utils.signal"
_SIGNAL_MESSAGE = "Error caught on signal handler"


def describe(exc: BaseException) -> str:
    """``Class: message`` on one line, short enough for a log line and the store."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


class UnexpectedErrors:
    """Reports exceptions Scrapy caught in callbacks, pipelines and signal handlers."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.store = app_of(crawler).store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "UnexpectedErrors":
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        _SignalHandlerErrors.install().add(ext)
        return ext

    # ------------------------------------------------------------------ signal receivers
    def spider_error(self, failure: Failure, response: Any, spider: Any) -> None:
        if failure.check(StoreUnusable):   # StoreGuard stops the crawl, one line
            return
        if isinstance(response, Response):
            request, url = response.request, response.url
            method = getattr(request, "callback", None) if request is not None else None
        else:  # an errback raised: ``response`` is the download failure it was handling
            request = getattr(response, "request", None)
            url = request.url if request is not None else "?"
            method = getattr(request, "errback", None) if request is not None else None
        source = self._source(request, spider)
        if spider is not None and hasattr(spider, "mark_incomplete"):
            spider.mark_incomplete(source)   # what it did not finish must not hide behind a 304
        where = f"spider callback {getattr(method, '__name__', None) or 'parse'}"
        self.report(source, url, where, failure_to_exc_info(failure), scrapy_logged=True)

    def item_error(self, item: Any, response: Any, spider: Any, failure: Failure) -> None:
        if failure.check(StoreUnusable):
            return
        source, url = _item_origin(item)
        if source is None:
            source = self._source(getattr(response, "request", None), spider)
        if url is None:
            url = getattr(response, "url", None) or "?"
        if spider is not None and hasattr(spider, "mark_incomplete"):
            spider.mark_incomplete(source)
        self.report(source, url, "item pipeline", failure_to_exc_info(failure),
                    scrapy_logged=True)

    def signal_handler_error(self, receiver: Any, exc_info: Any) -> None:
        name = getattr(receiver, "__qualname__", None) or repr(receiver)
        self.report(self._source(None, self.crawler.spider), "-", f"signal handler {name}",
                    exc_info)

    # ------------------------------------------------------------------ reporting
    def report(self, source: str, url: str, where: str, exc_info: Any,
               scrapy_logged: bool = False) -> None:
        """One ERROR line (source, URL, reason), counted and kept; the traceback at DEBUG
        unless Scrapy's own DEBUG line (``scrapy_logged``) already carries it."""
        exc = exc_info[1] if exc_info else None
        reason = (f"unexpected error in {where}: {describe(exc) if exc else 'unknown'} — a bug "
                  "or a damaged store; run with -v for the traceback")
        logger.error("source=%s url=%s reason=%s", source, display_url(url), reason)
        if not scrapy_logged:
            logger.debug("traceback of the error above (source=%s url=%s)", source,
                         display_url(url),
                         exc_info=exc_info)
        self.crawler.stats.inc_value(STAT)
        count(self.crawler, source, "errors")
        try:
            self.store.record_fetch_error(source, url, reason)
        except Exception as store_exc:  # noqa: BLE001 - the store may be what is failing
            logger.debug("could not record the error in the store: %s", store_exc)

    def _source(self, request: Any, spider: Any) -> str:
        meta = getattr(request, "meta", None) or {}
        if meta.get("source"):
            return str(meta["source"])
        ids = getattr(spider, "source_ids", None) or getattr(self.crawler.spider,
                                                             "source_ids", None)
        return str(ids[0]) if ids else str(getattr(spider, "name", "?"))


class StoreGuard:
    """A store that cannot be used (``StoreUnusable``: corrupt, read-only) stops the crawl —
    every further write would fail the same way — and the fault is kept for whoever reports
    the run (the CLI prints it as one line, the service logs it). Per crawler: one crawl's
    fault is not another's."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        #: the StoreUnusable that stopped this crawl, if any
        self.fault: StoreUnusable | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "StoreGuard":
        guard = cls(crawler)
        # raised in a spider callback or an item pipeline: stop instead of failing per page
        crawler.signals.connect(guard._on_error, signal=signals.spider_error)
        crawler.signals.connect(guard._on_error, signal=signals.item_error)
        return guard

    def _on_error(self, failure: Failure, *args: Any, **kwargs: Any) -> None:
        if failure.check(StoreUnusable):
            self.stop(failure.value)

    def stop(self, fault: Exception) -> None:
        if self.fault is not None:
            return
        self.fault = fault  # type: ignore[assignment]
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("chavder/store_unusable", str(fault))
        engine = getattr(self.crawler, "engine", None)
        if engine is not None and getattr(engine, "spider", None) is not None:
            from scrapy.utils.defer import deferred_from_coro
            deferred_from_coro(engine.close_spider_async(reason="store_unusable"))


def _guard(crawler: Any) -> StoreGuard | None:
    try:
        return crawler.get_extension(StoreGuard)
    except RuntimeError:   # the crawl never got as far as its extensions
        return None


def store_unusable(crawler: Any, fault: Exception) -> None:
    """Stop ``crawler``'s crawl on an unusable store (see :class:`StoreGuard`)."""
    guard = _guard(crawler)
    if guard is not None:
        guard.stop(fault)


def store_fault_of(crawler: Any) -> Exception | None:
    """The ``StoreUnusable`` that stopped ``crawler``'s crawl, or None."""
    guard = _guard(crawler)
    return guard.fault if guard is not None else None


def _item_origin(item: Any) -> tuple[str | None, str | None]:
    """(source, URL) of an item at any pipeline stage: RawPage, extracted pair or Article."""
    for obj in (getattr(item, "page", None), item, getattr(item, "article", None)):
        source = getattr(obj, "source", None)
        if source:
            return str(source), getattr(obj, "url", None)
    return None, None


class _SignalHandlerErrors(logging.Filter):
    """Scrapy reports a failed signal handler only as a log record; this filter on that logger
    hands it to the crawler's :class:`UnexpectedErrors` and drops Scrapy's traceback line."""

    _installed: "_SignalHandlerErrors | None" = None

    def __init__(self) -> None:
        super().__init__()
        self.extensions: "weakref.WeakValueDictionary[int, UnexpectedErrors]" = \
            weakref.WeakValueDictionary()
        self._last: "weakref.ref[UnexpectedErrors] | None" = None

    @classmethod
    def install(cls) -> "_SignalHandlerErrors":
        if cls._installed is None:
            cls._installed = cls()
            logging.getLogger(_SIGNAL_LOGGER).addFilter(cls._installed)
        return cls._installed

    def add(self, ext: UnexpectedErrors) -> None:
        self.extensions[id(ext.crawler)] = ext
        self._last = weakref.ref(ext)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR or not str(record.msg).startswith(_SIGNAL_MESSAGE):
            return True
        spider = getattr(record, "spider", None)
        crawler = getattr(spider, "crawler", None)
        ext = self.extensions.get(id(crawler)) if crawler is not None else None
        if ext is None and self._last is not None:
            ext = self._last()    # signals without a spider (engine_stopped)
        if ext is None:
            return True
        args = record.args if isinstance(record.args, dict) else {}
        ext.signal_handler_error(args.get("receiver"), record.exc_info)
        return False
