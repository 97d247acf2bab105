"""The application object: one :class:`Chavder` per process owns what every part shares.

The CLI, the service (``scheduler/service.py``), the benchmarks and the tests all build it the
same way — ``Chavder.from_config(...)`` — and hand it to the crawl driver
(``crawler.crawl``), which attaches it to every Scrapy crawler it creates
(``crawler.chavder``). Spiders, pipelines, middlewares and extensions read it there in
``from_crawler``; nothing live travels through Scrapy settings (which Scrapy copies per
crawler). What belongs to one crawl (counters, the store fault that stopped it) stays on that
crawler (``crawler.stats``, ``crawler.unexpected.StoreGuard``).

Everything is built lazily and once: the store is opened on first use, the dedup index is
rebuilt from it once per process (~6 s per million articles), the alert rules are compiled
once. Importing this module imports neither Scrapy nor Twisted, so commands that never crawl
start fast. The application knows nothing of the crawl driver above it: crawling it is
``crawler.crawl.crawl_once(app)``.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from crawler import defaults
from crawler.config import Settings, SourceConfig, load_settings, load_sources

if TYPE_CHECKING:  # pragma: no cover - types only
    from crawler.dedup.stories import StoryResolver
    from crawler.robots_cache import RobotsCache
    from crawler.store import Store
    from crawler.alerting import Alerting, DispatchReport
    from crawler.digests import Digests

log = logging.getLogger("chavder")

_UNBUILT: Any = object()


class UnknownSource(LookupError):
    """Source ids that are not in the source list; the message names them and the known."""


class Chavder:
    """Settings, sources, store, dedup resolver, alerting, digests and robots cache of one
    process. Use as a context manager (or call :meth:`close`): a store it opened is closed;
    a store it was given belongs to the caller."""

    def __init__(self, settings: Settings | None = None,
                 sources: Iterable[SourceConfig] | None = None, *,
                 store: "Store | None" = None, only_enabled: bool = False, write: bool = True):
        self.settings = settings if settings is not None else Settings()
        self._sources = list(sources) if sources is not None else None
        self._by_id: dict[str, SourceConfig] | None = None
        self._only_enabled = only_enabled
        self._write = write
        self._store = store
        self._owns_store = store is None
        self._resolver: Any = None
        self._alerting: Any = _UNBUILT
        self._digests: Any = _UNBUILT
        self._robots: Any = None
        #: the deliveries of the crawl in progress (:meth:`crawl`): its sweeps count into it
        self.crawl_alerts: "DispatchReport | None" = None

    @classmethod
    def from_config(cls, settings_path: str | Path | None = None,
                    sources_path: str | Path | None = None, *, store_url: str | None = None,
                    settings: Settings | None = None,
                    sources: Iterable[SourceConfig] | None = None, store: "Store | None" = None,
                    only_enabled: bool = False, write: bool = True) -> "Chavder":
        """The application as configured: ``settings`` (or ``settings_path``, else
        ``$CHAVDER_CONFIG``, else ``chavder.yaml`` if present, else the defaults), with
        ``sources_path`` / ``store_url`` replacing the file's ``sources:`` / ``store:``.
        ``sources``: this list instead of the source file; ``only_enabled``: drop disabled
        sources when reading the file; ``store``: an open store to use (the caller closes it);
        ``write=False``: open the store for reading only (search, status)."""
        if settings is None:
            settings = load_settings(settings_path)
        if sources_path is not None:
            settings.sources = str(sources_path)
        if store_url is not None:
            settings.store = store_url
        return cls(settings, sources, store=store, only_enabled=only_enabled, write=write)

    # ------------------------------------------------------------------ what it owns
    @property
    def sources(self) -> list[SourceConfig]:
        """The source list (read from ``settings.sources`` on first use)."""
        if self._sources is None:
            self._sources = load_sources(self.settings.sources, only_enabled=self._only_enabled)
        return self._sources

    @property
    def sources_by_id(self) -> dict[str, SourceConfig]:
        """The sources by id (built once: pipelines look a source up per item)."""
        if self._by_id is None:
            self._by_id = {s.id: s for s in self.sources}
        return self._by_id

    def known_sources(self) -> list[SourceConfig]:
        """The sources, or none when there is no source file (commands that only read)."""
        if self._sources is None and not Path(self.settings.sources).exists():
            return []
        return self.sources

    @property
    def store(self) -> "Store":
        """The configured store, opened on first use. An unusable file raises
        ``StoreUnusable`` (the CLI prints it as one line)."""
        if self._store is None:
            from crawler.store import open_store
            self._store = open_store(self.settings.store, self.settings.data_dir,
                                     write=self._write,
                                     revision_text_keep=self.settings.revision_text_keep)
        return self._store

    @property
    def resolver(self) -> "StoryResolver":
        """The dedup story resolver over the store, its index rebuilt once per process."""
        if self._resolver is None:
            self._resolver = build_resolver(self.store)
        return self._resolver

    def forget_resolver(self) -> None:
        """Drop the resolver (its index may hold articles a failed write batch never stored):
        the next use rebuilds it from the store."""
        self._resolver = None

    @property
    def alerting(self) -> "Alerting | None":
        """The alert matcher and dispatcher, or None when there is no alerts file."""
        if self._alerting is _UNBUILT:
            from crawler.alerting import Alerting
            self._alerting = Alerting.from_settings(self.settings, self.store,
                                                    self.known_sources())
        return self._alerting

    @property
    def digests(self) -> "Digests | None":
        """The digest runner, or None when no rule asks for digests."""
        if self._digests is _UNBUILT:
            from crawler.digests import Digests
            self._digests = Digests.from_settings(self.settings, self.store,
                                                  self.known_sources())
        return self._digests

    @property
    def robots(self) -> "RobotsCache":
        """Parsed robots.txt per host, shared by every crawler of the process."""
        if self._robots is None:
            from crawler.robots_cache import RobotsCache
            self._robots = RobotsCache()
        return self._robots

    # ------------------------------------------------------------------ what it does
    def select(self, ids: Sequence[str] | None = None) -> list[SourceConfig]:
        """The sources called ``ids`` (:class:`UnknownSource` naming the unknown ones and the
        known), or every enabled source."""
        if not ids:
            return [s for s in self.sources if s.enabled]
        by_id = self.sources_by_id
        unknown = [sid for sid in ids if sid not in by_id]
        if unknown:
            raise UnknownSource(f"unknown source id(s): {', '.join(unknown)} — known: "
                           f"{', '.join(sorted(by_id))}")
        return [by_id[sid] for sid in ids]

    def dispatch_alerts(self, report: "DispatchReport | None" = None
                        ) -> "DispatchReport | None":
        """Queue the alerts of articles not matched yet, then deliver the due ones (after a
        crawl — ``crawler.crawl.crawl_once`` —, on the service's timer, ``chavder alerts
        send``), counted into ``report`` if given. None when alerts are off."""
        alerting = self.alerting
        if alerting is None:
            return None
        alerting.check_pending()
        return alerting.dispatch_due(report=report)

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        """Close the store if this object opened it (idempotent)."""
        if self._store is not None and self._owns_store:
            store, self._store = self._store, None
            store.close()

    def __enter__(self) -> "Chavder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def build_resolver(store: "Store",
                   window_days: float = defaults.DEDUP_WINDOW_DAYS) -> "StoryResolver":
    """A StoryResolver over ``store`` with its near-duplicate index rebuilt from the window."""
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
    return StoryResolver(store, config, index=index, seen_seq=seen_seq)
