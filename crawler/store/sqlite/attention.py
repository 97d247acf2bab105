"""Attention over time on the SQLite tables (the ``Attention`` role): matching stories per
day or hour, and each source's articles per day — what the web interface charts.

Counted in SQL (``GROUP BY`` over the ISO time prefix, ``COUNT(DISTINCT story_id)``), so a
chart of a 100,000-article store never loads its rows into Python.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawler.store.base import SearchQuery, utc_iso
from crawler.store.roles import AttentionBucket
from crawler.store.sqlite.search import fts_match_expression
from crawler.store.sqlite.tables import Tables

#: Length of the UTC ISO time prefix that names a bucket ("2017-06-01", "2017-06-01T14").
_PREFIX = {"day": 10, "hour": 13}
_SPLIT = {"language": "a.language", "source": "a.source"}
_WHEN = "COALESCE(a.published_utc, a.first_seen)"


class AttentionTables(Tables):
    """``attention`` and ``source_activity`` over ``articles`` (and ``articles_fts``)."""

    def attention(self, query: SearchQuery, *, interval: str = "day",
                  split: str | None = None) -> list[AttentionBucket]:
        if interval not in _PREFIX:
            raise ValueError(f"interval {interval!r}: use day or hour")
        if split is not None and split not in _SPLIT:
            raise ValueError(f"split {split!r}: use language, source or nothing")
        where, params, join = _filters(query)
        if where is None:
            return []
        width = _PREFIX[interval]
        key = _SPLIT[split] if split else "NULL"
        sql = (f"SELECT substr({_WHEN}, 1, {width}) AS bucket, {key} AS k, "
               f"COUNT(DISTINCT a.story_id) FROM {join} "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} GROUP BY bucket, k "
               f"ORDER BY bucket, k")
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [AttentionBucket(_bucket_start(row[0]), row[1], int(row[2])) for row in rows
                if row[0]]

    def source_activity(self, days: int, now: datetime) -> dict[str, list[int]]:
        last = now.astimezone(timezone.utc).date()
        first = last - timedelta(days=max(1, days) - 1)
        with self._lock:
            sources = [r[0] for r in self._db.execute(
                "SELECT DISTINCT source FROM articles ORDER BY source")]
            rows = self._db.execute(
                "SELECT source, substr(first_seen, 1, 10) AS day, COUNT(*) FROM articles "
                "WHERE first_seen >= ? AND first_seen < ? GROUP BY source, day",
                (first.isoformat(), (last + timedelta(days=1)).isoformat())).fetchall()
        out = {source: [0] * max(1, days) for source in sources}
        for source, day, count in rows:
            index = (datetime.fromisoformat(day).date() - first).days
            if 0 <= index < len(out.setdefault(source, [0] * max(1, days))):
                out[source][index] = int(count)
        return out


def _filters(query: SearchQuery) -> tuple[list[str] | None, list, str]:
    """The WHERE terms, parameters and FROM clause of ``query``; ``None`` terms when its text
    can match nothing. An empty text counts every article (the filters still apply)."""
    where: list[str] = []
    params: list = []
    join = "articles a"
    if query.text.strip():
        match = fts_match_expression(query.text, query.language)
        if not match:
            return None, [], join
        join = "articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        where.append("articles_fts MATCH ?")
        params.append(match)
    for column, value in (("a.language", query.language), ("a.source", query.source)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if query.since:
        where.append(f"{_WHEN} >= ?")
        params.append(utc_iso(query.since))
    if query.until:
        where.append(f"{_WHEN} < ?")
        params.append(utc_iso(query.until))
    return where, params, join


def _bucket_start(prefix: str) -> datetime:
    """"2017-06-01" or "2017-06-01T14" → that day's or hour's start, UTC."""
    if len(prefix) > 10:
        return datetime.fromisoformat(prefix + ":00:00").replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(prefix).replace(tzinfo=timezone.utc)
