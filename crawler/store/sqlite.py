"""Embedded SQLite store (WAL, FTS5): the default backend, no server needed.

Full-text search runs over *analysed* text (``crawler.text.index_terms``), so Arabic/Kurdish
normalisation and clitic handling apply to both indexing and queries. Writes are short
transactions; a crash leaves either the old or the new row, never half of one.
"""
from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from crawler.alerts.recipient_keys import ledger_key
from crawler.models import Article
from crawler.store.base import (KnownArticle, SearchHit, SearchQuery, UpsertResult,
                                to_utc_iso, utc_now_iso)
from crawler.store import claims
from crawler.store.faults import translating, unusable
from crawler.store.migrate import Step, migrate
from crawler.store.sqlite_digests import DigestLedgerMixin
from crawler.text import index_terms, query_terms, tokens

# Each entry migrates from version i to i+1 (see crawler.store.migrate). Never edit a released
# entry; append a new one.
MIGRATIONS: list[Step] = [
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        url_key TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        authors TEXT NOT NULL DEFAULT '[]',
        published_at TEXT,
        published_utc TEXT,
        updated_at TEXT,
        updated_utc TEXT,
        language TEXT,
        image_url TEXT,
        section TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        fetched_at TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        revision INTEGER NOT NULL DEFAULT 1,
        previous_hashes TEXT NOT NULL DEFAULT '[]',
        index_updated_at TEXT,
        story_id INTEGER NOT NULL
    );
    CREATE INDEX articles_source ON articles(source, published_utc);
    CREATE INDEX articles_published ON articles(published_utc);
    CREATE INDEX articles_story ON articles(story_id);
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        representative_id INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, tokenize = "unicode61 remove_diacritics 0"
    );
    CREATE TABLE url_aliases (
        alias_key TEXT PRIMARY KEY,
        article_id INTEGER NOT NULL
    );
    CREATE TABLE http_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        checked_at TEXT NOT NULL
    );
    CREATE TABLE fetch_errors (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX fetch_errors_source ON fetch_errors(source, at);
    CREATE TABLE crawl_runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        counts TEXT NOT NULL
    );
    CREATE INDEX crawl_runs_source ON crawl_runs(source, finished_at);
    """,
    # v2: alert ledger (exactly-once bookkeeping) and digest items. Matching marks each article
    # revision as checked in the same transaction that queues its alerts (outbox pattern), so a
    # crash between storing and matching is repaired by a sweep, never lost.
    """
    ALTER TABLE articles ADD COLUMN alerts_checked_revision INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX articles_alert_check ON articles(alerts_checked_revision, revision);
    CREATE TABLE alert_ledger (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        article_id INTEGER NOT NULL,
        matched_terms TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (rule, story_id, recipient)
    );
    CREATE INDEX alert_ledger_due ON alert_ledger(state, next_attempt_at);
    CREATE TABLE digest_items (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        article_id INTEGER NOT NULL,
        matched_terms TEXT NOT NULL DEFAULT '[]',
        matched_at TEXT NOT NULL,
        digest_id INTEGER,
        UNIQUE (rule, story_id, recipient)
    );
    CREATE INDEX digest_items_pending ON digest_items(recipient, digest_id, matched_at);
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        period_key TEXT NOT NULL,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        message_id TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (recipient, period_key)
    );
    """,
    # v3: deduplication — exact body fingerprint, MinHash signature, numeric publication time
    # (the near-duplicate index is rebuilt from these at start-up) and the representative's time.
    """
    ALTER TABLE articles ADD COLUMN body_fingerprint TEXT;
    ALTER TABLE articles ADD COLUMN signature BLOB;
    ALTER TABLE articles ADD COLUMN published_ts REAL;
    CREATE INDEX articles_fingerprint ON articles(body_fingerprint, published_ts);
    CREATE INDEX articles_published_ts ON articles(published_ts);
    ALTER TABLE stories ADD COLUMN representative_ts REAL;
    """,
    # v4: the service's schedule, so a restart neither re-polls everything at once nor forgets.
    """
    CREATE TABLE service_schedule (
        source TEXT PRIMARY KEY,
        next_run TEXT NOT NULL,
        last_started TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # v5: article URLs that keep failing are backed off (see recent_failures).
    """
    CREATE INDEX fetch_errors_url ON fetch_errors(url, at);
    """,
    # v6: every insert or content change of an article takes the next change number, so a
    # process can fetch the signatures other processes stored since it last looked
    # (``story_changes``) and stories agree across concurrent writers.
    """
    ALTER TABLE articles ADD COLUMN change_seq INTEGER;
    CREATE INDEX articles_change_seq ON articles(change_seq);
    """,
    # v7 (delivery ledger): claims with an owner — ``sending`` rows carry who sends them
    # (``claimed_by``, see crawler/delivery/lease.py) and their lease expiry (``next_attempt_at``);
    # ``last_attempt_at`` dates a failure for ``chavder status``. Recipients are stored by
    # their redacted key only: old raw Apprise URLs (bot tokens) are rewritten, with
    # secure_delete so the old bytes are zeroed, not left in free pages.
    """
    PRAGMA secure_delete=ON;
    ALTER TABLE alert_ledger ADD COLUMN claimed_by TEXT;
    ALTER TABLE alert_ledger ADD COLUMN last_attempt_at TEXT;
    ALTER TABLE digests ADD COLUMN claimed_by TEXT;
    UPDATE alert_ledger SET recipient = chavder_ledger_key(recipient)
        WHERE recipient LIKE 'apprise:%';
    UPDATE digest_items SET recipient = chavder_ledger_key(recipient)
        WHERE recipient LIKE 'apprise:%';
    UPDATE digests SET recipient = chavder_ledger_key(recipient)
        WHERE recipient LIKE 'apprise:%';
    PRAGMA secure_delete=OFF;
    """,
    # v8: where an article's text came from — 'page', or 'feed' when the page could not be
    # fetched (or was an anti-bot challenge) and the feed/API item carried the whole article.
    """
    ALTER TABLE articles ADD COLUMN extracted_from TEXT NOT NULL DEFAULT 'page';
    """,
]

