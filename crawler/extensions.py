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
    """Logs a status line per source every few seconds and records the run in the store."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("CHAVDER_PROGRESS_INTERVAL",
                                                  defaults.PROGRESS_INTERVAL)
        self.store = app_of(crawler).store
        self.started_at = utc_now_iso()
        self._loop: task.LoopingCall | None = None

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
        for sid in self._source_ids():
            counts = source_counts(stats, sid)
            logger.info("progress source=%s %s", sid,
                        " ".join(f"{k}={v}" for k, v in counts.items()))

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
