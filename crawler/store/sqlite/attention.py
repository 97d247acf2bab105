"""Attention over time and each source's output (the ``Attention`` role) over SQLite.

A bar counts the distinct stories with a matching copy in its time bucket — a story carried
by five outlets is one story that day; split by source, it is one story for each outlet that
carried it. Time is publication, else first-seen time, in UTC (the ISO strings the store
keeps sort and cut as text: a day is their first 10 characters, an hour their first 13).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from crawler.store.base import SearchQuery, utc_iso
from crawler.store.roles import AttentionBucket
from crawler.store.sqlite.search import SearchTables

#: Characters of a UTC ISO time that name its bucket.
INTERVALS = {"day": 10, "hour": 13}
#: What a split groups by (an article without a language counts as ``und``).
SPLITS = {"language": "COALESCE(a.language, 'und')", "source": "a.source"}


def check_attention_args(interval: str, split: str | None) -> None:
    if interval not in INTERVALS:
        raise ValueError(f"attention: interval {interval!r} — use 'day' or 'hour'")
    if split is not None and split not in SPLITS:
        raise ValueError(f"attention: split {split!r} — use 'language', 'source' or None")


def bucket_start(text: str, interval: str) -> datetime:
    """``2017-06-01`` or ``2017-06-01T07`` → that UTC day or hour."""
    if interval == "day":
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)


def activity_days(days: int, now: datetime) -> list[str]:
    """The ``days`` UTC dates (ISO) ending with ``now``'s, oldest first."""
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    last = now.astimezone(timezone.utc).date()
    return [(last - timedelta(days=n)).isoformat() for n in range(max(0, days) - 1, -1, -1)]


class AttentionTables(SearchTables):
    """Attention charts over the same matches as ``search``."""

    def attention(self, query: SearchQuery, *, interval: str = "day",
                  split: str | None = None) -> list[AttentionBucket]:
        check_attention_args(interval, split)
        matched = self._matches(query, scored=False)
        if matched is None:
            return []
        sql, params = matched
        width = INTERVALS[interval]
        key = SPLITS[split] if split else "NULL"
        # the matching copies, then their buckets: one row per (bucket, key, story)
        sql = (f"SELECT substr(m.at, 1, {width}) AS bucket, {key} AS k, "
               f"COUNT(DISTINCT m.story_id) FROM ({sql}) m JOIN articles a ON a.id = m.id "
               f"GROUP BY bucket, k ORDER BY bucket, k")
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [AttentionBucket(bucket_start(r[0], interval), r[1], int(r[2])) for r in rows]

    def source_activity(self, days: int, now: datetime) -> dict[str, list[int]]:
        """Articles first seen per UTC day of every source with stored articles."""
        dates = activity_days(days, now)
        with self._lock:
            sources = [r[0] for r in self._db.execute(
                "SELECT DISTINCT source FROM articles ORDER BY source")]
            rows = self._db.execute(
                "SELECT source, substr(first_seen, 1, 10) AS day, COUNT(*) FROM articles "
                "WHERE first_seen >= ? GROUP BY source, day",
                (dates[0] if dates else utc_iso(now),)).fetchall() if dates else []
        index = {d: i for i, d in enumerate(dates)}
        out = {s: [0] * len(dates) for s in sources}
        for source, day, count in rows:
            if day in index:
                out[source][index[day]] = int(count)
        return out
