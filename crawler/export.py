"""Stored articles, with their bodies, as JSON lines or CSV (``chavder export``) — for a
spreadsheet, a notebook or another tool. Rows are read from the store a page at a time and
written as they come, so an export of a large store holds one page in memory, not the store.

URLs are exported as stored (percent-encoded, valid to request); only screens and mails show
them decoded. CSV is UTF-8 with a header row; list fields (authors, tags) are joined with
``"; "`` there and stay lists in JSON.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Protocol, TextIO

from crawler.store.base import utc_iso

#: The exported fields, in this order (the CSV header).
FIELDS = ("id", "story_id", "source", "language", "published_at", "updated_at", "title",
          "body", "summary", "authors", "section", "tags", "url", "image_url", "first_seen",
          "fetched_at", "revision")
_LISTS = ("authors", "tags")
PAGE = 500


class _Rows(Protocol):
    def iter_articles(self, source: str | None = None, *, after_id: int = 0,
                      limit: int | None = None) -> Iterable[dict]: ...


@dataclass(frozen=True)
class ExportFilter:
    """Which articles to export: one source, one language, a publication-time window (an
    article without a publication date counts from when it was first seen, as in search)."""

    source: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def accepts(self, row: dict) -> bool:
        if self.language and row.get("language") != self.language:
            return False
        when = row.get("published_utc") or row.get("first_seen")
        if self.since and (not when or when < (utc_iso(self.since) or "")):
            return False
        if self.until and (not when or when > (utc_iso(self.until) or "")):
            return False
        return True


def export_rows(store: _Rows, which: ExportFilter, page: int = PAGE) -> Iterator[dict]:
    """The exported form of every article ``which`` accepts, in id order, a page at a time."""
    after = 0
    while True:
        rows = list(store.iter_articles(which.source, after_id=after, limit=page))
        if not rows:
            return
        for row in rows:
            if which.accepts(row):
                yield exported(row)
        after = rows[-1]["id"]


def exported(row: dict) -> dict[str, Any]:
    """A stored row in the exported form: ``FIELDS``, the canonical URL, lists as lists."""
    out = {name: row.get(name) for name in FIELDS}
    out["url"] = row.get("canonical_url") or row.get("url")
    for name in _LISTS:
        out[name] = _as_list(row.get(name))
    return out


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        parsed = json.loads(value or "[]")
    except (TypeError, ValueError):
        return [str(value)]
    return [str(v) for v in parsed] if isinstance(parsed, list) else [str(parsed)]


def write_jsonl(rows: Iterable[dict], out: TextIO) -> int:
    """One JSON object per line (UTF-8, not \\u-escaped); returns the count."""
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(rows: Iterable[dict], out: TextIO) -> int:
    """A header row, then one row per article (RFC 4180 quoting: bodies keep their
    newlines); returns the count."""
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: "; ".join(v) if k in _LISTS else ("" if v is None else v)
                         for k, v in row.items()})
        n += 1
    return n


WRITERS = {"jsonl": write_jsonl, "csv": write_csv}
