"""Crawl state over the SQLite tables (the ``CrawlState`` and ``ServiceSchedule`` roles):
HTTP validators, fetch errors, crawl runs, per-source health and the service's schedule."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable

from crawler.store.base import utc_now_iso
from crawler.store.sqlite.tables import Tables


class CrawlStateTables(Tables):
    """What the spiders and the service remember between runs, besides the articles."""

    def http_validators(self, url: str) -> tuple[str | None, str | None]:
        with self._lock:
            row = self._db.execute("SELECT etag, last_modified FROM http_cache WHERE url=?",
                                   (url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_http_validators(self, url: str, etag: str | None,
                             last_modified: str | None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO http_cache(url, etag, last_modified, checked_at) VALUES (?,?,?,?) "
                "ON CONFLICT(url) DO UPDATE SET etag=excluded.etag, "
                "last_modified=excluded.last_modified, checked_at=excluded.checked_at",
                (url, etag, last_modified, utc_now_iso()))

    def record_fetch_error(self, source: str, url: str, reason: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO fetch_errors(source, url, reason, at) VALUES (?,?,?,?)",
                             (source, url, reason[:500], utc_now_iso()))

    def recent_failures(self, urls: Iterable[str], since: str,
                        ignore_prefix: str = "") -> dict[str, tuple[int, str]]:
        """Per URL that failed since ``since`` (ISO UTC): (failures, last failure time).
        Reasons starting with ``ignore_prefix`` (our own store's faults) do not count."""
        wanted = list(dict.fromkeys(urls))
        out: dict[str, tuple[int, str]] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for url, n, last in self._db.execute(
                        f"SELECT url, COUNT(*), MAX(at) FROM fetch_errors WHERE url IN ({marks}) "
                        "AND at >= ? AND (? = '' OR substr(reason, 1, length(?)) != ?) "
                        "GROUP BY url", (*chunk, since, ignore_prefix, ignore_prefix,
                                         ignore_prefix)):
                    out[url] = (n, last)
        return out

    def fetch_errors(self, source: str | None = None) -> list[dict]:
        with self._lock:
            sql = "SELECT source, url, reason, at FROM fetch_errors"
            rows = self._db.execute(sql + (" WHERE source=?" if source else "") + " ORDER BY id",
                                    (source,) if source else ()).fetchall()
        return [dict(r) for r in rows]

    def record_crawl(self, source: str, started_at: str, finished_at: str,
                     counts: dict[str, int]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO crawl_runs(source, started_at, finished_at, counts) VALUES (?,?,?,?)",
                (source, started_at, finished_at, json.dumps(counts, sort_keys=True)))

    # ------------------------------------------------------------------ service state
    def save_next_run(self, source: str, next_run: str, started: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO service_schedule(source, next_run, last_started, updated_at) "
                "VALUES (?,?,?,?) ON CONFLICT(source) DO UPDATE SET next_run=excluded.next_run, "
                "last_started=COALESCE(excluded.last_started, last_started), "
                "updated_at=excluded.updated_at", (source, next_run, started, utc_now_iso()))

    def schedule_state(self) -> dict[str, dict]:
        with self._lock:
            return {r["source"]: dict(r) for r in
                    self._db.execute("SELECT * FROM service_schedule")}

    def source_status(self) -> dict[str, dict]:
        """Per source: last finished crawl and its counts, last error, articles in 24 h."""
        since = datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() - 86400,
                                       timezone.utc).replace(microsecond=0).isoformat()
        out: dict[str, dict] = {}
        with self._lock:
            for row in self._db.execute(
                    "SELECT source, MAX(finished_at) AS finished, counts FROM crawl_runs "
                    "GROUP BY source"):
                out.setdefault(row[0], {})["last_crawl"] = row[1]
                out[row[0]]["last_counts"] = json.loads(row[2])
            for row in self._db.execute(
                    "SELECT source, MAX(finished_at) FROM crawl_runs WHERE "
                    "json_extract(counts, '$.errors') = 0 GROUP BY source"):
                out.setdefault(row[0], {})["last_success"] = row[1]
            for row in self._db.execute(
                    "SELECT f.source, f.at, f.url, f.reason FROM fetch_errors f JOIN "
                    "(SELECT source, MAX(id) AS id FROM fetch_errors GROUP BY source) m "
                    "ON m.id = f.id"):
                out.setdefault(row[0], {})["last_error"] = {"at": row[1], "url": row[2],
                                                            "reason": row[3]}
            for row in self._db.execute(
                    "SELECT source, COUNT(*) FROM articles WHERE first_seen >= ? GROUP BY "
                    "source", (since,)):
                out.setdefault(row[0], {})["articles_24h"] = row[1]
        return out

    def recent_articles(self, source: str, limit: int = 20) -> list[dict]:
        """A source's newest articles by first-seen time, without their text (the web
        interface's source page; index ``articles_source_seen``)."""
        with self._lock:
            return [dict(r) for r in self._db.execute(
                "SELECT id, story_id, title, canonical_url, language, published_at, first_seen "
                "FROM articles WHERE source=? ORDER BY first_seen DESC, id DESC LIMIT ?",
                (source, limit))]
