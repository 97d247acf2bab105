"""A worker's crawl state in Redis: HTTP validators and per-URL failure counts.

A worker wraps its store in :class:`SharedCrawlState`: every role is the store's, except the
four ``CrawlState`` methods the politeness of polling rests on — the validators a conditional
GET sends (so whichever worker polls a feed next gets its 304) and the failure counts the
article back-off reads (so a dead link waits its doubling delay whichever worker meets it).
The store still records every fetch error (``chavder status``, ``/metrics``).

While Redis is away, validators read as none (a full GET: correct, only less cheap) and
failures as none; writes are dropped — nothing is wrong later, at worst a request is made
that a validator or back-off would have saved.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from crawler.scaleout.connection import outage_errors
from crawler.scaleout.frontier import Frontier
from crawler.store.base import STORE_FAULT_PREFIX

log = logging.getLogger("chavder.scaleout")

#: failures older than this start a new count (the store's back-off looks back 7 days too)
WINDOW = timedelta(days=7)

# KEYS failures; ARGV url now window_start → the new count
_FAILED = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
local n = 1
if old then
  local t = cjson.decode(old)
  if t[2] >= ARGV[3] then n = t[1] + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({n, ARGV[2]}))
return n
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SharedCrawlState:
    """``store`` with validators and failure counts kept in the frontier's Redis."""

    def __init__(self, store: Any, frontier: Frontier):
        self._store = store
        self._frontier = frontier
        self._failed = frontier.r.register_script(_FAILED)

    def __getattr__(self, name: str) -> Any:   # every other role is the store's
        return getattr(self._store, name)

    @property
    def inner(self) -> Any:
        return self._store

    def http_validators(self, url: str) -> tuple[str | None, str | None]:
        try:
            raw = self._frontier.r.hget(self._frontier.validators, url)
        except outage_errors():
            return None, None
        if raw is None:
            return None, None
        etag, modified = json.loads(raw)
        return etag or None, modified or None

    def save_http_validators(self, url: str, etag: str | None,
                             last_modified: str | None) -> None:
        try:
            self._frontier.r.hset(self._frontier.validators, url,
                                  json.dumps([etag or "", last_modified or ""]))
        except outage_errors():
            log.info("validators of %s not kept (Redis away): the next poll is a full GET", url)

    def record_fetch_error(self, source: str, url: str, reason: str) -> None:
        self._store.record_fetch_error(source, url, reason)
        if reason.startswith(STORE_FAULT_PREFIX):   # our own store's fault: no back-off
            return
        now = datetime.now(timezone.utc)
        try:
            self._failed(keys=[self._frontier.failures],
                         args=[url, now.isoformat(timespec="seconds"),
                               (now - WINDOW).isoformat(timespec="seconds")])
        except outage_errors():
            pass

    def recent_failures(self, urls: Iterable[str], since: str,
                        ignore_prefix: str = "") -> dict[str, tuple[int, str]]:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        try:
            raws = self._frontier.r.hmget(self._frontier.failures, wanted)
        except outage_errors():
            return {}
        out: dict[str, tuple[int, str]] = {}
        for url, raw in zip(wanted, raws):
            if raw is None:
                continue
            n, last = json.loads(raw)
            if last >= since:
                out[url] = (int(n), last)
        return out

    def close(self) -> None:
        self._store.close()
