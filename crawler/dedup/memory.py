"""In-memory ``StoryLookup`` with story bookkeeping: the reference semantics for the store.

Used by the tests and ``bench/dedup_eval.py``; the SQLite store implements the same three
lookups and the same ``apply`` rules on its tables:

* a story's representative is its first-published article (ties: the lower article id);
* a story lists its outlets and its first and last seen times;
* ``update`` rewrites the article in place (revision + 1), never adds one;
* ``unchanged`` only touches the story's last-seen time.

What the SQLite store needs for this (suggested): on ``articles`` a ``body_fingerprint`` TEXT
(indexed together with the publication time), the ``signature`` BLOB from ``Decision`` and a
numeric publication time; then ``by_fingerprint`` is one indexed ``SELECT … WHERE
body_fingerprint=? AND published_ts>=? ORDER BY published_ts, id LIMIT 1``, ``body_of`` a
select by id, and the index is rebuilt at start-up with ``NearDuplicateIndex.from_rows(SELECT id,
story_id, signature, published_ts FROM articles WHERE published_ts >= now - window)``.

A store that other processes write to also implements ``SharedStoryLookup`` (a write
transaction and a change number per stored signature); this in-memory one has a single writer
and needs neither.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from crawler.dedup.stories import Candidate, Decision
from crawler.store.roles import StoredCopy

__all__ = ["MemoryStories", "StoredArticle", "Story"]


@dataclass
class StoredArticle:
    article_id: int
    story_id: int
    url_key: str
    source: str
    body: str
    lang: str | None
    fingerprint: str
    content_hash: str | None
    published_ts: float
    signature: bytes
    revision: int = 1


@dataclass
class Story:
    story_id: int
    representative_id: int
    representative_ts: float
    first_seen: float
    last_seen: float
    article_ids: list[int] = field(default_factory=list)
    outlets: set[str] = field(default_factory=set)


class MemoryStories:
    """Articles and stories in dicts; implements ``StoryLookup``."""

    def __init__(self) -> None:
        self.articles: dict[int, StoredArticle] = {}
        self.stories: dict[int, Story] = {}
        self._by_key: dict[str, int] = {}
        self._by_fingerprint: dict[str, list[int]] = {}
        self._next_article = 1
        self._next_story = 1

    # ------------------------------------------------------------------ StoryLookup
    def by_url_key(self, url_key: str) -> StoredCopy | None:
        article_id = self._by_key.get(url_key)
        return None if article_id is None else self._copy(self.articles[article_id])

    def by_fingerprint(self, fingerprint: str, since_ts: float) -> StoredCopy | None:
        rows = [self.articles[a] for a in self._by_fingerprint.get(fingerprint, ())
                if self.articles[a].published_ts >= since_ts]
        if not rows:
            return None
        return self._copy(min(rows, key=lambda r: (r.published_ts, r.article_id)))

    def body_of(self, article_id: int) -> tuple[str, str | None] | None:
        row = self.articles.get(article_id)
        return None if row is None else (row.body, row.lang)

    # ------------------------------------------------------------------ persisting decisions
    def apply(self, candidate: Candidate, decision: Decision,
              seen_ts: float | None = None) -> tuple[int, int]:
        """Persist ``decision`` for ``candidate``; returns ``(article_id, story_id)``."""
        seen = candidate.published_ts if seen_ts is None else seen_ts
        if decision.kind == "unchanged":
            assert decision.article_id is not None and decision.story_id is not None
            self.stories[decision.story_id].last_seen = max(
                self.stories[decision.story_id].last_seen, seen)
            return decision.article_id, decision.story_id
        if decision.kind == "update":
            assert decision.article_id is not None and decision.story_id is not None
            row = self.articles[decision.article_id]
            self._by_fingerprint[row.fingerprint].remove(row.article_id)
            row.body, row.lang, row.signature = candidate.body, candidate.lang, decision.signature
            row.fingerprint, row.content_hash = decision.fingerprint, candidate.content_hash
            row.revision += 1
            self._by_fingerprint.setdefault(row.fingerprint, []).append(row.article_id)
            self.stories[row.story_id].last_seen = max(self.stories[row.story_id].last_seen, seen)
            return row.article_id, row.story_id
        article_id = self._next_article
        self._next_article += 1
        if decision.kind == "new":
            story_id = self._next_story
            self._next_story += 1
            self.stories[story_id] = Story(story_id, article_id, candidate.published_ts,
                                           seen, seen)
        else:  # duplicate | join
            assert decision.story_id is not None
            story_id = decision.story_id
        story = self.stories[story_id]
        story.article_ids.append(article_id)
        story.outlets.add(candidate.source)
        story.first_seen = min(story.first_seen, seen)
        story.last_seen = max(story.last_seen, seen)
        if candidate.published_ts < story.representative_ts:
            story.representative_id, story.representative_ts = article_id, candidate.published_ts
        self.articles[article_id] = StoredArticle(
            article_id, story_id, candidate.url_key, candidate.source, candidate.body,
            candidate.lang, decision.fingerprint, candidate.content_hash,
            candidate.published_ts, decision.signature)
        self._by_key[candidate.url_key] = article_id
        self._by_fingerprint.setdefault(decision.fingerprint, []).append(article_id)
        return article_id, story_id

    def signature_rows(self) -> list[tuple[int, int, bytes, float]]:
        """``(article_id, story_id, signature, ts)`` for ``NearDuplicateIndex.from_rows``."""
        return [(a.article_id, a.story_id, a.signature, a.published_ts)
                for a in self.articles.values()]

    @staticmethod
    def _copy(row: StoredArticle) -> StoredCopy:
        return StoredCopy(row.article_id, row.story_id, row.fingerprint, row.content_hash,
                          row.published_ts)
