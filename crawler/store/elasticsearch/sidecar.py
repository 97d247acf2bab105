"""The roles the Elasticsearch store leaves to its SQLite sidecar, one explicit method each.

Everything that is not search or indexing — URL/alias lookups before requests, story
decisions, HTTP validators and fetch errors, the service schedule, the alert and digest
ledgers — is local state: the sidecar answers it exactly as the SQLite backend does, through
its public role methods (crawler.store.roles). The Elasticsearch store overrides only what it
also mirrors to the cluster (articles, alert-ledger changes) and search.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ContextManager, Iterable

from crawler.models import Article
from crawler.store.base import KnownArticle
from crawler.store.roles import ArticleRevision, StoredCopy
from crawler.store.sqlite import SQLiteStore


class SidecarRoles:
    """Role methods answered by ``self.sidecar`` unchanged."""

    sidecar: SQLiteStore

    # ------------------------------------------------------------------ ArticleReader
    def known(self, url_keys: Iterable[str]) -> dict[str, KnownArticle]:
        return self.sidecar.known(url_keys)

    def known_since(self, since: str) -> Iterable[KnownArticle]:
        return self.sidecar.known_since(since)

    def get_article(self, url_key: str) -> Article | None:
        return self.sidecar.get_article(url_key)

    def article_row(self, url_key: str) -> dict | None:
        return self.sidecar.article_row(url_key)

    def article_row_by_id(self, article_id: int) -> dict | None:
        return self.sidecar.article_row_by_id(article_id)

    def iter_articles(self, source: str | None = None, *, after_id: int = 0,
                      limit: int | None = None) -> Iterable[dict]:
        return self.sidecar.iter_articles(source, after_id=after_id, limit=limit)

    def articles_since(self, since: datetime) -> list[dict]:
        return self.sidecar.articles_since(since)

    # ------------------------------------------------------------------ Search (besides search)
    def story(self, story_id: int) -> dict | None:
        return self.sidecar.story(story_id)

    def story_sources(self, story_id: int) -> list[str]:
        return self.sidecar.story_sources(story_id)

    def count_articles(self, source: str | None = None) -> int:
        return self.sidecar.count_articles(source)

    def count_stories(self) -> int:
        return self.sidecar.count_stories()

    def search_facets(self) -> dict[str, list[str]]:
        return self.sidecar.search_facets()

    # ------------------------------------------------------------------ Revisions
    def article_revisions(self, article_id: int) -> list[ArticleRevision]:
        """Earlier versions live in the sidecar: it stores every update first."""
        return self.sidecar.article_revisions(article_id)

    # ------------------------------------------------------------------ SharedStoryLookup
    # Story assignment is the sidecar's, through the same code path as the SQLite backend:
    # processes sharing a sidecar agree on stories (see SQLiteStore.story_transaction).
    def by_url_key(self, url_key: str) -> StoredCopy | None:
        return self.sidecar.by_url_key(url_key)

    def by_fingerprint(self, fingerprint: str, since_ts: float) -> StoredCopy | None:
        return self.sidecar.by_fingerprint(fingerprint, since_ts)

    def body_of(self, article_id: int) -> tuple[str, str | None] | None:
        return self.sidecar.body_of(article_id)

    def story_transaction(self) -> ContextManager[Any]:
        return self.sidecar.story_transaction()

    def write_batch(self) -> ContextManager[Any]:
        return self.sidecar.write_batch()

    def story_seq(self) -> int:
        return self.sidecar.story_seq()

    def story_changes(self, after_seq: int) -> tuple[list[tuple[int, int, bytes | None, float]],
                                                     int]:
        return self.sidecar.story_changes(after_seq)

    def signature_rows(self, since_ts: float) -> list[tuple[int, int, bytes, float]]:
        return self.sidecar.signature_rows(since_ts)

    # ------------------------------------------------------------------ CrawlState
    def http_validators(self, url: str) -> tuple[str | None, str | None]:
        return self.sidecar.http_validators(url)

    def save_http_validators(self, url: str, etag: str | None,
                             last_modified: str | None) -> None:
        self.sidecar.save_http_validators(url, etag, last_modified)

    def record_fetch_error(self, source: str, url: str, reason: str) -> None:
        self.sidecar.record_fetch_error(source, url, reason)

    def recent_failures(self, urls: Iterable[str], since: str,
                        ignore_prefix: str = "") -> dict[str, tuple[int, str]]:
        return self.sidecar.recent_failures(urls, since, ignore_prefix)

    def fetch_errors(self, source: str | None = None) -> list[dict]:
        return self.sidecar.fetch_errors(source)

    def record_crawl(self, source: str, started_at: str, finished_at: str,
                     counts: dict[str, int]) -> None:
        self.sidecar.record_crawl(source, started_at, finished_at, counts)

    def source_status(self) -> dict[str, dict]:
        return self.sidecar.source_status()

    def recent_articles(self, source: str, limit: int = 20) -> list[dict]:
        return self.sidecar.recent_articles(source, limit)

    # ------------------------------------------------------------------ ServiceSchedule
    def save_next_run(self, source: str, next_run: str, started: str | None = None) -> None:
        self.sidecar.save_next_run(source, next_run, started)

    def schedule_state(self) -> dict[str, dict]:
        return self.sidecar.schedule_state()

    # ------------------------------------------------------------------ AlertLedger (reads)
    def articles_to_check(self, limit: int = 500) -> list[dict]:
        return self.sidecar.articles_to_check(limit)

    def due_alerts(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                   ) -> list[dict]:
        return self.sidecar.due_alerts(now, limit, reclaim_from)

    def alert_claim_owners(self, now: str) -> list[str]:
        return self.sidecar.alert_claim_owners(now)

    def failed_alerts(self, limit: int = 20) -> list[dict]:
        return self.sidecar.failed_alerts(limit)

    def alert_counts(self) -> dict[str, int]:
        return self.sidecar.alert_counts()

    def alert_rows(self) -> list[dict]:
        return self.sidecar.alert_rows()

    def recent_alerts(self, limit: int = 20) -> list[dict]:
        return self.sidecar.recent_alerts(limit)

    def alert_rows_with_article(self, *, alert_id: int | None = None,
                                article_id: int | None = None, story_id: int | None = None,
                                pending_at: str | None = None) -> list[dict]:
        return self.sidecar.alert_rows_with_article(alert_id=alert_id, article_id=article_id,
                                                    story_id=story_id, pending_at=pending_at)

    # ------------------------------------------------------------------ DigestLedger
    # Digests are not mirrored to the cluster: the whole ledger is the sidecar's.
    def digest_row(self, recipient: str, period_key: str) -> dict | None:
        return self.sidecar.digest_row(recipient, period_key)

    def digest_by_id(self, digest_id: int) -> dict | None:
        return self.sidecar.digest_by_id(digest_id)

    def latest_digest_key(self, recipient: str) -> str | None:
        return self.sidecar.latest_digest_key(recipient)

    def digest_rows(self, recipient: str | None = None,
                    limit: int | None = None) -> list[dict]:
        return self.sidecar.digest_rows(recipient, limit)

    def digest_counts(self) -> dict[str, int]:
        return self.sidecar.digest_counts()

    def due_digests(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                    ) -> list[dict]:
        return self.sidecar.due_digests(now, limit, reclaim_from)

    def digest_claim_owners(self, now: str) -> list[str]:
        return self.sidecar.digest_claim_owners(now)

    def digest_entries(self, digest_id: int) -> list[dict]:
        return self.sidecar.digest_entries(digest_id)

    def unclaimed_digest_entries(self, recipient: str, rules: Iterable[str],
                                 until: str) -> list[dict]:
        return self.sidecar.unclaimed_digest_entries(recipient, rules, until)

    def open_digest(self, recipient: str, period_key: str, period_start: str, period_end: str,
                    rules: Iterable[str], now: str, *, skip_if_empty: bool,
                    reopen: bool = False) -> tuple[dict, bool]:
        return self.sidecar.open_digest(recipient, period_key, period_start, period_end, rules,
                                        now, skip_if_empty=skip_if_empty, reopen=reopen)

    def record_missed_digest(self, recipient: str, period_key: str, period_start: str,
                             period_end: str, now: str, reason: str) -> bool:
        return self.sidecar.record_missed_digest(recipient, period_key, period_start,
                                                 period_end, now, reason)

    def claim_digest_delivery(self, digest_id: int, now: str, lease_until: str,
                              message_id: str | None, *, force: bool = False,
                              owner: str | None = None,
                              reclaim_from: Iterable[str] = ()) -> int | None:
        return self.sidecar.claim_digest_delivery(digest_id, now, lease_until, message_id,
                                                  force=force, owner=owner,
                                                  reclaim_from=reclaim_from)

    def mark_digest(self, digest_id: int, state: str, *, now: str,
                    error: str | None = None, next_attempt_at: str | None = None,
                    owner: str | None = None) -> None:
        self.sidecar.mark_digest(digest_id, state, now=now, error=error,
                                 next_attempt_at=next_attempt_at, owner=owner)

    # ------------------------------------------------------------------ Admin (besides close)
    @property
    def schema_version(self) -> int:
        return self.sidecar.schema_version

    def metrics_snapshot(self) -> dict:
        return self.sidecar.metrics_snapshot()

    def integrity_check(self) -> str:
        return self.sidecar.integrity_check()
