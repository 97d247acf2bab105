"""Search stored articles with an alert rule: the matcher over the store, so ``search --rule``
finds exactly what the rule would alert on (every spelling variant and condition), which a
full-text query of the rule's spellings cannot (the FTS index has no variant keys)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from crawler.alerts.matcher import Matcher
from crawler.alerts.rules import Rule

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def search_rule(store: Any, rule: Rule, *, since: datetime | None = None,
                until: datetime | None = None, language: str | None = None,
                source: str | None = None, limit: int = 20,
                all_copies: bool = False) -> list[dict]:
    """Stored articles ``rule`` matches, newest first, one per story unless ``all_copies``;
    each row carries ``matched_terms``."""
    matcher = Matcher([rule])
    out: list[dict] = []
    stories: set[Any] = set()
    for row in reversed(store.articles_since(since or _EPOCH)):
        if language and row["language"] != language or source and row["source"] != source:
            continue
        if until and (row.get("published_at") or "") >= until.isoformat():
            continue
        if not all_copies and row["story_id"] in stories:
            continue
        matches = matcher.match(row["title"], row["body"], language=row["language"],
                                source=row["source"])
        if matches:
            stories.add(row["story_id"])
            out.append({k: row[k] for k in ("id", "story_id", "source", "title", "language",
                                            "canonical_url", "published_at")}
                       | {"matched_terms": matches[0].matched_terms})
            if len(out) >= limit:
                break
    return out
