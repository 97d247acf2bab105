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
from typing import Any, Callable, Union

from crawler.dedup.stories import Candidate
from crawler.models import Article
from crawler.store.base import UpsertResult
from crawler.store.faults import BatchLost
from crawler.text.dates import parse_iso
from crawler.urls import url_key


#: what storing one article of a batch came to: ``(decision, result)``, or why not
Outcome = Union[tuple[Any, UpsertResult], Exception]


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


def store_batch(store: Any, resolver: Any,
                requests: list[StoreRequest]) -> tuple[list[Outcome], bool]:
    """Store several articles in one store transaction (one lock, one commit: ~20 % of the
    store's CPU per article at 8 a batch, bench/store_writers.py --batch): per request,
    ``(decision, result)`` or the exception that kept it out, in order; and whether the
    transaction itself failed. Each article is written in a savepoint of its own, so one that
    fails leaves the others stored. The bodies are sketched before the lock is taken.

    When the transaction fails (taking the lock, the commit, or SQLite rolled it back), every
    request gets that error, and the resolver may have indexed articles that were never
    stored: the caller must build a new one."""
    write_batch = getattr(store, "write_batch", None)
    if write_batch is None or len(requests) < 2:
        return [_outcome(store_article, store, resolver, request) for request in requests], False
    prepared = [_outcome(resolver.prepare, _candidate(request)) for request in requests]
    prepare_terms = getattr(store, "prepare_terms", None)
    if prepare_terms is not None:           # the FTS analysis, out of the write lock too
        _outcome(prepare_terms, [r.article for r, ready in zip(requests, prepared)
                                 if not isinstance(ready, Exception)])
    outcomes: list[Outcome] = []
    try:
        with write_batch() as part:
            for request, ready in zip(requests, prepared):
                if isinstance(ready, Exception):
                    outcomes.append(ready)
                    continue
                try:
                    with part():
                        outcomes.append(store_article(store, resolver, request, ready))
                except BatchLost:
                    raise
                except Exception as exc:  # noqa: BLE001 - this article's fault, not the batch's
                    outcomes.append(exc)
    except Exception as exc:  # noqa: BLE001 - nothing of the batch was stored
        return [exc] * len(requests), True
    return outcomes, False


def _outcome(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:  # noqa: BLE001 - returned, for the caller to report per article
        return exc


def _candidate(request: StoreRequest) -> Candidate:
    article = request.article
    return Candidate(url_key=request.key, body=article.body, lang=article.language,
                     published_ts=request.published_ts, source=article.source,
                     content_hash=article.content_hash)


def store_article(store: Any, resolver: Any, request: StoreRequest,
                  prepared: Any = None) -> tuple[Any, UpsertResult]:
    """Decide ``request``'s story and upsert it: ``(decision, result)``. Raises what the
    store raises (nothing was written then: the upsert is one transaction). ``prepared``:
    the resolver's ``prepare`` of the request, when done already."""
    article = request.article

    def write(decision: Any) -> UpsertResult:
        return store.upsert(
            article, request.key, aliases=request.aliases,
            index_updated_at=request.index_updated_at,
            story_id=decision.story_id if decision.kind in ("duplicate", "join") else None,
            fingerprint=decision.fingerprint, signature=decision.signature,
            published_ts=request.published_ts)

    return resolver.assign(_candidate(request), write,
                           lambda r: (r.article_id, r.story_id, r.change_seq), prepared)


def _timestamp(value: str | None) -> float | None:
    parsed = parse_iso(value)
    return parsed.timestamp() if parsed is not None else None
