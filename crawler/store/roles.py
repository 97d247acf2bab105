"""Storage roles: what each part of Chavder needs from the store, one small Protocol each.

A caller types its store by the role it uses (the pipeline an ``ArticleWriter``, the story
resolver a ``StoryLookup``, the alert sweep an ``AlertLedger``…), so what it may touch is
written down and a backend can be checked against it (tests/test_store_roles.py). ``Store``
is their union: what ``open_store`` returns and both backends implement explicitly —
``SQLiteStore`` over its tables, ``ElasticsearchStore`` with search and indexing of its own
and every other role answered by its SQLite sidecar through these same methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ContextManager, Iterable, Protocol, runtime_checkable

from crawler.models import Article
from crawler.store.base import KnownArticle, SearchHit, SearchQuery, UpsertResult

__all__ = ["StoredCopy", "ArticleWriter", "ArticleReader", "StoryLookup", "SharedStoryLookup",
           "StorySignatures", "Search", "CrawlState", "ServiceSchedule", "AlertLedger",
           "DigestLedger", "Admin", "SpooledIndex", "AttentionBucket", "Attention",
           "ArticleRevision", "Revisions", "Store", "ROLES"]


@dataclass(frozen=True)
class StoredCopy:
    """What the store returns about one stored article (for story decisions)."""

    article_id: int
    story_id: int
    fingerprint: str
    content_hash: str | None = None
    published_ts: float | None = None


@runtime_checkable
class ArticleWriter(Protocol):
    """The item pipeline: store one extracted article (insert, update or touch)."""

    def upsert(self, article: Article, url_key: str, aliases: Iterable[str] = (),
               index_updated_at: str | None = None, *, story_id: int | None = None,
               fingerprint: str | None = None, signature: bytes | None = None,
               published_ts: float | None = None) -> UpsertResult: ...


@runtime_checkable
class ArticleReader(Protocol):
    """Spiders (skip known URLs before any request), the CLI and tools: stored articles."""

    def known(self, url_keys: Iterable[str]) -> dict[str, KnownArticle]: ...

    def known_since(self, since: str) -> Iterable[KnownArticle]:
        """Every URL key (canonical and alias) of articles fetched since ``since``."""

    def get_article(self, url_key: str) -> Article | None: ...

    def article_row(self, url_key: str) -> dict | None: ...

    def article_row_by_id(self, article_id: int) -> dict | None: ...

    def iter_articles(self, source: str | None = None, *, after_id: int = 0,
                      limit: int | None = None) -> Iterable[dict]: ...

    def articles_since(self, since: datetime) -> list[dict]: ...

    def recent_articles(self, source: str, limit: int = 20) -> list[dict]:
        """A source's newest articles by first-seen time, without their text."""


@runtime_checkable
class StoryLookup(Protocol):
    """What the story resolver needs (``crawler.dedup.memory.MemoryStories`` is the
    reference)."""

    def by_url_key(self, url_key: str) -> StoredCopy | None:
        """The article stored under this URL key (or an alias of it)."""

    def by_fingerprint(self, fingerprint: str, since_ts: float) -> StoredCopy | None:
        """An article with this body fingerprint published at or after ``since_ts`` (the
        earliest one, so duplicates attach to the story's first copy)."""

    def body_of(self, article_id: int) -> tuple[str, str | None] | None:
        """``(body, language)`` of a stored article, for exact verification."""


@runtime_checkable
class SharedStoryLookup(StoryLookup, Protocol):
    """A lookup that other processes write to as well (the SQLite store, the Elasticsearch
    store's sidecar). Without these methods the resolver assumes it is the only writer."""

    def story_transaction(self) -> ContextManager[Any]:
        """The write transaction ``assign`` decides and stores in (one writer at a time)."""

    def story_seq(self) -> int:
        """The latest change number."""

    def story_changes(self, after_seq: int) -> tuple[list[tuple[int, int, bytes | None, float]],
                                                     int]:
        """``(article_id, story_id, signature, published_ts)`` of articles stored or changed
        after change ``after_seq``, and the latest change number."""


