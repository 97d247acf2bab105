"""``chavder worker``: one crawl worker on the shared frontier.

One process, one Twisted reactor, one Scrapy ``CrawlerRunner``: a long-lived article crawler
(:class:`~crawler.scaleout.spiders.FrontierArticles`) and one short crawler per index job, as
the service runs them. A loop (every ``TICK`` seconds, in the reactor) keeps the work coming:

* it tops the article crawler up to ``WORKER_PREFETCH`` unacknowledged entries and starts up to
  ``WORKER_MAX_DISCOVERIES`` index crawls at once — a worker takes what it can handle, so one
  outlet's 2,000 articles are shared by every worker reading the stream;
* it sends a heartbeat, and claims the entries of dead workers (see
  :mod:`crawler.scaleout.frontier`);
* while Redis is away it only waits (one log line when it goes, one when it is back); the
  acknowledgements it could not send are kept and sent when Redis answers again, an index crawl
  whose articles could not be queued is run again.

A worker never matches alerts or sends mail: that is the controller's (the single writer of
the ledgers). SIGTERM/SIGINT: stop taking work, stop the crawls, hand unfinished entries back
(the heartbeat goes, so another worker claims them at once), close the store, exit 0.
"""
from __future__ import annotations

import logging
import signal
import time
from typing import Any

from crawler import defaults
from crawler.app import Chavder
from crawler.delivery.lease import process_owner
from crawler.redact import redact_url
from crawler.scaleout.connection import Reachability, outage_errors, shown
from crawler.scaleout.crawlstate import SharedCrawlState
from crawler.scaleout.frontier import Entry, Frontier
from crawler.scaleout.handoff import HandOffStore

log = logging.getLogger("chavder.worker")

TICK = 0.02            # seconds between two looks at the frontier while busy
IDLE_TICK = 0.25       # … while it had nothing to give


