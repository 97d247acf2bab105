"""The values that cross the store seam (results, queries, known articles) and time helpers.

The interfaces themselves — one Protocol per role — are in ``crawler.store.roles``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from crawler.text.dates import parse_iso


@dataclass
class UpsertResult:
    """What storing one article did. ``kind``: new | updated | unchanged."""

    kind: str
    article_id: int
    story_id: int
    revision: int
    change_seq: int | None = None   # the store's change number of this write (not unchanged)


@dataclass
class KnownArticle:
    """What the store remembers about a URL key, for skipping before any request."""

    url_key: str
    content_hash: str
    index_updated_at: str | None   # the feed/sitemap modification time seen at the last fetch
    fetched_at: str


@dataclass
class SearchHit:
    """One search result row (one story unless ``all_copies`` was asked)."""

    article_id: int
    story_id: int
    url: str
    title: str
    source: str
    language: str | None
    published_at: str | None
    excerpt: str                   # the body around the first hit, unmarked
    score: float
    also_reported_by: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)   # the hits, offsets in excerpt

    @property
    def snippet(self) -> str:
        """The excerpt with hits in «», for plain text that cannot mark them otherwise."""
        from crawler.store.query_text import mark_spans
        return mark_spans(self.excerpt, self.spans, "«", "»")

    def to_json(self) -> dict:
        """The JSON row: ``snippet`` unmarked, ``spans`` the hits' [start, end) offsets in it."""
        return {"id": self.article_id, "url": self.url, "title": self.title, "source": self.source,
                "language": self.language, "published_at": self.published_at,
                "snippet": self.excerpt, "spans": [list(s) for s in self.spans],
                "score": round(self.score, 4),
                "story_id": self.story_id, "also_reported_by": self.also_reported_by}


@dataclass
class SearchQuery:
    text: str
    language: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0                # results to skip (pagination), applied after story grouping
    all_copies: bool = False
    sort: str = "relevance"        # or "newest": publication (else first-seen) time first


#: How fetch errors caused by our own store (disk full, locked) begin: they say nothing about
#: the article, so they never delay its next fetch.
STORE_FAULT_PREFIX = "not stored: the store refused the write"


def utc_iso(value: datetime | None) -> str | None:
    """A datetime (naive means UTC) → UTC ISO string, whole seconds; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def to_utc_iso(value: str | None) -> str | None:
    """ISO string with any offset → UTC ISO string (for ordering); None stays None."""
    parsed = parse_iso(value)
    if parsed is None:
        return None
    return parsed.astimezone(timezone.utc).replace(microsecond=0).isoformat()
