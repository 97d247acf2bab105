"""Attention over time and each source's output (the ``Attention`` role) on Elasticsearch.

The SQLite semantics (crawler/store/sqlite/attention.py), as aggregations: the query and
filters of ``search``, a ``date_histogram`` on ``timeline_at`` (publication, else first-seen
time; UTC) with a ``cardinality`` of ``story_id`` per bucket — distinct stories, not copies —
under a ``terms`` split by language or source. Cardinality is HyperLogLog++: exact in practice
below ``STORY_PRECISION`` stories per bar, within a few percent above.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from crawler.store.base import SearchQuery
from crawler.store.elasticsearch.queries import match_clause, query_filters
from crawler.store.roles import AttentionBucket
from crawler.store.sqlite.attention import activity_days, check_attention_args

#: Stories per bar below which the count is exact in practice (the engines' default).
STORY_PRECISION = 3000
#: Most split keys (languages, sources) one chart shows.
MAX_KEYS = 1000
_FIELDS = {"language": "language", "source": "source"}


def attention_body(query: SearchQuery, interval: str, split: str | None) -> dict | None:
    """The aggregation-only ``_search`` body of an attention chart (None: nothing
    searchable)."""
    check_attention_args(interval, split)
    must = match_clause(query.text, query.language)
    if must is None:
        return None
    histogram: dict[str, Any] = {"date_histogram": {
        "field": "timeline_at", "calendar_interval": interval, "time_zone": "UTC",
        "min_doc_count": 1},
        "aggs": {"stories": {"cardinality": {"field": "story_id",
                                             "precision_threshold": STORY_PRECISION}}}}
    aggs: dict[str, Any] = {"when": histogram}
    if split:
        terms: dict[str, Any] = {"field": _FIELDS[split], "size": MAX_KEYS}
        if split == "language":
            terms["missing"] = "und"
        aggs = {"keys": {"terms": terms, "aggs": aggs}}
    return {"size": 0, "track_total_hits": False, "aggs": aggs,
            "query": {"bool": {"must": [must], "filter": query_filters(query)}}}


def attention_buckets(response: dict, split: str | None) -> list[AttentionBucket]:
    """The answer to ``attention_body`` → buckets sorted by start, then key."""
    aggs = response.get("aggregations", {})
    groups = ([(None, aggs.get("when", {}))] if not split else
              [(str(b["key"]), b["when"]) for b in aggs.get("keys", {}).get("buckets", [])])
    out = [AttentionBucket(_start(b["key"]), key, int(b["stories"]["value"]))
           for key, hist in groups for b in hist.get("buckets", []) if b["doc_count"]]
    return sorted(out, key=lambda b: (b.start, b.key or ""))


def activity_body(days: int, now: datetime) -> tuple[dict, list[str]]:
    """Aggregation body counting articles first seen per UTC day of each source over the last
    ``days`` days, and those days (ISO dates, oldest first)."""
    dates = activity_days(days, now)
    recent: dict[str, Any] = {"filter": {"range": {"first_seen": {"gte": dates[0]}}} if dates
                              else {"match_none": {}},
                              "aggs": {"days": {"date_histogram": {
                                  "field": "first_seen", "calendar_interval": "day",
                                  "time_zone": "UTC", "min_doc_count": 1}}}}
    return ({"size": 0, "track_total_hits": False, "query": {"match_all": {}},
             "aggs": {"sources": {"terms": {"field": "source", "size": MAX_KEYS},
                                  "aggs": {"recent": recent}}}}, dates)


def activity_counts(response: dict, dates: list[str]) -> dict[str, list[int]]:
    """The answer to ``activity_body`` → per source, articles per day (oldest first)."""
    index = {d: i for i, d in enumerate(dates)}
    out: dict[str, list[int]] = {}
    for source in response.get("aggregations", {}).get("sources", {}).get("buckets", []):
        counts = [0] * len(dates)
        for b in source["recent"]["days"]["buckets"]:
            day = _start(b["key"]).date().isoformat()
            if day in index:
                counts[index[day]] = int(b["doc_count"])
        out[str(source["key"])] = counts
    return dict(sorted(out.items()))


def _start(key: Any) -> datetime:
    """A histogram bucket key (epoch milliseconds) → its UTC start."""
    return datetime.fromtimestamp(int(key) / 1000, tz=timezone.utc)
