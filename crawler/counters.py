"""The per-source counters a crawl keeps in Scrapy stats (``chavder/NAME`` in total and
``chavder/source/ID/NAME`` per source): written by the spiders and pipelines (:func:`count`),
read by the crawl report, the crawl driver's summary and the service (:func:`source_counts`).

Apart from both sides so that components and the driver share the names without importing
each other.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only
    from scrapy.crawler import Crawler

COUNTERS = ("fetched", "new", "updated", "unchanged", "skipped_known", "not_modified", "errors")


def count(crawler: "Crawler", source: str, name: str, value: float = 1) -> None:
    """Increment a counter in total (``chavder/NAME``) and per source."""
    crawler.stats.inc_value(f"chavder/{name}", value)
    crawler.stats.inc_value(f"chavder/source/{source}/{name}", value)


def source_counts(stats: dict[str, Any], source: str | None = None) -> dict[str, int]:
    """The counters the CLI prints, for one source (or the whole crawler) from Scrapy stats."""
    prefix = f"chavder/source/{source}/" if source else "chavder/"
    return {name: int(stats.get(prefix + name, 0)) for name in COUNTERS}
