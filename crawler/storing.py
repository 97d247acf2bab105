"""Storing one extracted article: the story decision and the upsert, in one store transaction.

The store pipeline calls it for every article of a crawl; with ``store_writer: controller``
the scale-out controller calls it for the articles its workers hand over through Redis
(:mod:`crawler.scaleout.ingest`) — one code path, so an article stored either way lands in
the same story with the same id rules. A :class:`StoreRequest` is everything the step needs,
in a form that survives JSON (the hand-over's wire format).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from crawler.dedup.stories import Candidate
from crawler.models import Article
from crawler.store.base import UpsertResult
from crawler.text.dates import parse_iso
from crawler.urls import url_key


@dataclass
class StoreRequest:
    """An extracted article and how it was found: what ``store_article`` writes."""

    article: Article
    key: str                         # the canonical URL key (the row's identity)
    aliases: list[str] = field(default_factory=list)   # the requested / final URL keys
    index_updated_at: str | None = None   # the index's modification time of the item
    published_ts: float = 0.0        # published (else fetched, else now), for the dedup window

    @classmethod
    def of(cls, article: Article, page_url_key: str, page_url: str,
           index_updated_at: str | None) -> "StoreRequest":
        """The request for ``article`` fetched as ``page_url`` (queued as ``page_url_key``)."""
        published_ts = _timestamp(article.published_at) or _timestamp(article.fetched_at) \
            or time.time()
        return cls(article, url_key(article.canonical_url), [page_url_key, url_key(page_url)],
                   index_updated_at, published_ts)

    def to_dict(self) -> dict[str, Any]:
        return {"article": self.article.to_dict(), "key": self.key, "aliases": self.aliases,
                "index_updated_at": self.index_updated_at, "published_ts": self.published_ts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StoreRequest":
        return cls(Article.from_dict(data["article"]), data["key"], list(data.get("aliases") or []),
                   data.get("index_updated_at"), float(data.get("published_ts") or 0.0))


def store_article(store: Any, resolver: Any, request: StoreRequest) -> tuple[Any, UpsertResult]:
    """Decide ``request``'s story and upsert it: ``(decision, result)``. Raises what the
    store raises (nothing was written then: the upsert is one transaction)."""
    article = request.article

    def write(decision: Any) -> UpsertResult:
        return store.upsert(
            article, request.key, aliases=request.aliases,
            index_updated_at=request.index_updated_at,
            story_id=decision.story_id if decision.kind in ("duplicate", "join") else None,
            fingerprint=decision.fingerprint, signature=decision.signature,
            published_ts=request.published_ts)

    return resolver.assign(Candidate(
        url_key=request.key, body=article.body, lang=article.language,
        published_ts=request.published_ts, source=article.source,
        content_hash=article.content_hash), write,
        lambda r: (r.article_id, r.story_id, r.change_seq))


def _timestamp(value: str | None) -> float | None:
    parsed = parse_iso(value)
    return parsed.timestamp() if parsed is not None else None