_SNIPPET_WORDS = 14


def _iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def connect(path: str | Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """An autocommit WAL connection usable from any thread (callers serialise with their own
    lock), waiting up to 30 s for other writers; creates the parent directory."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=_BUSY_SECONDS, check_same_thread=False,
                         isolation_level=None)
    try:
        _enter_wal(db)
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute(f"PRAGMA busy_timeout={int(_BUSY_SECONDS * 1000)}")
    except BaseException:
        db.close()
        raise
    return db


_BUSY_SECONDS = 30.0


def _enter_wal(db: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds a lock: switching a
    fresh file to WAL needs an exclusive lock and SQLite answers "database is locked" at once
    instead of waiting (processes opening a new store together hit it). Once the file is in
    WAL mode — it stays so — the pragma takes no lock."""
    deadline = time.monotonic() + _BUSY_SECONDS
    pause = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED") \
                or "locked" in str(exc)
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(0.1, pause * 2)


@translating
class SQLiteStore(DigestLedgerMixin):
    """Store backend over one SQLite file. Thread-safe through one connection and a lock.

    A corrupt, truncated, read-only or unreadable file raises ``StoreUnusable`` (one line
    saying what to do), at opening or from any method. ``write=False`` opens for reading only
    (search, status): a read-only file is then fine; otherwise writing is checked at once."""

    def __init__(self, path: str | Path, *, write: bool = True):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._in_write = False
        self._after_commit: list[Callable[[], None]] = []
        try:
            self._db = connect(path, synchronous="NORMAL")
        except sqlite3.Error as exc:
            _raise_unusable(exc, self.path)
            raise
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.create_function("chavder_ledger_key", 1, ledger_key, deterministic=True)
            migrate(self._db, MIGRATIONS, self.path)
            if write:
                self._check_writable()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.Error):
                _raise_unusable(exc, self.path)
            raise

    # ------------------------------------------------------------------ schema
    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _check_writable(self) -> None:
        """Fail now, not at the first article, when this user cannot write the file (SQLite
        opens such a file read-only without a word; taking the lock is not a write)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(f"PRAGMA user_version={self.schema_version}")
            finally:
                self._db.execute("ROLLBACK")

    # ------------------------------------------------------------------ write transactions
    @contextlib.contextmanager
    def story_transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``: one writer at a time, across processes)
        for deciding an article's story *and* storing it: what is read inside — other
        processes' rows included (``story_changes``) — cannot change before the write commits.
        ``upsert`` inside joins it; ``after_commit`` callbacks run once it committed."""
        try:
            with self._write():
                yield
        except sqlite3.Error as exc:
            _raise_unusable(exc, self.path)
            raise

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` when the current write transaction commits (now if there is none);
        dropped if it rolls back. For side effects outside this file (the index spool)."""
        with self._lock:
            if self._in_write:
                self._after_commit.append(action)
                return
        action()

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            if self._in_write:           # nested: part of the enclosing transaction
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._in_write = True
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._after_commit.clear()
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._in_write = False
            actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()

    # ------------------------------------------------------------------ articles
    def known(self, url_keys: Iterable[str]) -> dict[str, KnownArticle]:
        keys = list(dict.fromkeys(url_keys))
        found: dict[str, KnownArticle] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                        f"SELECT url_key, content_hash, index_updated_at, fetched_at "
                        f"FROM articles WHERE url_key IN ({marks})", chunk):
                    found[row[0]] = KnownArticle(row[0], row[1], row[2], row[3])
                for row in self._db.execute(
                        f"SELECT u.alias_key, a.content_hash, a.index_updated_at, a.fetched_at "
                        f"FROM url_aliases u JOIN articles a ON a.id = u.article_id "
                        f"WHERE u.alias_key IN ({marks})", chunk):
                    found.setdefault(row[0], KnownArticle(row[0], row[1], row[2], row[3]))
        return found

    def get_article(self, url_key: str) -> Article | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM articles WHERE url_key=?",
                                   (url_key,)).fetchone()
        return _row_to_article(row) if row else None

    def article_row(self, url_key: str) -> dict | None:
        """The stored row as a dict (revision, story_id, … included), for tools and tests."""
        with self._lock:
            row = self._db.execute("SELECT * FROM articles WHERE url_key=?",
                                   (url_key,)).fetchone()
        return dict(row) if row else None

    def upsert(self, article: Article, url_key: str, aliases: Iterable[str] = (),
               index_updated_at: str | None = None, *, story_id: int | None = None,
               fingerprint: str | None = None, signature: bytes | None = None,
               published_ts: float | None = None) -> UpsertResult:
        """Insert, update in place (content changed) or touch (unchanged) one article.

        ``aliases`` are other URL keys of the same article (the requested URL, redirects):
        they are remembered so the spiders can skip them before any request.
        """
        now = utc_now_iso()
        fields = _article_columns(article)
        if fingerprint is not None:
            fields.update(body_fingerprint=fingerprint, signature=signature,
                          published_ts=published_ts)
        alias_keys = [k for k in dict.fromkeys(aliases) if k and k != url_key]
        with self._write():
            row = self._find_row(url_key, alias_keys)
            if row is None:
                result = self._insert(fields, url_key, index_updated_at, now, story_id)
            elif row["content_hash"] == article.content_hash:
                self._db.execute(
                    "UPDATE articles SET fetched_at=?, index_updated_at=COALESCE(?, "
                    "index_updated_at) WHERE id=?",
                    (fields["fetched_at"] or now, index_updated_at, row["id"]))
                result = UpsertResult("unchanged", row["id"], row["story_id"], row["revision"])
            else:
                previous = json.loads(row["previous_hashes"]) + [row["content_hash"]]
                seq = self._next_change()
                assignments = ", ".join(f"{k}=:{k}" for k in fields)
                self._db.execute(
                    f"UPDATE articles SET {assignments}, revision=revision+1, "
                    f"previous_hashes=:previous, index_updated_at=COALESCE(:iua, "
                    f"index_updated_at), change_seq=:seq WHERE id=:id",
                    {**fields, "previous": json.dumps(previous[-20:]),
                     "iua": index_updated_at, "id": row["id"], "seq": seq})
                self._index(row["id"], article.title, article.body, article.language,
                            replace=True)
                self._db.execute("UPDATE stories SET last_seen=? WHERE id=?",
                                 (now, row["story_id"]))
                result = UpsertResult("updated", row["id"], row["story_id"],
                                      row["revision"] + 1, seq)
            for alias in alias_keys:
                self._db.execute("INSERT OR IGNORE INTO url_aliases(alias_key, article_id) "
                                 "VALUES (?, ?)", (alias, result.article_id))
        return result

    def _next_change(self) -> int:
        """The next change number (inside a write transaction, so no other writer can take
        the same one)."""
        return int(self._db.execute("SELECT COALESCE(MAX(change_seq), 0) + 1 FROM articles"
                                    ).fetchone()[0])

    def _find_row(self, url_key: str, alias_keys: list[str]) -> sqlite3.Row | None:
        columns = "id, content_hash, revision, previous_hashes, story_id"
        row = self._db.execute(f"SELECT {columns} FROM articles WHERE url_key=?",
                               (url_key,)).fetchone()
        if row is not None:
            return row
        for key in [url_key, *alias_keys]:
            row = self._db.execute(
                f"SELECT {columns} FROM articles WHERE id=(SELECT article_id FROM url_aliases "
                f"WHERE alias_key=?)", (key,)).fetchone()
            if row is not None:
                return row
        return None

    def _insert(self, fields: dict, url_key: str, index_updated_at: str | None,
                now: str, join_story: int | None) -> UpsertResult:
        ts = fields.get("published_ts")
        story_id = None
        if join_story is not None and self._db.execute(
                "SELECT 1 FROM stories WHERE id=?", (join_story,)).fetchone():
            story_id = join_story
            self._db.execute("UPDATE stories SET last_seen=? WHERE id=?", (now, story_id))
        else:
            cur = self._db.execute(
                "INSERT INTO stories(representative_id, first_seen, last_seen, "
                "representative_ts) VALUES (0, ?, ?, ?)", (now, now, ts))
            story_id = cur.lastrowid
        seq = self._next_change()
        columns = list(fields) + ["url_key", "first_seen", "index_updated_at", "story_id",
                                  "change_seq"]
        values = {**fields, "url_key": url_key, "first_seen": now,
                  "index_updated_at": index_updated_at, "story_id": story_id, "change_seq": seq}
        cur = self._db.execute(
            f"INSERT INTO articles({', '.join(columns)}) VALUES "
            f"({', '.join(':' + c for c in columns)})", values)
        article_id = cur.lastrowid
        # the representative is the first-published article of the story
        self._db.execute(
            "UPDATE stories SET representative_id=?, representative_ts=? WHERE id=? AND "
            "(representative_id=0 OR (? IS NOT NULL AND (representative_ts IS NULL OR "
            "? < representative_ts)))", (article_id, ts, story_id, ts, ts))
        self._index(article_id, fields["title"], fields["body"], fields["language"])
        return UpsertResult("new", article_id, story_id, 1, seq)

    def _index(self, article_id: int, title: str, body: str, language: str | None,
               replace: bool = False) -> None:
        if replace:
            self._db.execute("DELETE FROM articles_fts WHERE rowid=?", (article_id,))
        self._db.execute("INSERT INTO articles_fts(rowid, title, body) VALUES (?, ?, ?)",
                         (article_id, index_terms(title, language), index_terms(body, language)))

    # ------------------------------------------------------------------ dedup lookups
    def by_url_key(self, url_key: str):
        """StoryLookup: the article stored under this key or one of its aliases."""
        from crawler.dedup.stories import StoredCopy
        with self._lock:
            row = self._find_row(url_key, [])
            if row is None:
                return None
            extra = self._db.execute("SELECT body_fingerprint, published_ts FROM articles "
                                     "WHERE id=?", (row["id"],)).fetchone()
        return StoredCopy(row["id"], row["story_id"], extra[0] or "", row["content_hash"],
                          extra[1])

    def by_fingerprint(self, fingerprint: str, since_ts: float):
        from crawler.dedup.stories import StoredCopy
        with self._lock:
            row = self._db.execute(
                "SELECT id, story_id, body_fingerprint, content_hash, published_ts FROM articles "
                "WHERE body_fingerprint=? AND published_ts>=? ORDER BY published_ts, id LIMIT 1",
                (fingerprint, since_ts)).fetchone()
        return StoredCopy(row[0], row[1], row[2], row[3], row[4]) if row else None

    def body_of(self, article_id: int) -> tuple[str, str | None] | None:
        with self._lock:
            row = self._db.execute("SELECT body, language FROM articles WHERE id=?",
                                   (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def signature_rows(self, since_ts: float) -> list[tuple[int, int, bytes, float]]:
        """(article_id, story_id, signature, published_ts) for rebuilding the LSH index."""
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                "SELECT id, story_id, signature, published_ts FROM articles WHERE "
                "signature IS NOT NULL AND published_ts >= ?", (since_ts,))]

    def story_seq(self) -> int:
        """The latest change number: take it *before* ``signature_rows`` when rebuilding, then
        ``story_changes`` from it misses nothing."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(change_seq), 0) FROM articles"
                                        ).fetchone()[0])

    def story_changes(self, after_seq: int) -> tuple[list[tuple[int, int, bytes | None, float]],
                                                     int]:
        """Articles stored or changed after change ``after_seq`` (by any process), as
        (article_id, story_id, signature, published_ts), and the latest change number. Inside
        ``story_transaction`` nothing can be added before this process's own write."""
        with self._lock:
            rows = [tuple(r) for r in self._db.execute(
                "SELECT id, story_id, signature, published_ts FROM articles WHERE change_seq > ? "
                "ORDER BY change_seq", (after_seq,))]
            latest = self.story_seq() if rows else after_seq
        return rows, latest

    def story(self, story_id: int) -> dict | None:
        """A story with its representative and every copy (for ``chavder story``)."""
        with self._lock:
            story = self._db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
            if story is None:
                return None
            copies = [dict(r) for r in self._db.execute(
                "SELECT id, source, title, canonical_url, published_at, language, revision, "
                "first_seen FROM articles WHERE story_id=? ORDER BY "
                "COALESCE(published_utc, first_seen), id", (story_id,))]
        return {**dict(story), "articles": copies,
                "outlets": list(dict.fromkeys(c["source"] for c in copies))}

    def count_articles(self, source: str | None = None) -> int:
        with self._lock:
            if source:
                return self._db.execute("SELECT COUNT(*) FROM articles WHERE source=?",
                                        (source,)).fetchone()[0]
            return self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def count_stories(self) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(DISTINCT story_id) FROM articles").fetchone()[0]

    def iter_articles(self, source: str | None = None) -> Iterable[dict]:
        with self._lock:
            sql = "SELECT * FROM articles" + (" WHERE source=?" if source else "") + " ORDER BY id"
            rows = self._db.execute(sql, (source,) if source else ()).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ search
    def search(self, query: SearchQuery) -> list[SearchHit]:
        match = fts_match_expression(query.text, query.language)
        if not match:
            return []
        where = ["articles_fts MATCH ?"]
        params: list = [match]
        if query.language:
            where.append("a.language = ?")
            params.append(query.language)
        if query.source:
            where.append("a.source = ?")
            params.append(query.source)
        if query.since:
            where.append("COALESCE(a.published_utc, a.first_seen) >= ?")
            params.append(_iso_utc(query.since))
        if query.until:
            where.append("COALESCE(a.published_utc, a.first_seen) < ?")
            params.append(_iso_utc(query.until))
        sql = (f"SELECT a.*, -bm25(articles_fts, 3.0, 1.0) AS score FROM articles_fts "
               f"JOIN articles a ON a.id = articles_fts.rowid WHERE {' AND '.join(where)} "
               f"ORDER BY score DESC, COALESCE(a.published_utc, a.first_seen) DESC LIMIT ?")
        fetch = query.limit if query.all_copies else query.limit * 5
        with self._lock:
            rows = self._db.execute(sql, params + [fetch]).fetchall()
            hits: list[SearchHit] = []
            seen_stories: set[int] = set()
            for row in rows:
                if not query.all_copies:
                    if row["story_id"] in seen_stories:
                        continue
                    seen_stories.add(row["story_id"])
                others = [] if query.all_copies else [r[0] for r in self._db.execute(
                    "SELECT DISTINCT source FROM articles WHERE story_id=? AND source<>? "
                    "ORDER BY source", (row["story_id"], row["source"]))]
                hits.append(SearchHit(
                    article_id=row["id"], story_id=row["story_id"], url=row["canonical_url"],
                    title=row["title"], source=row["source"], language=row["language"],
                    published_at=row["published_at"],
                    snippet=make_snippet(row["body"], query.text, row["language"]),
                    score=float(row["score"]), also_reported_by=others))
                if len(hits) >= query.limit:
                    break
        return hits

    # ------------------------------------------------------------------ crawl state
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

    # ------------------------------------------------------------------ alert ledger
    def articles_to_check(self, limit: int = 500) -> list[dict]:
        """Article revisions not yet matched against the alert rules (the outbox sweep)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, story_id, revision, source, title, body, language, canonical_url, "
                "published_at FROM articles WHERE alerts_checked_revision < revision "
                "ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def record_matches(self, article_id: int, revision: int, story_id: int,
                       instant: Iterable[tuple[str, str, list[str]]],
                       digest: Iterable[tuple[str, str, list[str]]]) -> int:
        """Queue alerts for one checked article revision, atomically with marking it checked.

        ``instant``/``digest``: (rule, recipient key, matched terms). A (rule, story, recipient)
        is queued at most once ever: syndicated copies and updates of an alerted story don't
        alert again. Returns how many new instant alerts were queued.
        """
        now = utc_now_iso()
        queued = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for rule, recipient, terms in instant:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO alert_ledger(rule, story_id, recipient, article_id, "
                        "matched_terms, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?)",
                        (rule, story_id, recipient, article_id,
                         json.dumps(terms, ensure_ascii=False), now, now))
                    queued += cur.rowcount
                for rule, recipient, terms in digest:
                    self._db.execute(
                        "INSERT OR IGNORE INTO digest_items(rule, story_id, recipient, article_id, "
                        "matched_terms, matched_at) VALUES (?,?,?,?,?,?)",
                        (rule, story_id, recipient, article_id,
                         json.dumps(terms, ensure_ascii=False), now))
                self._db.execute("UPDATE articles SET alerts_checked_revision=? WHERE id=? AND "
                                 "alerts_checked_revision < ?", (revision, article_id, revision))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return queued

    def articles_since(self, since: datetime) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, story_id, revision, source, title, body, language, canonical_url, "
                "published_at FROM articles WHERE COALESCE(published_utc, first_seen) >= ? "
                "ORDER BY id", (_iso_utc(since),)).fetchall()
        return [dict(r) for r in rows]

    # Delivery is claim → send → mark (see crawler/alerting.py): ``claim_alert`` is the one
    # compare-and-set that decides which process sends a row; marks after it are conditional
    # on still holding the claim, except ``sent`` (a delivered message is a fact).
    def due_alerts(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                   ) -> list[dict]:
        """Rows to deliver now: pending and due, or ``sending`` and reclaimable."""
        dead = list(reclaim_from)
        with self._lock:
            rows = self._db.execute(
                "SELECT l.*, a.title, a.body, a.canonical_url, a.source, a.language, "
                "a.published_at FROM alert_ledger l JOIN articles a ON a.id = l.article_id "
                f"WHERE {claims.due(dead, 'l')} ORDER BY l.id LIMIT :limit",
                {"now": now, "limit": limit, **claims.params(dead)}).fetchall()
        return [dict(r) for r in rows]

    def alert_claim_owners(self, now: str) -> list[str]:
        """Owners holding an unexpired claim (the caller checks which of them are dead)."""
        with self._lock:
            return claims.claim_owners(self._db, "alert_ledger", now)

    def claim_alert(self, alert_id: int, owner: str, now: str, lease_until: str,
                    message_id: str | None = None, reclaim_from: Iterable[str] = ()
                    ) -> int | None:
        """Compare-and-set a due ``pending`` or reclaimable ``sending`` row → ``sending`` by
        ``owner`` until ``lease_until`` (attempts + 1). Returns the attempt number, or None
        when another sender holds the row or it is no longer due."""
        with self._lock:
            return claims.claim(self._db, "alert_ledger", alert_id, owner, now, lease_until,
                                message_id, reclaim_from, stamp=True)

    def mark_alert(self, alert_id: int, state: str, *, error: str | None = None,
                   next_attempt_at: str | None = None, owner: str | None = None) -> bool:
        """Move a ledger row to ``sent`` / ``pending`` (retry) / ``failed`` (``sending`` is
        :meth:`claim_alert`'s). With ``owner``, a ``pending``/``failed`` mark applies only
        while that owner still holds the claim. Returns whether the row changed."""
        if state not in ("sent", "pending", "failed"):
            raise ValueError(f"mark_alert: unknown or unmarkable state {state!r} (a row becomes "
                             "'sending' only through claim_alert)")
        with self._lock:
            return claims.mark(self._db, "alert_ledger", alert_id, state, utc_now_iso(),
                               error=error, next_attempt_at=next_attempt_at, owner=owner)

    def requeue_alerts(self, now: str, *, failed: bool = False) -> dict[str, int]:
        """``chavder alerts retry``: rows waiting for a retry become due now; with ``failed``,
        failed rows too, with a fresh attempt budget. Returns counts per former state."""
        states = ["pending", "failed"] if failed else ["pending"]
        out: dict[str, int] = {}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for state in states:
                    cur = self._db.execute(
                        "UPDATE alert_ledger SET state='pending', next_attempt_at=?, "
                        "attempts=CASE WHEN state='failed' THEN 0 ELSE attempts END "
                        "WHERE state=? AND (state='failed' OR next_attempt_at > ?)",
                        (now, state, now))
                    out[state] = cur.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return out

    def failed_alerts(self, limit: int = 20) -> list[dict]:
        """Failed rows, newest first, with their reason and article title (``status``)."""
        with self._lock:
            return [dict(r) for r in self._db.execute(
                "SELECT l.id, l.rule, l.recipient, l.story_id, l.attempts, l.last_error, "
                "COALESCE(l.last_attempt_at, l.created_at) AS failed_at, a.title, "
                "a.canonical_url FROM alert_ledger l LEFT JOIN articles a ON "
                "a.id = l.article_id WHERE l.state='failed' ORDER BY l.id DESC LIMIT ?",
                (limit,))]

    def alert_counts(self) -> dict[str, int]:
        with self._lock:
            return {r[0]: r[1] for r in self._db.execute(
                "SELECT state, COUNT(*) FROM alert_ledger GROUP BY state")}

    def alert_rows(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._db.execute("SELECT * FROM alert_ledger ORDER BY id")]

    def story_sources(self, story_id: int) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT source FROM articles WHERE story_id=? GROUP BY source "
                "ORDER BY MIN(COALESCE(published_utc, first_seen))", (story_id,))]

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

    def metrics_snapshot(self) -> dict:
        """Counts for Prometheus, computed from the tables (true across restarts)."""
        with self._lock:
            return {
                "articles": [tuple(r) for r in self._db.execute(
                    "SELECT source, COALESCE(language, 'und'), COUNT(*) FROM articles "
                    "GROUP BY 1, 2")],
                "fetch_errors": [tuple(r) for r in self._db.execute(
                    "SELECT source, reason, COUNT(*) FROM fetch_errors GROUP BY 1, 2")],
                "alerts": [tuple(r) for r in self._db.execute(
                    "SELECT state, COUNT(*) FROM alert_ledger GROUP BY 1")],
                "digests": [tuple(r) for r in self._db.execute(
                    "SELECT state, COUNT(*) FROM digests GROUP BY 1")],
                "last_crawl": [tuple(r) for r in self._db.execute(
                    "SELECT source, MAX(finished_at) FROM crawl_runs GROUP BY 1")],
            }

    def integrity_check(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass    # a statistics refresh; a read-only or damaged file must still close
            finally:
                self._db.close()


# ---------------------------------------------------------------------- helpers

def _raise_unusable(exc: sqlite3.Error, path: Path) -> None:
    """Raise ``exc`` as ``StoreUnusable`` if it is that kind of fault (else return)."""
    fault = unusable(exc, path)
    if fault is not None and fault is not exc:
        raise fault from exc


_PHRASE = re.compile(r'"([^"]+)"|(\S+)')


def fts_match_expression(text: str, language: str | None = None) -> str:
    """User query → FTS5 MATCH expression over analysed terms.

    Words are ANDed; a "quoted phrase" becomes a NEAR group (documents carry several keys per
    token, so exact adjacency does not hold in the analysed column). ``OR`` between words works.
    """
    parts: list[str] = []
    for m in _PHRASE.finditer(text):
        if m.group(2) == "OR":
            parts.append("OR")
            continue
        words = query_terms(m.group(1) or m.group(2), language)
        words = [w.replace('"', '""') for w in words if w]
        if not words:
            continue
        if len(words) == 1:
            parts.append(f'"{words[0]}"')
        else:
            quoted = " ".join(f'"{w}"' for w in words)
            parts.append(f"NEAR({quoted}, {4 * (len(words) - 1)})")
    while parts and parts[0] == "OR":
        parts.pop(0)
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


def make_snippet(body: str, query: str, language: str | None,
                 mark: tuple[str, str] = ("«", "»")) -> str:
    """A window of the original body around the first query hit, hits marked."""
    keys = {k for k in query_terms(query.replace('"', " "), language) if k}
    toks = tokens(body, language)
    hit_index = next((i for i, t in enumerate(toks) if keys & set(t.keys)), None)
    if hit_index is None:
        first = " ".join(body.split()[:2 * _SNIPPET_WORDS])
        return first + ("…" if len(body.split()) > 2 * _SNIPPET_WORDS else "")
    lo = max(0, hit_index - _SNIPPET_WORDS)
    hi = min(len(toks) - 1, hit_index + _SNIPPET_WORDS)
    out: list[str] = []
    cursor = toks[lo].start
    for tok in toks[lo:hi + 1]:
        out.append(body[cursor:tok.start])
        out.append(f"{mark[0]}{tok.surface}{mark[1]}" if keys & set(tok.keys) else tok.surface)
        cursor = tok.end
    text = " ".join("".join(out).split())
    return ("…" if lo > 0 else "") + text + ("…" if hi < len(toks) - 1 else "")


def _article_columns(article: Article) -> dict:
    return {
        "url": article.url, "canonical_url": article.canonical_url or article.url,
        "source": article.source, "title": article.title, "body": article.body,
        "summary": article.summary or "", "authors": json.dumps(article.authors or [],
                                                                  ensure_ascii=False),
        "published_at": article.published_at, "published_utc": to_utc_iso(article.published_at),
        "updated_at": article.updated_at, "updated_utc": to_utc_iso(article.updated_at),
        "language": article.language, "image_url": article.image_url, "section": article.section,
        "tags": json.dumps(article.tags or [], ensure_ascii=False),
        "fetched_at": article.fetched_at or utc_now_iso(), "content_hash": article.content_hash,
        "extracted_from": article.extracted_from or "page",
    }


def _row_to_article(row: sqlite3.Row) -> Article:
    return Article(
        source=row["source"], url=row["url"], canonical_url=row["canonical_url"],
        title=row["title"], body=row["body"], summary=row["summary"],
        authors=json.loads(row["authors"]), published_at=row["published_at"],
        updated_at=row["updated_at"], language=row["language"], image_url=row["image_url"],
        section=row["section"], tags=json.loads(row["tags"]), fetched_at=row["fetched_at"],
        content_hash=row["content_hash"], extracted_from=row["extracted_from"])
