"""Per-crawler shared objects (store, source list), built once from the crawler's settings.

Spiders and pipelines both call ``runtime_for(crawler)``; nothing lives in module globals, so the
service can run many crawlers in one process, each with its own or a shared store.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.config import Settings, SourceConfig, load_settings, load_sources
from crawler.store import Store, open_store

_ATTR = "_chavder_runtime"


@dataclass
class Runtime:
    store: Store
    sources: dict[str, SourceConfig]
    owns_store: bool
    settings: Settings
    _alerting: Any = None
    _alerting_loaded: bool = False
    _resolver: Any = None
    #: the StoreUnusable that stopped this crawl (corrupt or read-only store), if any
    store_fault: Any = None

    def store_unusable(self, crawler: Any, fault: Exception) -> None:
        """The store cannot be used (``StoreUnusable``): stop the crawl — every further write
        would fail the same way — and keep the fault for whoever reports the run (the CLI
        prints it as one line, the service logs it)."""
        if self.store_fault is not None:
            return
        self.store_fault = fault
        if crawler.stats is not None:
            crawler.stats.set_value("chavder/store_unusable", str(fault))
        engine = getattr(crawler, "engine", None)
        if engine is not None and getattr(engine, "spider", None) is not None:
            from scrapy.utils.defer import deferred_from_coro
            deferred_from_coro(engine.close_spider_async(reason="store_unusable"))

    @property
    def resolver(self) -> Any:
        """The story resolver (crawler.dedup.StoryResolver), its index rebuilt from the store."""
        if self._resolver is None:
            self._resolver = build_resolver(self.store)
        return self._resolver

    @property
    def alerting(self) -> Any:
        """The alert matcher/dispatcher (crawler.alerting.Alerting) or None when off."""
        if not self._alerting_loaded:
            from crawler.alerting import Alerting
            self._alerting = Alerting.from_settings(self.settings, self.store,
                                                    self.sources.values())
            self._alerting_loaded = True
        return self._alerting


def store_fault_of(crawler: Any) -> Any:
    """The ``StoreUnusable`` that stopped ``crawler``'s crawl, or None."""
    runtime = getattr(crawler, _ATTR, None)
    return runtime.store_fault if runtime is not None else None


def runtime_for(crawler: Any) -> Runtime:
    runtime = getattr(crawler, _ATTR, None)
    if runtime is not None:
        return runtime
    settings = crawler.settings
    store = settings.get("CHAVDER_STORE_INSTANCE")
    owns = store is None
    if store is None:
        store = open_store(settings.get("CHAVDER_STORE"), settings.get("CHAVDER_DATA_DIR", "data"))
    sources = unshare(settings.get("CHAVDER_SOURCE_OBJECTS"))
    if sources is None:
        sources = {s.id: s for s in load_sources(settings.get("CHAVDER_SOURCES"))}
    chavder_settings = unshare(settings.get("CHAVDER_SETTINGS_OBJECT")) or load_settings()
    runtime = Runtime(store=store, sources=dict(sources), owns_store=owns,
                      settings=chavder_settings)
    runtime._resolver = settings.get("CHAVDER_RESOLVER_INSTANCE")
    shared = settings.get("CHAVDER_ALERTING_INSTANCE")
    if shared is not None:
        runtime._alerting, runtime._alerting_loaded = shared, True
    setattr(crawler, _ATTR, runtime)
    _stop_on_unusable_store(crawler, runtime)
    if owns:
        from scrapy import signals
        crawler.signals.connect(lambda: store.close(), signal=signals.engine_stopped, weak=False)
    return runtime


def _stop_on_unusable_store(crawler: Any, runtime: Runtime) -> None:
    """A ``StoreUnusable`` raised in a spider callback or an item pipeline stops the crawl
    (``Runtime.store_unusable``) instead of failing once per page."""
    from scrapy import signals

    from crawler.store.faults import StoreUnusable

    def on_error(failure: Any, *args: Any, **kwargs: Any) -> None:
        if failure.check(StoreUnusable):
            runtime.store_unusable(crawler, failure.value)

    crawler.signals.connect(on_error, signal=signals.spider_error, weak=False)
    crawler.signals.connect(on_error, signal=signals.item_error, weak=False)


class Shared:
    """A value passed to every crawler through Scrapy settings by reference: Scrapy deep-copies
    settings per crawler, which for the full source list costs O(sources²) per cycle."""

    def __init__(self, value: Any):
        self.value = value

    def __deepcopy__(self, memo: dict) -> "Shared":
        return self


def unshare(value: Any) -> Any:
    return value.value if isinstance(value, Shared) else value


class _SharedResolver:
    """Wraps a StoryResolver so Scrapy's per-crawler settings copies all share it."""

    def __init__(self, resolver: Any):
        self.resolver = resolver

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolver, name)

    def __deepcopy__(self, memo: dict) -> "_SharedResolver":
        return self


def build_resolver(store: Store, window_days: float = 30.0) -> Any:
    """A StoryResolver over ``store`` with its near-duplicate index rebuilt from the window.

    Rebuilding from stored signatures takes ~6 s per million articles, so it is done once per
    process and shared by every crawler in it.
    """
    import logging
    import time

    from crawler.dedup.index import NearDuplicateIndex
    from crawler.dedup.stories import DedupConfig, StoryResolver

    config = DedupConfig(window_days=window_days)
    started = time.perf_counter()
    # the change number first: whatever is stored after it is caught up by StoryResolver.sync
    seen_seq = store.story_seq() if hasattr(store, "story_seq") else 0
    rows = store.signature_rows(time.time() - window_days * 86400)
    index = NearDuplicateIndex.from_rows(rows, threshold=config.lsh_threshold,
                                         num_perm=config.num_perm,
                                         window_days=config.window_days, k=config.k)
    logging.getLogger("chavder.dedup").debug(
        "dedup index rebuilt: %d articles in %.2f s", len(index), time.perf_counter() - started)
    return _SharedResolver(StoryResolver(store, config, index=index, seen_seq=seen_seq))
