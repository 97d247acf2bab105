"""A worker that does not write the store (``store_writer: controller``): its side.

Workers on several machines cannot share a SQLite file, and the Elasticsearch store keeps its
story decisions, ids and ledgers in a local sidecar — so with ``store_writer: controller`` a
worker opens no store at all. It fetches and extracts as always, and hands each article (a
:class:`~crawler.storing.StoreRequest`) to the controller through the frontier's ingest stream;
the controller, the store's only writer, stores it through the same code path as one process
(:mod:`crawler.scaleout.ingest`). The article entry leaves the workers' stream in the same Lua
step, so a worker killed afterwards does not fetch it again, and the job counts it until the
controller has stored it.

What the crawl asks the store, :class:`HandOffStore` answers from Redis: ``known`` from the
controller's record of what it stored in the last ``FRONTIER_KNOWN_DAYS`` days (an index item
older than that is fetched once more and stored as unchanged; the record keeps the times the
index crawl compares, not the content hash); fetch errors and crawl records
go to the ingest stream; HTTP validators and failure counts are the frontier's as for every
worker (:class:`~crawler.scaleout.crawlstate.SharedCrawlState` wraps this store).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from crawler import defaults
from crawler.scaleout.connection import outage_errors
from crawler.scaleout.frontier import Frontier
from crawler.store.base import KnownArticle
from crawler.storing import StoreRequest

log = logging.getLogger("chavder.scaleout")


def known_days(days: int = defaults.FRONTIER_KNOWN_DAYS,
               now: datetime | None = None) -> list[str]:
    """The ``P:known:DAY`` buckets to read, newest first."""
    now = now or datetime.now(timezone.utc)
    return [(now - timedelta(days=i)).strftime("%Y%m%d") for i in range(days)]


def known_field(url_key: str) -> bytes:
    """A URL key as a field of ``P:known:DAY``: an 8-byte digest, not the URL (an Arabic URL
    is ~100 bytes; at a million articles a day, 3 days, that is the difference between
    ~0.3 and ~1 GB of Redis). Two keys colliding (odds ~1 in 10^12 per pair) would at worst
    skip one article until its index signals a change."""
    return hashlib.blake2b(url_key.encode("utf-8"), digest_size=8).digest()


def known_value(index_updated_at: str | None, fetched_at: str) -> str:
    """What the index crawl compares (``_signals_newer``): the index's modification time and
    the fetch time, as stored. The content hash is not kept: nothing before a fetch reads it."""
    return f"{index_updated_at or ''}\x1f{fetched_at or ''}"


class HandOffStore:
    """The store role of a worker with ``store_writer: controller``: everything it would
    write goes to the controller; ``known`` is read from the controller's record in Redis."""

    def __init__(self, frontier: Frontier, worker: Any):
        self._frontier = frontier
        self._worker = worker

    def known(self, url_keys: Iterable[str]) -> dict[str, KnownArticle]:
        keys = list(dict.fromkeys(url_keys))
        if not keys:
            return {}
        try:
            pipe = self._frontier.r.pipeline(transaction=False)
            fields = [known_field(k) for k in keys]
            for day in known_days():
                pipe.hmget(self._frontier.known_key(day), fields)
            buckets = pipe.execute()
        except outage_errors():
            return {}   # fetched again: stored as unchanged by the controller
        found: dict[str, KnownArticle] = {}
        for values in buckets:      # newest day first: its record wins
            for key, raw in zip(keys, values):
                if raw is None or key in found:
                    continue
                index_updated_at, fetched_at = (
                    raw.decode() if isinstance(raw, bytes) else raw).split("\x1f")
                found[key] = KnownArticle(key, "", index_updated_at or None, fetched_at)
        return found

    def hand_off(self, request: StoreRequest) -> None:
        self._worker.hand_off(request)

    def record_fetch_error(self, source: str, url: str, reason: str) -> None:
        self._worker.note("error", {"source": source, "url": url, "reason": reason})

    def record_crawl(self, source: str, started_at: str, finished_at: str,
                     counts: dict[str, int]) -> None:
        self._worker.note("crawl", {"source": source, "started_at": started_at,
                                    "finished_at": finished_at, "counts": counts})

    def close(self) -> None:
        """Nothing to close: the worker opened no store."""
