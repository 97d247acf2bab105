"""Crawl progress and per-source reports."""
from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task

from crawler.runtime import runtime_for
from crawler.store.base import utc_now_iso

logger = logging.getLogger("chavder.progress")

COUNTERS = ("fetched", "new", "updated", "unchanged", "skipped_known", "not_modified", "errors")


def source_counts(stats: dict[str, Any]) -> dict[str, int]:
    """The per-source counters the CLI prints, from a crawler's Scrapy stats."""
    return {name: int(stats.get(f"chavder/{name}", 0)) for name in COUNTERS}


class CrawlReport:
    """Logs a status line per source every few seconds and records the run in the store."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.interval = crawler.settings.getfloat("CHAVDER_PROGRESS_INTERVAL", 10.0)
        self.started_at = utc_now_iso()
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CrawlReport":
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _source_id(self) -> str:
        spider = self.crawler.spider
        return str(getattr(spider, "source_id", None) or getattr(spider, "name", "?"))

    def spider_opened(self, spider: Any) -> None:
        self.started_at = utc_now_iso()
        if self.interval > 0:
            self._loop = task.LoopingCall(self.log_progress)
            self._loop.start(self.interval, now=False)

    def log_progress(self) -> None:
        counts = source_counts(self.crawler.stats.get_stats())
        pending = len(self.crawler.engine.slot.scheduler) if getattr(
            self.crawler.engine, "slot", None) and self.crawler.engine.slot else 0
        logger.info("progress source=%s %s queued=%s", self._source_id(),
                    " ".join(f"{k}={v}" for k, v in counts.items()), pending)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._loop and self._loop.running:
            self._loop.stop()
        counts = source_counts(self.crawler.stats.get_stats())
        self.crawler.stats.set_value("chavder/finish_reason", reason)
        runtime_for(self.crawler).store.record_crawl(self._source_id(), self.started_at,
                                                     utc_now_iso(), counts)
