"""Result records of index-page parsing, and the bounded problem log they carry."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from crawler.models import LinkHint


class UnsafeXMLError(ValueError):
    """The document tries something no news feed or sitemap needs (entity expansion, external
    entities, parameter entities) and was refused before any entity was expanded."""


@dataclass
class FeedResult:
    """Entries of one RSS/RDF/Atom document, in document order, de-duplicated by URL."""

    entries: list[LinkHint] = field(default_factory=list)
    title: str | None = None
    problems: list[str] = field(default_factory=list)
    truncated: bool = False          # more than ``max_items`` entries (or the gzip cap) was hit
    kind: str | None = None          # "rss2.0", "rss0.91", "rdf", "atom1.0", "atom0.3", …
    language: str | None = None      # channel/feed language, normalised (see values.language)


@dataclass
class SitemapResult:
    """Child sitemaps (index) and page URLs (urlset) of one sitemap document."""

    sitemaps: list[LinkHint] = field(default_factory=list)
    urls: list[LinkHint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    truncated: bool = False
    kind: str | None = None          # "sitemapindex", "urlset", "text" or "feed"


@dataclass
class ListingResult:
    """Article links and pagination links found on one HTML listing page."""

    articles: list[LinkHint] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class ProblemLog:
    """Collects problem strings, merging repeats and capping the total.

    A broken feed with 100k bad items must not produce 100k strings: identical messages are
    counted once ("… (x37)") and at most ``limit`` distinct messages are kept.
    """

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self._counts: Counter[str] = Counter()
        self._dropped = 0

    def add(self, message: str) -> None:
        if message in self._counts or len(self._counts) < self.limit:
            self._counts[message] += 1
        else:
            self._dropped += 1

    def __bool__(self) -> bool:
        return bool(self._counts)

    def as_list(self) -> list[str]:
        out = [m if n == 1 else f"{m} (x{n})" for m, n in self._counts.items()]
        if self._dropped:
            out.append(f"{self._dropped} further problems not listed")
        return out