@runtime_checkable
class StorySignatures(Protocol):
    """Start-up of a crawl: the stored signatures the near-duplicate index is rebuilt from."""

    def signature_rows(self, since_ts: float) -> list[tuple[int, int, bytes, float]]: ...


@runtime_checkable
class Search(Protocol):
    """``chavder search``/``story``/``status``, alerts and digests: stories and their outlets."""

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """One page (``offset``, ``limit``) of the matching stories, or copies with
        ``all_copies``."""

    def search_total(self, query: SearchQuery) -> int:
        """How many stories (copies with ``all_copies``) match ``query``, whatever its page:
        what ``search`` pages through."""

    def story(self, story_id: int) -> dict | None: ...

    def story_sources(self, story_id: int) -> list[str]: ...

    def count_articles(self, source: str | None = None) -> int: ...

    def count_stories(self) -> int: ...

    def search_facets(self) -> dict[str, list[str]]: ...


@runtime_checkable
class CrawlState(Protocol):
    """Spiders, middlewares and extensions: HTTP validators, fetch errors (the back-off of
    failing URLs), crawl runs and per-source health."""

    def http_validators(self, url: str) -> tuple[str | None, str | None]: ...

    def save_http_validators(self, url: str, etag: str | None,
                             last_modified: str | None) -> None: ...

    def record_fetch_error(self, source: str, url: str, reason: str) -> None: ...

    def recent_failures(self, urls: Iterable[str], since: str,
                        ignore_prefix: str = "") -> dict[str, tuple[int, str]]: ...

    def fetch_errors(self, source: str | None = None) -> list[dict]: ...

    def record_crawl(self, source: str, started_at: str, finished_at: str,
                     counts: dict[str, int]) -> None: ...

    def source_status(self) -> dict[str, dict]: ...


@runtime_checkable
class ServiceSchedule(Protocol):
    """The service: when each source runs next, kept across restarts."""

    def save_next_run(self, source: str, next_run: str, started: str | None = None) -> None: ...

    def schedule_state(self) -> dict[str, dict]: ...


@runtime_checkable
class AlertLedger(Protocol):
    """Instant alerts: the matching outbox and the claim → send → mark delivery ledger."""

    def articles_to_check(self, limit: int = 500) -> list[dict]: ...

    def record_matches(self, article_id: int, revision: int, story_id: int,
                       instant: Iterable[tuple[str, str, list[str]]],
                       digest: Iterable[tuple[str, str, list[str]]]) -> int: ...

    def due_alerts(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                   ) -> list[dict]: ...

    def alert_claim_owners(self, now: str) -> list[str]: ...

    def claim_alert(self, alert_id: int, owner: str, now: str, lease_until: str,
                    message_id: str | None = None, reclaim_from: Iterable[str] = ()
                    ) -> int | None: ...

    def mark_alert(self, alert_id: int, state: str, *, error: str | None = None,
                   next_attempt_at: str | None = None, owner: str | None = None) -> bool: ...

    def requeue_alerts(self, now: str, *, failed: bool = False) -> dict[str, int]: ...

    def failed_alerts(self, limit: int = 20) -> list[dict]: ...

    def alert_counts(self) -> dict[str, int]: ...

    def alert_rows(self) -> list[dict]: ...

    def recent_alerts(self, limit: int = 20) -> list[dict]:
        """The newest ledger rows with their article's title, newest first."""

    def alert_rows_with_article(self, *, alert_id: int | None = None,
                                article_id: int | None = None, story_id: int | None = None,
                                pending_at: str | None = None) -> list[dict]: ...


