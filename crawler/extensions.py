"""Crawl progress and per-source reports."""
from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task

from crawler import defaults
from crawler.appref import app_of
from crawler.counters import source_counts
from crawler.store.base import utc_now_iso
from crawler.unexpected import store_fault_of

logger = logging.getLogger("chavder.progress")


class CrawlReport:
    """Logs a status line per source every few seconds and records the run in the store.

    A source gets a line while it has requests in flight or its counters moved since its last
    line; a finished one is not repeated every interval while another source of its batch
    waits on a slow page (its final counts are in its last line and the summary table)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("CHAVDER_PROGRESS_INTERVAL",
                                                  defaults.PROGRESS_INTERVAL)
        self.store = app_of(crawler).store
        self.started_at = utc_now_iso()
        self._loop: task.LoopingCall | None = None
        self._shown: dict[str, tuple] = {}   # each source's last line: counts, in flight

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CrawlReport":
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _source_ids(self) -> list[str]:
        spider = self.crawler.spider
        return list(getattr(spider, "source_ids", None) or [getattr(spider, "name", "?")])

    def spider_opened(self, spider: Any) -> None:
        self.started_at = utc_now_iso()
        if self.interval > 0:
            self._loop = task.LoopingCall(self.log_progress)
            self._loop.start(self.interval, now=False)

    def log_progress(self) -> None:
        stats = self.crawler.stats.get_stats()
        ids = self._source_ids()
        busy = self._in_flight(ids[0]) if ids else {}
        for sid in ids:
            counts = source_counts(stats, sid)
            shown = (counts, busy.get(sid, 0))
            if not shown[1] and self._shown.get(sid) == shown:
                continue            # done (or idle): its last line said it all
            self._shown[sid] = shown
            logger.info("progress source=%s %s%s", sid,
                        " ".join(f"{k}={v}" for k, v in counts.items()),
                        f" in_flight={busy[sid]}" if sid in busy else "")

    def _in_flight(self, default: str) -> dict[str, int]:
        """Requests being downloaded or handled, per source (a spider's requests carry their
        source in ``meta``; a one-source spider's may not)."""
        engine = self.crawler.engine
        requests = set(getattr(getattr(engine, "downloader", None), "active", ()) or ())
        requests |= set(getattr(getattr(engine, "_slot", None), "inprogress", ()) or ())
        busy: dict[str, int] = {}
        for request in requests:
            sid = request.meta.get("source") or default
            busy[sid] = busy.get(sid, 0) + 1
        return busy

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._loop and self._loop.running:
            self._loop.stop()
        stats = self.crawler.stats.get_stats()
        self.crawler.stats.set_value("chavder/finish_reason", reason)
        if store_fault_of(self.crawler) is not None:   # nothing can be recorded there
            return
        finished = utc_now_iso()
        for sid in self._source_ids():
            self.store.record_crawl(sid, self.started_at, finished, source_counts(stats, sid))
