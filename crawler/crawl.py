"""The one crawl driver: ``chavder crawl``, ``chavder demo``, the service and the benchmarks all
start their crawls through :class:`CrawlDriver`.

The driver groups sources into batches (one Scrapy crawler per kind and batch), creates each
crawler on one runner — a ``CrawlerProcess`` for a blocking run (:func:`run_crawl`), a
``CrawlerRunner`` in an already running reactor (the service, :func:`run_cycles`) — and
attaches the application object to it (``crawler.chavder``) before Scrapy builds the spider
and its components, which read it in ``from_crawler`` (``crawler.appref.app_of``: components
never import this driver). Scrapy settings carry plain values only.

Nothing here imports Scrapy or Twisted at module level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from crawler import defaults
from crawler.config import Settings, SourceConfig
from crawler.counters import COUNTERS, source_counts  # noqa: F401 - callers may import it here

if TYPE_CHECKING:  # pragma: no cover - types only
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings as ScrapySettings
    from twisted.internet.defer import Deferred

    from crawler.alerting import DispatchReport
    from crawler.app import Chavder



@dataclass
class CrawlSummary:
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    finish_reasons: dict[str, str] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # seconds per stage
    unexpected_errors: int = 0   # exceptions Scrapy caught (crawler.unexpected): exit status 1
    store_fault: Exception | None = None   # StoreUnusable that stopped the crawl, if any
    alerts: "DispatchReport | None" = None  # delivery during and after it (crawl_once)

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(c.get(k, 0) for c in self.per_source.values()) for k in COUNTERS}

    def table(self) -> str:
        header = ["source"] + list(COUNTERS)
        rows = [[sid] + [str(c[k]) for k in COUNTERS] for sid, c in self.per_source.items()]
        rows.append(["TOTAL"] + [str(v) for v in self.totals.values()])
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(r, widths)))
        return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def summarise(crawlers: dict[str, "Crawler"]) -> CrawlSummary:
    """Per-source counters, finish reasons and stage timings of finished crawlers."""
    from crawler.unexpected import STAT, store_fault_of
    summary = CrawlSummary()
    for sid, crawler in crawlers.items():
        summary.store_fault = summary.store_fault or store_fault_of(crawler)
        stats = crawler.stats.get_stats() if crawler.stats else {}
        summary.per_source[sid] = source_counts(stats, sid)
        summary.finish_reasons[sid] = str(stats.get("chavder/finish_reason", "not started"))
        summary.timings[sid] = {stage: float(stats.get(f"chavder/source/{sid}/seconds/{stage}",
                                                       0.0)) for stage in ("extract", "store")}
    summary.unexpected_errors = sum(int(c.stats.get_value(STAT, 0)) for c in
                                    {id(c): c for c in crawlers.values()}.values() if c.stats)
    return summary


def batches(sources: Sequence[SourceConfig],
            size: int = defaults.SOURCES_PER_CRAWLER) -> list[list[SourceConfig]]:
    """Sources grouped by kind, at most ``size`` per crawler: one Scrapy crawler costs ~10 ms
    of CPU to build, so an idle cycle over hundreds of sources must not build one per source."""
    by_kind: dict[str, list[SourceConfig]] = {}
    for source in sources:
        by_kind.setdefault(source.kind, []).append(source)
    return [group[i:i + size] for group in by_kind.values() for i in range(0, len(group), size)]


def scrapy_settings(settings: Settings,
                    overrides: dict[str, Any] | None = None) -> "ScrapySettings":
    """Scrapy settings for Chavder crawls: ``crawler.settings`` + chavder.yaml + overrides.
    Plain values only — the application reaches components through ``crawler.chavder``."""
    from scrapy.utils.project import get_project_settings
    conf = get_project_settings()
    conf.setmodule("crawler.settings", priority="project")
    for key, value in (("USER_AGENT", settings.resolved_user_agent),
                       ("CONCURRENT_REQUESTS_PER_DOMAIN", settings.concurrent_per_domain),
                       ("DOWNLOAD_TIMEOUT", settings.download_timeout),
                       ("DOWNLOAD_MAXSIZE", settings.max_body_bytes),
                       ("LOG_INSTALL_ROOT_HANDLER", False),
                       *(overrides or {}).items()):
        conf.set(key, value, priority="cmdline")
    return conf


# --------------------------------------------------------------------------- the driver

class CrawlDriver:
    """Crawls of ``app``'s sources on one Scrapy runner.

    ``process=True``: a ``CrawlerProcess`` that :func:`run_crawl` starts and that blocks until
    every crawl is done (Ctrl-C stops it gracefully). Otherwise a ``CrawlerRunner`` in the
    reactor the caller runs (the service). ``max_concurrent``: at most this many crawlers at
    once (0: no limit)."""

    def __init__(self, app: Chavder, *, overrides: dict[str, Any] | None = None,
                 process: bool = False, max_concurrent: int = 0):
        from scrapy.crawler import CrawlerProcess, CrawlerRunner

        from crawler.logs import apply_logger_levels
        conf = scrapy_settings(app.settings, overrides)
        if not process:
            from scrapy.utils.reactor import install_reactor
            install_reactor(conf.get("TWISTED_REACTOR"))
        self.runner = CrawlerProcess(conf) if process else CrawlerRunner(conf)
        apply_logger_levels()   # the runner re-applies Scrapy's own logger levels
        self.app = app
        # built before the first crawl, once per process, shared by every crawler (a bad
        # alerts file is refused here, not in a pipeline)
        app.resolver, app.robots, app.alerting  # noqa: B018
        self.stopping = False
        self._slots: Any = None
        if max_concurrent > 0:
            from twisted.internet.defer import DeferredSemaphore
            self._slots = DeferredSemaphore(max_concurrent)

    def prepare(self, batch: Sequence[SourceConfig]) -> "Crawler":
        """A crawler for one batch (sources of one kind), the application attached."""
        from crawler.spiders import SPIDERS_BY_KIND
        crawler = self.runner.create_crawler(SPIDERS_BY_KIND[batch[0].kind])
        crawler.chavder = self.app
        return crawler

    def start(self, crawler: "Crawler", batch: Sequence[SourceConfig]) -> "Deferred":
        """Run ``crawler`` over ``batch`` when a slot is free (not at all once stopping)."""
        from twisted.internet.defer import maybeDeferred
        ids = ",".join(s.id for s in batch)

        def run() -> Any:
            if self.stopping:
                return None
            return self.runner.crawl(crawler, sources=ids)

        return self._slots.run(run) if self._slots is not None else maybeDeferred(run)

    def schedule(self, sources: Sequence[SourceConfig]
                 ) -> tuple[dict[str, "Crawler"], list["Deferred"]]:
        """Start every batch of ``sources``: their crawlers by source id, and one Deferred
        per crawler."""
        crawlers: dict[str, Crawler] = {}
        started = []
        for batch in batches(sources):
            crawler = self.prepare(batch)
            crawlers.update({s.id: crawler for s in batch})
            started.append(self.start(crawler, batch))
        return crawlers, started

    def crawl(self, sources: Sequence[SourceConfig]) -> "Deferred":
        """Crawl ``sources`` once; fires with their :class:`CrawlSummary`."""
        from twisted.internet.defer import DeferredList
        crawlers, started = self.schedule(sources)
        return DeferredList(started).addCallback(lambda _: summarise(crawlers))

    def stop(self) -> "Deferred":
        """Start no more crawls; ask the running ones to stop (fires when they have)."""
        from twisted.internet.defer import maybeDeferred
        self.stopping = True
        return maybeDeferred(self.runner.stop)


def run_crawl(app: Chavder, sources: Sequence[SourceConfig],
              overrides: dict[str, Any] | None = None) -> CrawlSummary:
    """Crawl ``sources`` once, concurrently, in this process (blocks until done)."""
    driver = CrawlDriver(app, overrides=overrides, process=True)
    crawlers, _started = driver.schedule(sources)
    driver.runner.start()
    return summarise(crawlers)


def crawl_once(app: Chavder, sources: Sequence[SourceConfig] | None = None, *,
               progress_interval: float = defaults.PROGRESS_INTERVAL,
               overrides: dict[str, Any] | None = None) -> CrawlSummary:
    """Crawl ``sources`` (default: every enabled one of ``app``) once, then deliver the alerts
    that are due — what ``chavder crawl`` and ``chavder demo`` do. Blocks until done (it runs
    the Twisted reactor, so once per process). A store that became unusable during the crawl
    is raised (``StoreUnusable``) after the crawl. (Here, not a method of the application: the
    application is below the driver, which assembles the components that read it.)

    Alerts go out during the crawl too (``alert_sweep_seconds`` after their article is stored,
    crawler/pipelines.py ``AlertPipeline``); the summary counts those and the ones delivered
    after it, each once (``app.crawl_alerts``)."""
    from crawler.alerting import DispatchReport
    app.crawl_alerts = DispatchReport()
    try:
        summary = run_crawl(app, list(app.select() if sources is None else sources),
                            {"CHAVDER_PROGRESS_INTERVAL": progress_interval,
                             "CHAVDER_DELIVER_ALERTS": True, **(overrides or {})})
        if summary.store_fault is not None:
            raise summary.store_fault
        summary.alerts = app.dispatch_alerts(app.crawl_alerts)
    finally:
        app.crawl_alerts = None
    return summary


def run_cycles(app: Chavder, sources: Sequence[SourceConfig], cycles: int, *,
               concurrency: int = 8, overrides: dict[str, Any] | None = None,
               on_cycle: Callable[[int, dict[str, Any]], Any] | None = None
               ) -> list[dict[str, Any]]:
    """Crawl every source ``cycles`` times in ONE reactor, as the service does (benchmarks:
    idle cost, soak). ``on_cycle(n, totals)`` is called after each cycle. Returns per-cycle
    totals: requests, extracted, new, not_modified, errors, cpu_seconds, wall_seconds."""
    import resource
    import time

    driver = CrawlDriver(app, overrides={"CHAVDER_PROGRESS_INTERVAL": 0, **(overrides or {})},
                         max_concurrent=concurrency)
    from twisted.internet import defer, reactor
    results: list[dict[str, Any]] = []

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @defer.inlineCallbacks
    def main() -> Any:
        for n in range(cycles):
            cpu0, wall0 = cpu(), time.perf_counter()
            crawlers, started = driver.schedule(sources)
            yield defer.DeferredList(started)
            unique = {id(c): c for c in crawlers.values()}.values()
            totals = {"cycle": n + 1, "cpu_seconds": cpu() - cpu0,
                      "wall_seconds": time.perf_counter() - wall0}
            for key, stat in (("requests", "downloader/request_count"),
                              ("extracted", "chavder/extracted"), ("new", "chavder/new"),
                              ("not_modified", "chavder/not_modified"),
                              ("errors", "chavder/errors")):
                totals[key] = sum(int(c.stats.get_value(stat, 0)) for c in unique)
            results.append(totals)
            if on_cycle is not None:
                on_cycle(n + 1, totals)
        reactor.stop()

    reactor.callWhenRunning(main)
    reactor.run(installSignalHandlers=False)
    return results