@runtime_checkable
class DigestLedger(Protocol):
    """Digests: periods per recipient, the stories each holds, and their delivery."""

    def digest_row(self, recipient: str, period_key: str) -> dict | None: ...

    def digest_by_id(self, digest_id: int) -> dict | None: ...

    def latest_digest_key(self, recipient: str) -> str | None: ...

    def digest_rows(self, recipient: str | None = None,
                    limit: int | None = None) -> list[dict]: ...

    def digest_counts(self) -> dict[str, int]: ...

    def due_digests(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                    ) -> list[dict]: ...

    def digest_claim_owners(self, now: str) -> list[str]: ...

    def digest_entries(self, digest_id: int) -> list[dict]: ...

    def unclaimed_digest_entries(self, recipient: str, rules: Iterable[str],
                                 until: str) -> list[dict]: ...

    def open_digest(self, recipient: str, period_key: str, period_start: str, period_end: str,
                    rules: Iterable[str], now: str, *, skip_if_empty: bool,
                    reopen: bool = False) -> tuple[dict, bool]: ...

    def record_missed_digest(self, recipient: str, period_key: str, period_start: str,
                             period_end: str, now: str, reason: str) -> bool: ...

    def claim_digest_delivery(self, digest_id: int, now: str, lease_until: str,
                              message_id: str | None, *, force: bool = False,
                              owner: str | None = None,
                              reclaim_from: Iterable[str] = ()) -> int | None: ...

    def mark_digest(self, digest_id: int, state: str, *, now: str,
                    error: str | None = None, next_attempt_at: str | None = None,
                    owner: str | None = None) -> None: ...


@runtime_checkable
class Admin(Protocol):
    """Status, metrics, checks and shutdown."""

    @property
    def schema_version(self) -> int: ...

    def metrics_snapshot(self) -> dict: ...

    def integrity_check(self) -> str: ...

    def close(self) -> None: ...


@runtime_checkable
class SpooledIndex(Protocol):
    """A store whose search index is written through a local spool (Elasticsearch): what
    ``chavder es``, ``status`` and ``/metrics`` show and what a command flushes before exit."""

    def spool_size(self) -> int: ...

    def flush(self, *, max_batches: int | None = None, refresh: bool | None = None) -> Any: ...

    def status(self) -> dict: ...


@dataclass(frozen=True)
class AttentionBucket:
    """Matching stories in one time bucket (one split key): a bar of the attention chart."""

    start: datetime             # bucket start, UTC (a day at 00:00, or an hour)
    key: str | None             # the language or source code when split, else None
    stories: int                # distinct stories matching, counted once per bucket


@runtime_checkable
class Attention(Protocol):
    """The web interface: how attention to a query moves over time, and each source's output."""

    def attention(self, query: SearchQuery, *, interval: str = "day",
                  split: str | None = None) -> list[AttentionBucket]:
        """Stories matching ``query`` (its filters and date range; ``limit``/``offset`` ignored)
        per ``interval`` ("day" or "hour", by publication else first-seen time, UTC), split by
        ``"language"``, ``"source"`` or not at all; empty buckets are left out, sorted by start."""
        ...

    def source_activity(self, days: int, now: datetime) -> dict[str, list[int]]:
        """Articles first seen per UTC day for each source over the last ``days`` days ending
        ``now``'s day, oldest first (a sparkline per source; sources with none get zeros)."""
        ...


@dataclass(frozen=True)
class ArticleRevision:
    """One stored version of an article: the story page shows what changed between them."""

    revision: int
    seen_at: str                # UTC ISO time this version was stored
    title: str
    body: str | None            # None once older than the store keeps text for
    content_hash: str | None


@runtime_checkable
class Revisions(Protocol):
    """The story page: an article's earlier versions with their text (bounded), newest first."""

    def article_revisions(self, article_id: int) -> list[ArticleRevision]: ...


@runtime_checkable
class Store(ArticleWriter, ArticleReader, SharedStoryLookup, StorySignatures, Search,
            CrawlState, ServiceSchedule, AlertLedger, DigestLedger, Attention, Revisions, Admin,
            Protocol):
    """Every role: what ``open_store`` returns and each backend implements."""


#: The roles every backend implements (``Store`` is their union).
ROLES: tuple[type, ...] = (ArticleWriter, ArticleReader, StoryLookup, SharedStoryLookup,
                           StorySignatures, Search, CrawlState, ServiceSchedule, AlertLedger,
                           DigestLedger, Attention, Revisions, Admin)

