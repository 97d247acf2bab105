"""Run crawls of chosen sources in one Scrapy process and summarise them.

Used by ``chavder crawl``, ``chavder demo`` and the benchmarks. (The long-running service uses
``CrawlerRunner`` in its own reactor; see ``scheduler/``.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings as ScrapySettings
from scrapy.utils.project import get_project_settings

from crawler.config import Settings, SourceConfig
from crawler.extensions import COUNTERS, source_counts
from crawler.logs import apply_logger_levels
from crawler.store import Store


@dataclass
class CrawlSummary:
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    finish_reasons: dict[str, str] = field(default_factory=dict)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # seconds per stage
    unexpected_errors: int = 0   # exceptions Scrapy caught (crawler.unexpected): exit status 1
    store_fault: Exception | None = None   # StoreUnusable that stopped the crawl, if any

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


def scrapy_settings(settings: Settings, store: Store, sources: Sequence[SourceConfig],
                    overrides: dict[str, Any] | None = None,
                    alerting: Any = None) -> ScrapySettings:
    """Scrapy settings for Chavder crawls: project defaults + chavder.yaml + overrides."""
    scrapy_conf = get_project_settings()
    scrapy_conf.setmodule("crawler.settings", priority="project")
    scrapy_conf.set("USER_AGENT", settings.resolved_user_agent, priority="cmdline")
    scrapy_conf.set("CONCURRENT_REQUESTS_PER_DOMAIN", settings.concurrent_per_domain,
                    priority="cmdline")
    scrapy_conf.set("DOWNLOAD_TIMEOUT", settings.download_timeout, priority="cmdline")
    scrapy_conf.set("DOWNLOAD_MAXSIZE", settings.max_body_bytes, priority="cmdline")
    scrapy_conf.set("CHAVDER_STORE_INSTANCE", store, priority="cmdline")
    from crawler.runtime import Shared
    scrapy_conf.set("CHAVDER_SOURCE_OBJECTS", Shared({s.id: s for s in sources}),
                    priority="cmdline")
    scrapy_conf.set("CHAVDER_SETTINGS_OBJECT", Shared(settings), priority="cmdline")
    if alerting is not None:
        scrapy_conf.set("CHAVDER_ALERTING_INSTANCE", alerting, priority="cmdline")
    from crawler.robots import RobotsCache
    from crawler.runtime import build_resolver
    scrapy_conf.set("CHAVDER_RESOLVER_INSTANCE", build_resolver(store), priority="cmdline")
    scrapy_conf.set("CHAVDER_ROBOTS_CACHE", RobotsCache(), priority="cmdline")
    for key, value in (overrides or {}).items():
        scrapy_conf.set(key, value, priority="cmdline")
    return scrapy_conf


def run_crawl(settings: Settings, store: Store, sources: Sequence[SourceConfig],
              overrides: dict[str, Any] | None = None, alerting: Any = None) -> CrawlSummary:
    """Crawl ``sources`` once, concurrently, in this process (blocks until done)."""
    from crawler.spiders import SPIDERS_BY_KIND

    conf = scrapy_settings(settings, store, sources, overrides, alerting)
    conf.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(conf)
    apply_logger_levels()  # CrawlerProcess re-applies Scrapy's own logger levels
    crawlers = {}
    for batch in batches(sources):
        crawler = process.create_crawler(SPIDERS_BY_KIND[batch[0].kind])
        for source in batch:
            crawlers[source.id] = crawler
        process.crawl(crawler, sources=",".join(s.id for s in batch))
    process.start()
    summary = CrawlSummary()
    from crawler.runtime import store_fault_of
    for sid, crawler in crawlers.items():
        summary.store_fault = summary.store_fault or store_fault_of(crawler)
        stats = crawler.stats.get_stats() if crawler.stats else {}
        summary.per_source[sid] = source_counts(stats, sid)
        summary.finish_reasons[sid] = str(stats.get("chavder/finish_reason", "not started"))
        summary.timings[sid] = {stage: float(stats.get(f"chavder/source/{sid}/seconds/{stage}",
                                                       0.0)) for stage in ("extract", "store")}
    from crawler.unexpected import STAT
    summary.unexpected_errors = sum(int(c.stats.get_value(STAT, 0)) for c in
                                    {id(c): c for c in crawlers.values()}.values() if c.stats)
    return summary


def batches(sources: Sequence[SourceConfig], size: int = 50) -> list[list[SourceConfig]]:
    """Sources grouped by kind, at most ``size`` per crawler: one Scrapy crawler costs ~10 ms
    of CPU to build, so an idle cycle over hundreds of sources must not build one per source."""
    by_kind: dict[str, list[SourceConfig]] = {}
    for source in sources:
        by_kind.setdefault(source.kind, []).append(source)
    return [group[i:i + size] for group in by_kind.values() for i in range(0, len(group), size)]


def run_cycles(settings: Settings, store: Store, sources: Sequence[SourceConfig], cycles: int,
               *, concurrency: int = 8, overrides: dict[str, Any] | None = None,
               on_cycle: Any = None) -> list[dict[str, Any]]:
    """Crawl every source ``cycles`` times in ONE reactor with CrawlerRunner, as the service
    does (benchmarks: idle cost, soak). ``on_cycle(n, stats)`` is called after each cycle.
    Returns per-cycle totals: requests, extracted, new, errors, cpu_seconds, wall_seconds."""
    import resource
    import time

    from scrapy.crawler import CrawlerRunner
    from scrapy.utils.reactor import install_reactor

    from crawler.settings import TWISTED_REACTOR

    install_reactor(TWISTED_REACTOR)
    from twisted.internet import defer, reactor

    from crawler.spiders import SPIDERS_BY_KIND

    conf = scrapy_settings(settings, store, sources,
                           {"CHAVDER_PROGRESS_INTERVAL": 0, **(overrides or {})})
    conf.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    runner = CrawlerRunner(conf)
    apply_logger_levels()
    results: list[dict[str, Any]] = []

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    @defer.inlineCallbacks
    def main() -> Any:
        slots = defer.DeferredSemaphore(concurrency)
        for n in range(cycles):
            cpu0, wall0 = cpu(), time.perf_counter()
            crawlers = []

            def one(batch: list[SourceConfig]) -> Any:
                crawler = runner.create_crawler(SPIDERS_BY_KIND[batch[0].kind])
                crawlers.append(crawler)
                return runner.crawl(crawler, sources=",".join(s.id for s in batch))

            yield defer.DeferredList([slots.run(one, b) for b in batches(sources)])
            totals = {"cycle": n + 1, "cpu_seconds": cpu() - cpu0,
                      "wall_seconds": time.perf_counter() - wall0}
            for key, stat in (("requests", "downloader/request_count"),
                              ("extracted", "chavder/extracted"), ("new", "chavder/new"),
                              ("not_modified", "chavder/not_modified"),
                              ("errors", "chavder/errors")):
                totals[key] = sum(int(c.stats.get_value(stat, 0)) for c in crawlers)
            results.append(totals)
            if on_cycle is not None:
                on_cycle(n + 1, totals)
        reactor.stop()

    reactor.callWhenRunning(main)
    reactor.run(installSignalHandlers=False)
    return results
