"""Search bodies over the ``*_norm`` fields (the project's own analysis under the
``whitespace`` analyzer: the same matching contract as the SQLite FTS index) and the hits
they return turned into ``SearchHit``s."""
from __future__ import annotations

from typing import Any

from crawler.store.base import SearchHit, SearchQuery, utc_iso
from crawler.store.elasticsearch.mapping import TEXT_LANGS
from crawler.store.query_text import make_snippet, query_groups


def _match_part(keys: list[str]) -> dict:
    if len(keys) == 1:
        clauses = [{"term": {"title_norm": {"value": keys[0], "boost": 3.0}}},
                   {"term": {"body_norm": {"value": keys[0]}}}]
    else:
        # documents carry several keys per token at successive positions, hence the slop
        # (the SQLite backend uses NEAR with the same distance)
        slop = 4 * (len(keys) - 1)
        phrase = " ".join(keys)
        clauses = [{"match_phrase": {"title_norm": {"query": phrase, "slop": slop,
                                                    "boost": 3.0}}},
                   {"match_phrase": {"body_norm": {"query": phrase, "slop": slop}}}]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}



def match_clause(text: str, language: str | None = None) -> dict | None:
    """User query → query DSL over the ``*_norm`` fields, in the grammar of ``query_groups``
    (words ANDed, "quoted phrases", ``OR`` between groups)."""
    alternatives = []
    for group in query_groups(text, language):
        parts = [_match_part(keys) for keys in group]
        alternatives.append(parts[0] if len(parts) == 1 else {"bool": {"must": parts}})
    if not alternatives:
        return None
    if len(alternatives) == 1:
        return alternatives[0]
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def query_filters(query: SearchQuery) -> list[dict]:
    """Filter clauses for a query's language, source and date range (on ``timeline_at``:
    publication, else first-seen time, as in SQLite)."""
    filters: list[dict] = []
    if query.language:
        filters.append({"term": {"language": query.language}})
    if query.source:
        filters.append({"term": {"source": query.source}})
    bounds: dict[str, str | None] = {}
    if query.since:
        bounds["gte"] = utc_iso(query.since)
    if query.until:
        bounds["lt"] = utc_iso(query.until)
    if bounds:
        filters.append({"range": {"timeline_at": bounds}})
    return filters


def build_search(query: SearchQuery) -> dict | None:
    """The ``_search`` body for ``query`` (None when the query has no searchable word): the
    page ``offset``…``offset + limit`` of the collapsed stories (``from`` counts groups)."""
    must = match_clause(query.text, query.language)
    if must is None:
        return None
    filters = query_filters(query)
    # ranking help from Elasticsearch's own language analyzers; matching stays on *_norm
    langs = [query.language] if query.language in TEXT_LANGS else list(TEXT_LANGS)
    should = [{"match": {f"{f}.{lang}": {"query": query.text, "boost": 0.2}}}
              for lang in langs for f in ("title", "body")]
    body: dict[str, Any] = {
        "query": {"bool": {"must": [must], "filter": filters, "should": should}},
        "sort": _sort(query.sort),
        "size": max(1, int(query.limit)),
        "from": max(0, int(query.offset)),
        "track_total_hits": False,
        "_source": {"excludes": ["title_norm", "body_norm"]},
    }
    if not query.all_copies:
        body["collapse"] = {"field": "story_id"}
    return body


def _sort(sort: str) -> list[dict]:
    """``relevance``: score, then newest; ``newest``: time, then score."""
    score = {"_score": {"order": "desc"}}
    when = {"timeline_at": {"order": "desc", "missing": "_last"}}
    tie = {"article_id": {"order": "desc"}}       # stable pages, as SQLite's id order
    return [when, score, tie] if sort == "newest" else [score, when, tie]


#: Below this many stories the cardinality count is exact in practice (HyperLogLog++ keeps
#: the hashes themselves up to it); 40000 is the engines' maximum.
TOTAL_PRECISION = 40000


def build_total(query: SearchQuery) -> dict | None:
    """Aggregation-only body counting the stories (copies with ``all_copies``) matching
    ``query``: what ``search`` pages through. None when nothing is searchable."""
    must = match_clause(query.text, query.language)
    if must is None:
        return None
    body: dict[str, Any] = {"size": 0, "track_total_hits": True,
                            "query": {"bool": {"must": [must],
                                               "filter": query_filters(query)}}}
    if not query.all_copies:
        body["aggs"] = {"stories": {"cardinality": {
            "field": "story_id", "precision_threshold": TOTAL_PRECISION}}}
    return body


def total_of(response: dict, query: SearchQuery) -> int:
    """The answer to ``build_total`` → the number of stories (or copies)."""
    if query.all_copies:
        total = response["hits"]["total"]
        return int(total["value"] if isinstance(total, dict) else total)
    return int(response["aggregations"]["stories"]["value"])


def story_sources_query(story_ids: list[int]) -> dict:
    """Aggregation-only query: the outlets of each story (for ``also_reported_by``)."""
    return {"size": 0, "query": {"terms": {"story_id": story_ids}},
            "aggs": {"stories": {"terms": {"field": "story_id", "size": max(1, len(story_ids))},
                                 "aggs": {"sources": {"terms": {"field": "source",
                                                                "size": 200}}}}}}



def story_outlets(response: dict) -> dict[int, list[str]]:
    """The answer to ``story_sources_query`` → the sorted outlets of each story."""
    out: dict[int, list[str]] = {}
    for bucket in response.get("aggregations", {}).get("stories", {}).get("buckets", []):
        out[int(bucket["key"])] = sorted(b["key"] for b in bucket["sources"]["buckets"])
    return out


def search_hits(hits: list[dict], query: SearchQuery,
                outlets: dict[int, list[str]]) -> list[SearchHit]:
    """``_search`` hits → ``SearchHit``s, the snippet cut from the stored body as in SQLite."""
    out: list[SearchHit] = []
    for h in hits:
        src = h["_source"]
        story = int(src["story_id"])
        excerpt, spans = make_snippet(src.get("body", ""), query.text, src.get("language"))
        out.append(SearchHit(
            article_id=int(src["article_id"]), story_id=story,
            url=src.get("canonical_url") or src.get("url"), title=src.get("title", ""),
            source=src["source"], language=src.get("language"),
            published_at=src.get("published_at"),
            excerpt=excerpt, spans=spans,
            score=float(h.get("_score") or 0.0),
            also_reported_by=[s for s in outlets.get(story, []) if s != src["source"]]))
    return out