class Worker:
    """A worker over ``app`` (its store and sources) and ``frontier``."""

    def __init__(self, app: Chavder, frontier: Frontier, url: str, *,
                 prefetch: int = defaults.WORKER_PREFETCH,
                 max_discoveries: int = defaults.WORKER_MAX_DISCOVERIES,
                 name: str | None = None, overrides: dict[str, Any] | None = None):
        self.app, self.frontier, self.url = app, frontier, url
        self.overrides = dict(overrides or {})   # Scrapy settings (benchmarks: no throttle)
        self.name = name or process_owner()
        self.prefetch, self.max_discoveries = prefetch, max_discoveries
        self.redis = Reachability(url, "the worker")
        self.inflight: dict[str, Entry] = {}        # article entries handed to the crawler
        self.discoveries: dict[str, Entry] = {}     # job entries whose index crawl runs
        self.unsent: list[tuple[Entry, dict[str, Any]]] = []   # acks not sent yet
        #: store_writer: controller — hand-overs and notes not sent yet
        self.unsent_hand_offs: list[tuple[Entry | None, str, dict]] = []
        self.hands_off = app.settings.store_writer == "controller"
        self.rerun: list[Entry] = []                # jobs whose articles could not be queued
        self.failed_enqueue: set[str] = set()
        self.stopping = False
        self.exit_code = 0
        self.articles: Any = None                   # the FrontierArticles spider
        self.counts = {"articles": 0, "jobs": 0}
        self._next_read = 0.0
        self._next_beat = 0.0
        self._next_jobs = 0.0
        self._loop: Any = None
        self._runner: Any = None
        self._reactor: Any = None

    # ------------------------------------------------------------------ life cycle
    def run(self) -> int:
        from scrapy.crawler import CrawlerRunner
        from scrapy.utils.reactor import install_reactor

        from crawler.crawl import scrapy_settings
        from crawler.logs import apply_logger_levels
        from crawler.settings import TWISTED_REACTOR
        install_reactor(TWISTED_REACTOR)
        from twisted.internet import reactor
        self._reactor = reactor
        self._runner = CrawlerRunner(scrapy_settings(
            self.app.settings, {"CHAVDER_PROGRESS_INTERVAL": 0, **self.overrides}))
        apply_logger_levels()
        from crawler.warmup import settle_heap, warm_up
        log.info("worker warmed up in %.2f s (models, suffix list, Scrapy components); "
                 "%d objects frozen for the collector", warm_up(self._runner.settings),
                 settle_heap())
        self.app._alerting = None   # matching and mail are the controller's
        self.app._digests = None
        if self.hands_off:          # store_writer: controller — this worker opens no store
            self.app._store = SharedCrawlState(HandOffStore(self.frontier, self), self.frontier)
        else:
            self.app._store = SharedCrawlState(self.app.store, self.frontier)
            self.app.resolver  # noqa: B018 - built once, before any crawl
        self.app.robots  # noqa: B018
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: reactor.callFromThread(self.shutdown, "signal"))
        reactor.callWhenRunning(self._begin)
        reactor.run(installSignalHandlers=False)
        return self.exit_code

    def _begin(self) -> None:
        try:
            self._start_crawling()
        except Exception:  # noqa: BLE001 - a worker that cannot start must exit, not hang
            log.exception("the worker could not start")
            self.exit_code = 1
            self._reactor.stop()

    def _start_crawling(self) -> None:
        from twisted.internet import task

        from crawler.scaleout.spiders import FrontierArticles
        crawler = self._runner.create_crawler(FrontierArticles)
        crawler.chavder = self.app
        crawler.chavder_worker = self
        self._runner.crawl(crawler).addBoth(self._articles_closed)
        self.articles_crawler = crawler
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(TICK, now=False).addErrback(self._loop_failed)
        log.info("worker %s started: frontier %s, store %s, %d sources", self.name,
                 shown(self.url), "written by the controller (store_writer: controller)"
                 if self.hands_off else redact_url(self.app.settings.store),
                 len(self.app.sources))

    def _loop_failed(self, failure: Any) -> None:
        log.error("the worker's frontier loop failed: %s", failure.getTraceback())
        self.exit_code = 1
        self.shutdown("frontier loop failed")

    def _articles_closed(self, result: Any) -> None:
        if not self.stopping:
            log.error("the article crawler stopped (%s); the worker exits",
                      getattr(result, "getErrorMessage", lambda: "closed")())
            self.exit_code = 1
            self.shutdown("article crawler stopped")

    # ------------------------------------------------------------------ the loop
    def tick(self) -> None:
        if self.stopping:
            return
        now = time.monotonic()
        if not self.redis.up and now < self._next_read:
            return
        try:
            self._send_unsent()
            if now >= self._next_beat:
                self.frontier.heartbeat(self.name)
                self._next_beat = now + defaults.WORKER_HEARTBEAT_SECONDS
                self._take_over(self.frontier.reclaim(self.name))
            if now >= self._next_read and self._top_up() == 0:
                self._next_read = now + IDLE_TICK   # asked, nothing there: look again later
        except outage_errors() as exc:
            self.redis.failed(exc)
            self._next_read = now + 1.0
            return
        self.redis.ok()

    def _top_up(self) -> int | None:
        """Start jobs and fetch articles up to the limits: how many entries were read, or None
        when the worker was full and did not ask."""
        got: int | None = None
        while self.rerun and len(self.discoveries) < self.max_discoveries:
            self._start_discovery(self.rerun.pop(0))
        room = self.max_discoveries - len(self.discoveries)
        now = time.monotonic()
        if room > 0 and now >= self._next_jobs:   # jobs are few: look a few times a second
            self._next_jobs = now + IDLE_TICK
            got = 0
            for entry in self.frontier.read("jobs", self.name, room):
                self._take(entry)
                got += 1
        room = self.prefetch - len(self.inflight)
        if room >= max(1, self.prefetch // 4) and self.articles is not None:
            got = got or 0
            for entry in self.frontier.read("articles", self.name, room):
                self._take(entry)
                got += 1
        return got

    def _take_over(self, entries: list[Entry]) -> None:
        if not entries:
            return
        jobs = sum(1 for e in entries if e.stream == "jobs")
        sources = sorted({e.source_id for e in entries})
        log.info("took over %d article(s) and %d index job(s) (source=%s) from a worker that "
                 "stopped", len(entries) - jobs, jobs, ",".join(sources))
        for entry in entries:
            self._take(entry)

    def _take(self, entry: Entry) -> None:
        if entry.stream == "jobs":
            self._start_discovery(entry)
        elif entry.id not in self.inflight and self.articles is not None:
            self.inflight[entry.id] = entry
            self.articles.fetch(entry)

    def _start_discovery(self, entry: Entry) -> None:
        from crawler.scaleout.spiders import discovery_spider
        source = self.app.sources_by_id.get(entry.source)
        if source is None:
            log.warning("job %s: source %r is not in this worker's source list — skipped "
                        "(are all workers on the same sources.yaml?)", entry.job, entry.source)
            self._ack(entry, {})
            return
        if entry.id in self.discoveries:
            return
        self.discoveries[entry.id] = entry
        crawler = self._runner.create_crawler(discovery_spider(source.kind))
        crawler.chavder = self.app
        crawler.chavder_worker = self
        d = self._runner.crawl(crawler, sources=source.id, frontier_entry=entry)
        d.addBoth(lambda _: self.discoveries.pop(entry.id, None))

    # ------------------------------------------------------------------ what the spiders call
    def enqueue(self, entry: Entry, articles: list[tuple[str, dict]]) -> None:
        try:
            self.frontier.enqueue(entry.job, articles)
        except outage_errors() as exc:
            self.redis.failed(exc)
            self.failed_enqueue.add(entry.id)

    def discovery_done(self, entry: Entry, *, incomplete: bool,
                       validators: dict[str, list[str | None]]) -> None:
        if entry.id in self.failed_enqueue:     # articles were lost on the way to Redis:
            self.failed_enqueue.discard(entry.id)
            self.rerun.append(entry)            # read the index again once Redis is back
            return
        self.counts["jobs"] += 1
        self._ack(entry, {"incomplete": incomplete, "validators": validators})

    def discovery_stopped(self, entry: Entry, reason: str) -> None:
        log.info("job %s (source=%s) stopped (%s); it stays on the frontier", entry.job,
                 entry.source, reason)

    def done(self, entry: Entry) -> None:
        """An article entry went through (stored, or failed for good)."""
        if self.inflight.pop(entry.id, None) is None:
            return
        self.counts["articles"] += 1
        self._ack(entry, {})

    def hand_off(self, request: Any) -> None:
        """store_writer: controller — a fetched article goes to the controller's store; its
        entry is off this worker's hands (the controller's acknowledgement counts it)."""
        entry = next((e for e in self.inflight.values() if e.key in request.aliases), None)
        if entry is None:
            log.error("url=%s was extracted but its frontier entry is gone; not handed over "
                      "(it is fetched again by the next poll)", request.article.url)
            return
        del self.inflight[entry.id]
        self.counts["articles"] += 1
        self.unsent_hand_offs.append((entry, "article", request.to_dict()))   # next tick

    def note(self, kind: str, fields: dict) -> None:
        """A fetch error or an index-crawl record for the controller's store (next tick)."""
        self.unsent_hand_offs.append((None, kind, fields))

    def mark_incomplete(self, job: str) -> None:
        try:
            self.frontier.mark_incomplete(job)
        except outage_errors() as exc:
            self.redis.failed(exc)

    def _ack(self, entry: Entry, how: dict[str, Any]) -> None:
        """Acknowledgements wait for the next tick (``TICK``) and go together in one round
        trip: a synchronous call per article held the reactor while Redis, on the same
        busy cores, got round to answering."""
        self.unsent.append((entry, how))

    def _send_unsent(self) -> None:
        if not self.unsent and not self.unsent_hand_offs:
            return
        hand_offs, acks = self.unsent_hand_offs, self.unsent
        self.frontier.flush(hand_offs, acks)   # raises while Redis is away: kept, sent later
        self.unsent_hand_offs, self.unsent = [], []

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.info("worker stopping (%s): %d article(s) and %d index crawl(s) unfinished go back "
                 "to the frontier", reason, len(self.inflight), len(self.discoveries))
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        from twisted.internet import defer
        stopping = defer.maybeDeferred(self._runner.stop) if self._runner else defer.succeed(None)
        timer = self._reactor.callLater(max(1.0, self.app.settings.shutdown_timeout - 2.0),
                                        self._finish, "timeout")
        stopping.addBoth(lambda _: (timer.cancel() if timer.active() else None,
                                    self._finish("clean")))

    def _finish(self, how: str) -> None:
        if getattr(self, "_finished", False):
            return
        self._finished = True
        try:
            self._send_unsent()
            self.frontier.retire(self.name)
        except outage_errors():
            pass
        try:
            self.app.close()
        except Exception:  # noqa: BLE001
            log.exception("closing the store")
        log.info("worker stopped (%s): %d article(s) and %d job(s) done", how,
                 self.counts["articles"], self.counts["jobs"])
        if self._reactor.running:
            self._reactor.stop()
