"""Attention contract: matching stories per day/hour, split by language or source, and each
source's articles per day — on SQLite and on the real Elasticsearch and OpenSearch nodes,
compared with counts computed here from the fixture articles' own dates."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from crawler.store import SearchQuery
from crawler.text.dates import parse_iso
from tests.test_store_contract import article, store  # noqa: F401 - the backend fixture

# (story, source, language, published, matches "raqqa"): three outlets, three languages,
# copies of one story on different days and hours, an offset that moves a copy to the
# previous UTC day, one undated copy (first-seen time counts) and one that does not match.
FIXTURE = [
    ("a", "rok", "ar", "2017-06-01T07:30:00+00:00", True),
    ("a", "enab", "ar", "2017-06-01T09:10:00+00:00", True),
    ("a", "sorani", "ckb", "2017-06-02T01:00:00+00:00", True),
    ("b", "rok", "ar", "2017-06-01T07:45:00+00:00", True),
    ("c", "sorani", "ckb", "2017-06-02T01:30:00+03:00", True),     # 2017-06-01 22:30 UTC
    ("d", "kurmanji", "kmr", "2017-06-03T12:00:00+00:00", True),
    ("d", "rok", "ar", "2017-06-03T12:20:00+00:00", True),
    ("e", "enab", "ar", None, True),
    ("f", "rok", "ar", "2017-06-01T08:00:00+00:00", False),
]


def fill(store) -> list[tuple[int, str, str, datetime]]:  # noqa: F811
    """Store the fixture; returns (story id, source, language, UTC time) of matching copies."""
    story_ids: dict[str, int] = {}
    out = []
    for n, (label, source, lang, published, matches) in enumerate(FIXTURE, 1):
        word = "Raqqa" if matches else "Barqa"
        a = article(n, title=f"{word} {label}", body=f"Report {n} from {word} city.",
                    lang=lang, source=source, published=published)
        result = store.upsert(a, f"example.org/{n}", story_id=story_ids.get(label))
        story_ids.setdefault(label, result.story_id)
        if matches:
            when = parse_iso(published or store.article_row(f"example.org/{n}")["first_seen"])
            out.append((result.story_id, source, lang, when.astimezone(timezone.utc)))
    return out


def expected(copies, interval: str, split: str | None, keep=lambda c: True):
    stories: dict[tuple[datetime, str | None], set[int]] = defaultdict(set)
    for story, source, lang, when in filter(keep, copies):
        start = when.replace(minute=0, second=0, microsecond=0)
        if interval == "day":
            start = start.replace(hour=0)
        key = {"language": lang, "source": source, None: None}[split]
        stories[start, key].add(story)
    return sorted(((s, k, len(v)) for (s, k), v in stories.items()),
                  key=lambda t: (t[0], t[1] or ""))


def as_tuples(buckets):
    return [(b.start, b.key, b.stories) for b in buckets]


def test_attention_counts_distinct_stories_per_bucket(store):  # noqa: F811
    copies = fill(store)
    for interval in ("day", "hour"):
        for split in (None, "language", "source"):
            got = as_tuples(store.attention(SearchQuery("raqqa"), interval=interval,
                                            split=split))
            assert got == expected(copies, interval, split), (interval, split)
    day1 = datetime(2017, 6, 1, tzinfo=timezone.utc)
    # story a has three copies, two on 1 June: one story that day, once per outlet split
    assert as_tuples(store.attention(SearchQuery("raqqa")))[0] == (day1, None, 3)
    # filters and the date range are search's; limit and offset do not apply
    q = SearchQuery("raqqa", source="rok", limit=1, offset=5)
    assert as_tuples(store.attention(q)) == expected(copies, "day", None,
                                                     lambda c: c[1] == "rok")
    q = SearchQuery("raqqa", since=day1 + timedelta(hours=8), until=datetime(2017, 6, 3))
    assert as_tuples(store.attention(q, interval="hour")) == expected(
        copies, "hour", None, lambda c: day1 + timedelta(hours=8) <= c[3] < datetime(
            2017, 6, 3, tzinfo=timezone.utc))
    assert store.attention(SearchQuery("nothingmatches")) == []
    assert store.attention(SearchQuery("  ")) == []
    with pytest.raises(ValueError, match="interval"):
        store.attention(SearchQuery("raqqa"), interval="week")


def test_source_activity_counts_articles_first_seen_per_day(store):  # noqa: F811
    fill(store)
    now = datetime.now(timezone.utc)
    days = [(now.date() - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    want = {s: [0, 0, 0] for s in sorted({row[1] for row in FIXTURE})}
    for n in range(1, len(FIXTURE) + 1):
        row = store.article_row(f"example.org/{n}")
        day = parse_iso(row["first_seen"]).astimezone(timezone.utc).date().isoformat()
        want[row["source"]][days.index(day)] += 1
    assert store.source_activity(3, now) == want
    # a week later nothing was first seen, but every source still has its row
    assert store.source_activity(2, now + timedelta(days=7)) == {s: [0, 0] for s in want}
