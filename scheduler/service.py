"""``chavder run``: the background service.

One process, one Twisted (epoll) reactor: Scrapy's ``CrawlerRunner`` runs each source's crawl
when APScheduler's ``TwistedScheduler`` says it is due. Why one reactor rather than a process per
cycle: a crawl then costs no interpreter start-up or re-import (~1.5 s and ~80 MB each), the
dedup index and compiled alert rules are built once, and memory stays flat over hundreds of
cycles (measured by ``bench/soak.py``; see README).

Scheduling rules:
* each source every ``interval`` seconds ± jitter, at most one running crawl per source, at most
  ``max_concurrent_crawls`` crawls at once; missed runs are coalesced into one;
* the next run of every source is kept in the store, so after a restart a source that is not due
  waits, and overdue sources are spread over the first minute instead of all firing at once;
* instant alerts are dispatched during a crawl (the alert pipeline's sweeps), after every crawl and
  every ``alert_dispatch_seconds`` (retries);
  digests are checked every ``digest_check_seconds`` (the ledger makes that idempotent).

SIGTERM/SIGINT: stop scheduling, stop running crawls (in-flight items finish their pipeline
step; an interrupted crawl saves no HTTP validators, so nothing is hidden behind a 304 later),
flush, close the store, exit — within ``shutdown_timeout`` seconds.
"""
from __future__ import annotations

import json
import logging
import random
import signal
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from crawler import defaults
from crawler.app import Chavder
from crawler.config import SourceConfig
from crawler.text.dates import parse_iso
from crawler.redact import redact_url
from scheduler import jobs
from scheduler.runlock import ServiceRefused, record_run, take_run_lock

log = logging.getLogger("chavder.service")


def _utc(dt: datetime | None = None) -> datetime:
    return (dt or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)


_parse = parse_iso


def first_run_times(sources: list[SourceConfig], state: dict[str, dict], now: datetime,
                    rng: random.Random,
                    stagger_seconds: float = defaults.FIRST_RUN_STAGGER_SECONDS
                    ) -> dict[str, datetime]:
    """When each source runs first after (re)start.

    A source whose stored next run is in the future keeps it; an overdue or never-run source is
    placed at a random point of the first ``stagger`` window (bounded by its own interval), so a
    restart never fires every source at once.
    """
    out: dict[str, datetime] = {}
    for source in sources:
        stored = _parse(state.get(source.id, {}).get("next_run"))
        if stored is not None and stored > now:
            out[source.id] = min(stored, now + timedelta(seconds=source.interval))
        else:
            window = min(stagger_seconds, source.interval)
            out[source.id] = now + timedelta(seconds=rng.uniform(0, window))
    return out


def classify_reason(reason: str) -> str:
    """A coarse, bounded label for a fetch error (Prometheus label values must not explode)."""
    text = reason.lower()
    for needle, label in (("http 4", "http_4xx"), ("http 5", "http_5xx"),
                          ("timed out", "timeout"), ("dns", "dns"),
                          ("connection refused", "connection_refused"),
                          ("refused: ", "private_address"), ("robots", "robots_txt"),
                          ("redirect", "redirect"), ("size limit", "too_large"),
                          ("unsafe xml", "unsafe_xml"), ("not stored", "not_an_article"),
                          ("feed problem", "bad_feed"), ("sitemap problem", "bad_sitemap"),
                          ("listing", "bad_listing")):
        if needle in text:
            return label
    return "other"


