"""The controller as the store's writer for workers with ``store_writer: controller``.

Workers hand fetched articles over through the frontier's ingest stream
(:mod:`crawler.scaleout.handoff`); an :class:`Ingester` thread in the controller reads them and
stores each through :func:`crawler.storing.store_article` — the story decision and the upsert
of one process, on the controller's own store (SQLite, or Elasticsearch with its sidecar on
the controller's disk). So story ids, dedup and the alert ledger have one writer, and workers
on any number of machines need nothing but Redis. Every controller runs one (it waits on an
empty stream while no worker hands anything over), so the setting is the workers' alone.

An entry is acknowledged only after its article is stored (a controller killed in between
reads it again: the upsert by URL key makes that an "unchanged"), which also counts it off its
job — a job is finished, and its alerts matched, once every article is in the store. After
storing, the controller records the URL keys in ``P:known:DAY`` for the workers' index crawls.

A store that cannot be used at all (``StoreUnusable``: corrupt, read-only) leaves the entries
in Redis, says so once, and is tried again every ``UNUSABLE_RETRY`` seconds; any other store
error is one process's too: the article is not stored, logged with its URL and reason, and its
job is marked incomplete so the next poll fetches it again.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from crawler import defaults
from crawler.scaleout.connection import Reachability, outage_errors
from crawler.scaleout.frontier import Entry, Frontier
from crawler.scaleout.handoff import known_days, known_field, known_value
from crawler.store.base import STORE_FAULT_PREFIX
from crawler.store.faults import StoreUnusable
from crawler.storing import StoreRequest, store_article
from crawler.urls import display_url

log = logging.getLogger("chavder.service")

BATCH = 50               # ingest entries read at once
BLOCK_MS = 500           # how long one read waits for entries
UNUSABLE_RETRY = 30.0    # seconds between two tries of an unusable store


class Ingester:
    """Stores what the workers hand over, in a thread of the controller."""

    def __init__(self, app: Any, frontier: Frontier, url: str, *,
                 known_for_days: int = defaults.FRONTIER_KNOWN_DAYS):
        self.app, self.frontier = app, frontier
        self.known_for_days = known_for_days
        self.redis = Reachability(url, "the controller's store writer")
        self.counts = {"new": 0, "updated": 0, "unchanged": 0, "failed": 0, "notes": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending_first = True
        self._unusable: str | None = None
        self._announced = False
        self._seeded = False
        self.cpu_seconds = 0.0   # this thread's CPU in step() (benchmarks)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chavder-ingest", daemon=True)
        self._thread.start()
        log.debug("the controller stores what workers with store_writer: controller hand over")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except outage_errors() as exc:
                self.redis.failed(exc)
                self._pending_first = True   # what was read may not all be acknowledged
                self._stop.wait(1.0)
            except Exception:  # noqa: BLE001 - the thread must live: log and go on
                log.exception("storing the workers' articles failed; trying again")
                self._pending_first = True
                self._stop.wait(1.0)

    def step(self) -> int:
        """Read and store one batch; how many entries it held."""
        started = time.thread_time()
        try:
            return self._step()
        finally:
            self.cpu_seconds += time.thread_time() - started

    def _step(self) -> int:
        if not self._seeded:
            self.seed_known()
            self._seeded = True
        entries = self.frontier.read_ingest(BATCH, pending=self._pending_first,
                                            block_ms=BLOCK_MS)
        self.redis.ok()
        if self._pending_first and not entries:
            self._pending_first = False
            return 0
        for entry in entries:
            if self._stop.is_set() or not self.apply(entry):
                self._pending_first = True   # the rest stays pending: read it again
                break
        return len(entries)

    def apply(self, entry: Entry) -> bool:
        """Store one entry and acknowledge it; False when the store is unusable (it stays)."""
        store = self.app.store
        data = entry.data or {}
        if entry.stream == "error":
            store.record_fetch_error(data["source"], data["url"], data["reason"])
        elif entry.stream == "crawl":
            store.record_crawl(data["source"], data["started_at"], data["finished_at"],
                               data["counts"])
        elif entry.stream == "article":
            return self._store_article(entry, StoreRequest.from_dict(data))
        self.counts["notes"] += 1
        self.frontier.ack_ingested(entry)
        return True

    def _store_article(self, entry: Entry, request: StoreRequest) -> bool:
        article = request.article
        if not self._announced:
            self._announced = True
            log.info("storing the articles workers hand over (store_writer: controller)")
        try:
            _decision, result = store_article(self.app.store, self.app.resolver, request)
        except StoreUnusable as exc:
            if self._unusable != exc.problem:
                log.error("the store cannot be written (%s): the workers' articles wait in "
                          "Redis (%s) until it can; trying again every %.0f s", exc.problem,
                          self.frontier.ingest, UNUSABLE_RETRY)
                self._unusable = exc.problem
            self._stop.wait(UNUSABLE_RETRY)
            return False
        except Exception as exc:  # noqa: BLE001 - disk full, database locked, index down…
            log.error("source=%s url=%s reason=%s (%s: %s) — the next crawl fetches it again",
                      article.source, display_url(article.url), STORE_FAULT_PREFIX,
                      type(exc).__name__, exc)
            try:
                self.app.store.record_fetch_error(
                    article.source, article.url,
                    f"{STORE_FAULT_PREFIX} ({type(exc).__name__}: {exc})")
            except Exception:  # noqa: BLE001 - the store may be the very thing failing
                pass
            self.counts["failed"] += 1
            self.frontier.ack_ingested(entry, incomplete=True)
            return True
        if self._unusable is not None:
            log.warning("the store can be written again; storing the workers' articles")
            self._unusable = None
        self.counts[result.kind] = self.counts.get(result.kind, 0) + 1
        self._record_known(request)
        self.frontier.ack_ingested(entry)
        return True

    def seed_known(self, chunk: int = 1000) -> int:
        """The workers' ``known`` from the store, once per known window (``P:known:seeded``):
        so the first polls after workers start handing over do not fetch every listed
        article again. How many URL keys it recorded (0: seeded already)."""
        r, days = self.frontier.r, self.known_for_days
        ttl = int(days * 86400 + 3600)
        if not r.set(self.frontier.known_key("seeded"), "1", nx=True, ex=ttl):
            return 0
        started = time.monotonic()
        since = known_days(days)[-1]
        since_iso = f"{since[:4]}-{since[4:6]}-{since[6:]}T00:00:00"
        pipe, n, buckets = r.pipeline(transaction=False), 0, set()
        for known in self.app.store.known_since(since_iso):
            day = (known.fetched_at or "")[:10].replace("-", "")
            if len(day) != 8:
                continue
            bucket = self.frontier.known_key(day)
            buckets.add(bucket)
            pipe.hset(bucket, known_field(known.url_key),
                      known_value(known.index_updated_at, known.fetched_at))
            n += 1
            if n % chunk == 0:
                pipe.execute()
        for bucket in buckets:
            pipe.expire(bucket, ttl)
        pipe.execute()
        log.info("the workers' record of known URLs: %d key(s) of articles fetched since %s, "
                 "from the store (%.1f s)", n, since_iso[:10], time.monotonic() - started)
        return n

    def _record_known(self, request: StoreRequest) -> None:
        """The workers' ``known``: today's bucket, for the canonical key and its aliases."""
        article = request.article
        value = known_value(request.index_updated_at, article.fetched_at)
        bucket = self.frontier.known_key(known_days(1)[0])
        keys = dict.fromkeys([request.key, *request.aliases])
        pipe = self.frontier.r.pipeline(transaction=False)
        pipe.hset(bucket, mapping={known_field(k): value for k in keys if k})
        pipe.expire(bucket, int(self.known_for_days * 86400 + 3600))
        pipe.execute()
