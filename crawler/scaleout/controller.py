"""What ``chavder run`` does differently as the controller of a frontier (``redis_url`` set).

The service (scheduler/service.py) keeps its schedule, its alert and digest jobs, its health
server and its shutdown; a :class:`Controller` replaces only the crawl itself: a due source
becomes a job on the frontier (none while the source's previous job is unfinished — one crawl
per source at a time, across all workers), and a finished job comes back through ``P:done``,
after which the controller matches the new articles and sends the alerts that are due. It
holds the controller lease (:mod:`crawler.scaleout.lease`) for as long as it runs.

A finished-job entry is acknowledged only after its alerts were dispatched, so a controller
killed in between reads it again after a restart; the ledger keeps the delivery exactly once.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from crawler import defaults
from crawler.config import Settings
from crawler.scaleout.connection import Reachability, connect, outage_errors, shown
from crawler.scaleout.frontier import Finished, Frontier
from crawler.scaleout.lease import ControllerLease

log = logging.getLogger("chavder.service")

TICK = 0.5   # seconds between two looks at finished jobs (and lease renewals when due)


class Controller:
    """The controller's side of one frontier."""

    def __init__(self, url: str, *, prefix: str = defaults.FRONTIER_PREFIX,
                 lease_seconds: float = defaults.CONTROLLER_LEASE_SECONDS,
                 client: Any = None):
        self.url = url
        client = client if client is not None else connect(url)
        self.frontier = Frontier(client, prefix)
        self.lease = ControllerLease(client, url, prefix, seconds=lease_seconds)
        self.redis = Reachability(url, "the controller")
        self._loop: Any = None
        self._renewed = time.monotonic()
        self._pending_first = True
        self._on_finished: Callable[[list[Finished]], Any] | None = None
        self._on_lost: Callable[[], Any] | None = None
        self.ingester: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Controller | None":
        """The controller of ``settings.redis_url``, or None without one (embedded)."""
        return cls(settings.redis_url) if settings.redis_url else None

    def describe(self) -> str:
        return f"controller of frontier {shown(self.url)}"

    def acquire(self, *, wait: bool = False) -> None:
        """Take the lease or raise ``LeaseRefused`` (one line naming the holder)."""
        self.lease.acquire(wait=wait)
        self._renewed = time.monotonic()
        log.info("controller lease taken on %s (renewed every %.0f s)", shown(self.url),
                 self.lease.renew_every)

    def start(self, *, on_finished: Callable[[list[Finished]], Any],
              on_lost: Callable[[], Any]) -> None:
        """Begin the loop in the running reactor: lease renewal and finished jobs."""
        from twisted.internet import task
        self._on_finished, self._on_lost = on_finished, on_lost
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(TICK, now=True).addErrback(
            lambda failure: log.error("the controller loop failed: %s", failure.getTraceback()))

    def start_ingest(self, app: Any) -> None:
        """``store_writer: controller``: store what the workers hand over, in a thread with a
        Redis client of its own (its reads wait for entries)."""
        from crawler.scaleout.ingest import Ingester
        self.ingester = Ingester(app, Frontier(connect(self.url), self.frontier.prefix),
                                 self.url)
        self.ingester.start()

    def submit(self, source_id: str) -> bool:
        """A source is due: queue its job (False: its last job is unfinished, or Redis away)."""
        try:
            queued, job = self.frontier.submit(source_id)
        except outage_errors() as exc:
            self.redis.failed(exc)
            log.info("source=%s due, but the frontier is unreachable; this run is skipped",
                     source_id)
            return False
        self.redis.ok()
        if queued:
            log.info("source=%s due: job %s queued on the frontier", source_id, job)
        else:
            log.info("source=%s still crawling (job %s on the frontier); this run is skipped "
                     "(coalesced)", source_id, job)
        return queued

    def running(self) -> list[str]:
        try:
            return sorted(self.frontier.active_jobs())
        except outage_errors():
            return []

    def sizes(self) -> dict[str, int]:
        """The frontier's queues (``/metrics``); empty while Redis is away."""
        try:
            return self.frontier.sizes()
        except outage_errors():
            return {}

    def tick(self) -> None:
        try:
            if time.monotonic() - self._renewed >= self.lease.renew_every:
                if not self.lease.renew():
                    holder = self.lease.holder() or {}
                    log.error("the controller lease on %s is now held by pid %s on %s; this "
                              "controller stops", shown(self.url), holder.get("pid", "?"),
                              holder.get("host", "?"))
                    self.stop()
                    if self._on_lost is not None:
                        self._on_lost()
                    return
                self._renewed = time.monotonic()
            finished = self.frontier.finished(pending=self._pending_first)
            self._pending_first = False
        except outage_errors() as exc:
            self.redis.failed(exc)
            return
        self.redis.ok()
        if finished and self._on_finished is not None:
            self._on_finished(finished)
            try:
                self.frontier.acknowledge_finished(f.id for f in finished)
            except outage_errors() as exc:   # read again later: dispatching twice is harmless
                self.redis.failed(exc)
                self._pending_first = True

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def close(self) -> None:
        """Stop the loop and give the lease up (a successor need not wait for it to expire)."""
        self.stop()
        if self.ingester is not None:   # the article being stored is finished first
            self.ingester.stop()
        try:
            self.lease.release()
        except outage_errors():
            pass