class Service:
    """The scheduler process over one application object (``crawler.app.Chavder``: its store,
    alerting and digests). ``start()`` wires everything; ``run()`` blocks in the reactor."""

    def __init__(self, app: Chavder, *, health_port: int | None = None,
                 controller: Any = None):
        self.app = app
        # scale-out (crawler/scaleout/controller.py): due sources become jobs on a Redis
        # frontier that `chavder worker` processes crawl; None crawls here (embedded default)
        self.controller = controller
        self.settings = app.settings
        self.sources = {s.id: s for s in app.sources if s.enabled}
        self.health_port = self.settings.health_port if health_port is None else health_port
        self.running: dict[str, Any] = {}
        self.pending: set[str] = set()
        self.batch_window = defaults.BATCH_WINDOW_SECONDS   # due together: one crawler
        self._drain_call: Any = None
        self.store: Any = None
        self.alerting: Any = None
        self.digests: Any = None
        self.scheduler: Any = None
        self.driver: Any = None
        self.reactor: Any = None
        self._stopping = False
        self._started_at = time.time()
        self._run_lock: Any = None
        self._rng = random.Random()
        self.http_port: Any = None
        self.web: Any = None          # the web interface's server thread (web_port)

    # ------------------------------------------------------------------ wiring
    def start(self) -> None:
        from scrapy.utils.reactor import install_reactor

        from crawler.settings import TWISTED_REACTOR
        install_reactor(TWISTED_REACTOR)
        from apscheduler.schedulers.twisted import TwistedScheduler
        from twisted.internet import reactor

        from crawler.crawl import CrawlDriver

        self.reactor = reactor
        self._run_lock = take_run_lock(self.settings)
        self._start_health_server()   # before anything runs: a taken port refuses the start
        record_run(self._run_lock, health_url=self.health_url())
        self.store = self.app.store
        self._start_web()             # after the store exists: it reads the same file
        self.alerting = self.app.alerting
        self.digests = self.app.digests
        self.driver = CrawlDriver(self.app, overrides={"CHAVDER_PROGRESS_INTERVAL": 0,
                                                        "CHAVDER_DELIVER_ALERTS": True},
                                  max_concurrent=max(1, self.settings.max_concurrent_crawls))
        self.scheduler = TwistedScheduler(reactor=reactor, timezone="UTC", job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        now = _utc()
        firsts = first_run_times(list(self.sources.values()), self.store.schedule_state(), now,
                                 self._rng)
        from apscheduler.triggers.interval import IntervalTrigger
        for sid, source in self.sources.items():
            jitter = max(1, int(min(60.0, source.interval * 0.1)))
            trigger = IntervalTrigger(seconds=source.interval, start_date=firsts[sid],
                                      jitter=jitter, timezone="UTC")
            self.scheduler.add_job(self._due, trigger, args=[sid], id=f"crawl:{sid}",
                                   next_run_time=firsts[sid])
            self.store.save_next_run(sid, firsts[sid].isoformat())
        self.scheduler.add_job(self._due_alerts, "interval",
                               seconds=self.settings.alert_dispatch_seconds, id="alerts")
        if self.digests is not None:
            self.scheduler.add_job(self._due_digests, "interval",
                                   seconds=self.settings.digest_check_seconds, id="digests",
                                   next_run_time=now + timedelta(seconds=2))
        self.scheduler.start()
        if self.controller is not None:
            self.controller.start(on_finished=self._frontier_done,
                                  on_lost=lambda: self.shutdown("controller lease lost"))
            # whatever workers with store_writer: controller hand over (any mix of workers)
            self.controller.start_ingest(self.app)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: reactor.callFromThread(self.shutdown, "signal"))
        log.info("service started%s: %d sources, store %s, health http://%s:%s/healthz",
                 f" as {self.controller.describe()}" if self.controller else "",
                 len(self.sources), redact_url(self.settings.store), self.settings.health_host,
                 self.http_port.getHost().port if self.http_port else "-")
        for sid in sorted(firsts, key=firsts.get):
            log.info("source=%s first run %s, then every %ds", sid,
                     firsts[sid].strftime("%H:%M:%S"), int(self.sources[sid].interval))

    def run(self) -> int:
        self.start()
        self.reactor.run(installSignalHandlers=False)
        return 0

    # ------------------------------------------------------------------ jobs (APScheduler runs
    # them in the reactor's thread pool; crawls must start on the reactor thread)
    def _due(self, source_id: str) -> None:
        self.reactor.callFromThread(self.crawl, source_id)

    def _due_alerts(self) -> None:
        self.reactor.callFromThread(self.dispatch_alerts)

    def _due_digests(self) -> None:
        self.reactor.callFromThread(self.run_digests)

    def crawl(self, source_id: str) -> None:
        """A source is due: queue it; due sources are started together, one crawler per kind
        (see ``crawler.crawl.batches``), so 500 idle sources do not cost 500 crawlers."""
        if self._stopping:
            return
        if self.controller is not None:
            self._submit(source_id)
            return
        if source_id in self.running:
            log.info("source=%s still crawling; this run is skipped (coalesced)", source_id)
            return
        self.pending.add(source_id)
        if self._drain_call is None or not self._drain_call.active():
            self._drain_call = self.reactor.callLater(self.batch_window, self._drain)

    def _drain(self) -> None:
        from crawler.crawl import batches
        due = [self.sources[sid] for sid in sorted(self.pending) if sid not in self.running]
        self.pending.clear()
        started = _utc()
        for batch in batches(due):
            ids = [s.id for s in batch]
            crawler = self.driver.prepare(batch)
            for sid in ids:
                self.running[sid] = crawler
                job = self.scheduler.get_job(f"crawl:{sid}") if self.scheduler else None
                next_run = job.next_run_time if job is not None else started + timedelta(
                    seconds=self.sources[sid].interval)
                self.store.save_next_run(sid, _utc(next_run).isoformat(), started.isoformat())
            d = self.driver.start(crawler, batch)
            d.addBoth(self._crawl_done, ids, crawler, started)

    def _crawl_done(self, result: Any, ids: list[str], crawler: Any, started: datetime) -> None:
        from crawler.counters import source_counts
        stats = crawler.stats.get_stats() if crawler.stats else {}
        took = (_utc() - started).total_seconds()
        for sid in ids:
            self.running.pop(sid, None)
            counts = source_counts(stats, sid)
            log.info("source=%s crawl done in %.1fs: new=%s updated=%s errors=%s", sid, took,
                     counts["new"], counts["updated"], counts["errors"])
        if hasattr(result, "getErrorMessage"):
            log.error("crawl of %s failed: %s", ",".join(ids), result.getErrorMessage())
        if stats.get("chavder/store_unusable"):
            log.error("crawl of %s stopped: %s", ",".join(ids), stats["chavder/store_unusable"])
        if not self._stopping:
            self.dispatch_alerts()

    def _submit(self, source_id: str) -> None:
        """Controller: the due source's job goes on the frontier for the workers."""
        if self.controller.submit(source_id):
            job = self.scheduler.get_job(f"crawl:{source_id}") if self.scheduler else None
            started = _utc()
            next_run = job.next_run_time if job is not None else started + timedelta(
                seconds=self.sources[source_id].interval)
            self.store.save_next_run(source_id, _utc(next_run).isoformat(), started.isoformat())

    def _frontier_done(self, finished: list[Any]) -> None:
        for job in finished:
            log.info("source=%s crawl done in %.1fs: job %s, %d article(s) fetched by the "
                     "workers%s", job.source, job.seconds, job.job, job.enqueued,
                     " (incomplete: its index is read in full next time)" if job.incomplete
                     else "")
        if not self._stopping:
            self.dispatch_alerts()

    def dispatch_alerts(self) -> None:
        if self.alerting is not None and not self._stopping:
            jobs.deliver_alerts(self.app)

    def run_digests(self) -> None:
        if self.digests is not None and not self._stopping:
            jobs.deliver_digests(self.app)

    # ------------------------------------------------------------------ health and metrics
    def _start_health_server(self) -> None:
        if self.health_port is None or self.health_port < 0:
            return
        from twisted.web import resource, server

        service = self

        class Health(resource.Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                path = request.path.decode()
                if path == "/metrics":
                    request.setHeader(b"Content-Type", b"text/plain; version=0.0.4")
                    return service.metrics_text().encode()
                if path == "/healthz":
                    request.setHeader(b"Content-Type", b"application/json")
                    body = service.health()
                    request.setResponseCode(200 if body["status"] == "ok" else 503)
                    return json.dumps(body).encode()
                request.setResponseCode(404)
                return b"not found\n"

        from twisted.internet.error import CannotListenError
        try:
            self.http_port = self.reactor.listenTCP(self.health_port, server.Site(Health()),
                                                    interface=self.settings.health_host)
        except CannotListenError as exc:
            raise ServiceRefused(
                f"health port {self.settings.health_host}:{self.health_port} cannot be used "
                f"({exc.socketError}) — another program (or another `chavder run`) has it; "
                "set health_port in chavder.yaml or pass --health-port (0 = any free port, "
                "-1 = off)") from None

    def _start_web(self) -> None:
        """The web interface on a thread of its own (uvicorn; its own read-only store
        connection), when ``web_port`` is not -1."""
        if self.settings.web_port < 0:
            return
        from crawler.web.server import WebRefused, start_thread
        try:
            self.web = start_thread(self.settings, self.settings.web_host,
                                    self.settings.web_port)
        except WebRefused as exc:
            raise ServiceRefused(str(exc)) from None

    def health_url(self) -> str | None:
        """Where /healthz answers (the port actually bound), or None when it is off."""
        if self.http_port is None:
            return None
        host = self.settings.health_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.http_port.getHost().port}/healthz"

    def health(self) -> dict:
        ok = not self._stopping and self.scheduler is not None and self.scheduler.running
        running = self.controller.running() if self.controller else sorted(self.running)
        return {"status": "ok" if ok else "stopping",
                "uptime_seconds": int(time.time() - self._started_at),
                "running_crawls": running, "sources": len(self.sources)}

    def metrics_text(self) -> str:
        from prometheus_client import CollectorRegistry, Gauge, generate_latest
        reg = CollectorRegistry()
        snap = self.store.metrics_snapshot()
        articles = Gauge("chavder_articles_stored", "Articles in the store",
                         ["source", "language"], registry=reg)
        for source, lang, n in snap["articles"]:
            articles.labels(source, lang).set(n)
        errors = Gauge("chavder_fetch_errors", "Fetch/extraction errors recorded",
                       ["source", "reason"], registry=reg)
        grouped: dict[tuple[str, str], int] = {}
        for source, reason, n in snap["fetch_errors"]:
            key = (source, classify_reason(reason))
            grouped[key] = grouped.get(key, 0) + n
        for (source, reason), n in grouped.items():
            errors.labels(source, reason).set(n)
        alerts = Gauge("chavder_alerts", "Alert ledger rows by state", ["state"], registry=reg)
        for state, n in snap["alerts"]:
            alerts.labels(state).set(n)
        digests = Gauge("chavder_digests", "Digest ledger rows by state", ["state"],
                        registry=reg)
        for state, n in snap["digests"]:
            digests.labels(state).set(n)
        last = Gauge("chavder_last_crawl_timestamp_seconds", "Last finished crawl per source",
                     ["source"], registry=reg)
        for source, finished in snap["last_crawl"]:
            parsed = _parse(finished)
            if parsed:
                last.labels(source).set(parsed.timestamp())
        queue = Gauge("chavder_queue_length", "Work waiting", ["queue"], registry=reg)
        queue.labels("alerts_pending").set(sum(n for s, n in snap["alerts"]
                                               if s in ("pending", "sending")))
        queue.labels("crawls_running").set(len(self.running))
        if self.controller is not None:   # the scale-out frontier: queued jobs and URLs
            for name, size in self.controller.sizes().items():
                queue.labels(f"frontier_{name}").set(size)
        spool = getattr(self.store, "spool_size", None)
        if callable(spool):
            queue.labels("index_spool").set(spool())
        return generate_latest(reg).decode()

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, reason: str = "signal") -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("stopping (%s): no new crawls; %d running crawl(s) asked to stop",
                 reason, len(self.running))
        deadline = self.settings.shutdown_timeout
        try:
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=False)
        except Exception:  # noqa: BLE001
            log.exception("scheduler shutdown")
        from twisted.internet import defer
        stopping = self.driver.stop() if self.driver else defer.succeed(None)
        timer = self.reactor.callLater(max(1.0, deadline - 2.0), self._finish, "timeout")
        stopping.addBoth(lambda _: (timer.cancel() if timer.active() else None,
                                    self._finish("clean")))

    def _finish(self, how: str) -> None:
        if getattr(self, "_finished", False):
            return
        self._finished = True
        if self.controller is not None:
            self.controller.close()   # the lease goes: a successor need not wait it out
        if self.web is not None:
            self.web.stop()
        try:
            self.app.close()
        except Exception:  # noqa: BLE001
            log.exception("closing the store")
        if self._run_lock is not None:
            self._run_lock.close()   # releases the flock: a new service may start now
            self._run_lock = None
        log.info("stopped (%s)", how)
        if self.reactor.running:
            self.reactor.stop()
