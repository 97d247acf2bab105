"""Durable write-ahead spool for index operations (its own SQLite file, ``data/es-spool.db``).

Why a spool: crawling must never wait for (or lose documents to) Elasticsearch. Every index
write is appended here first — one local insert — and a replayer sends the rows to
Elasticsearch in spool-id order, deleting a row only after its bulk item succeeded. Document
ids are deterministic, so a row sent twice (crash between "bulk ok" and "delete") overwrites
the same document instead of creating a second one.

Rows whose item failed for a reason that retrying cannot fix (a 400 mapping error) are moved
to the ``dead`` state: they no longer block replay, stay visible in ``dead_letters()`` and can be
re-queued with ``requeue_dead()`` after the template is fixed.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from crawler.store.base import utc_now_iso
from crawler.store.faults import translating, unusable
from crawler.store.migrate import Step, migrate
from crawler.store.sqlite import connect

# Steps of crawler.store.migrate (``user_version``). v1 kept IF NOT EXISTS: spools created
# before versioning already have these tables at version 0.
MIGRATIONS: list[Step] = ["""
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    target TEXT NOT NULL,
    op TEXT NOT NULL,
    body TEXT,
    enqueued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS spool_pending ON spool(state, id);
CREATE INDEX IF NOT EXISTS spool_doc ON spool(doc_id);
"""]

OPS = ("index", "delete")


@dataclass(frozen=True)
class SpoolEntry:
    """One queued operation: ``op`` on document ``doc_id`` of index/alias ``target``."""

    id: int
    doc_id: str
    target: str
    op: str
    body: dict | None
    enqueued_at: str
    attempts: int


@translating
class Spool:
    """Append-only queue of index operations in one SQLite file; safe across threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        # FULL: a row acknowledged to the crawler survives a power cut, not only a crash
        try:
            self._db = connect(path, synchronous="FULL")
            migrate(self._db, MIGRATIONS, self.path)
        except sqlite3.Error as exc:
            fault = unusable(exc, self.path)
            if fault is None:
                raise
            raise fault from exc

    # ------------------------------------------------------------------ writing
    def enqueue(self, doc_id: str, target: str, body: dict | None, op: str = "index") -> int:
        """Append one operation; returns its spool id (the replay order)."""
        return self.enqueue_many([(doc_id, target, body, op)])[-1]

    def enqueue_many(self, items: Iterable[tuple[str, str, dict | None, str]]) -> list[int]:
        """Append several operations in one transaction (all or none)."""
        now = utc_now_iso()
        ids: list[int] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for doc_id, target, body, op in items:
                    if op not in OPS:
                        raise ValueError(f"spool op must be one of {OPS}, not {op!r}")
                    cur = self._db.execute(
                        "INSERT INTO spool(doc_id, target, op, body, enqueued_at) "
                        "VALUES (?,?,?,?,?)",
                        (doc_id, target, op,
                         None if body is None else json.dumps(body, ensure_ascii=False), now))
                    ids.append(int(cur.lastrowid))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return ids

    # ------------------------------------------------------------------ replaying
    def peek(self, limit: int = 500) -> list[SpoolEntry]:
        """The oldest pending operations (spool-id order), without removing them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, doc_id, target, op, body, enqueued_at, attempts FROM spool "
                "WHERE state='pending' ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [SpoolEntry(r[0], r[1], r[2], r[3], None if r[4] is None else json.loads(r[4]),
                           r[5], r[6]) for r in rows]

    def acknowledge(self, entries: Iterable[SpoolEntry]) -> int:
        """Remove operations that Elasticsearch acknowledged, and dead letters of the same
        documents that they supersede (an older failed version must never be re-sent over
        a newer one)."""
        entries = list(entries)
        if not entries:
            return 0
        removed = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for e in entries:
                    removed += self._db.execute("DELETE FROM spool WHERE id=?", (e.id,)).rowcount
                    self._db.execute("DELETE FROM spool WHERE state='dead' AND doc_id=? AND "
                                     "target=? AND id<?", (e.doc_id, e.target, e.id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return removed

    def record_failure(self, ids: Iterable[int], error: str, *, dead: bool = False) -> None:
        """Count a failed attempt; ``dead`` parks the rows (a retry cannot succeed)."""
        ids = list(ids)
        if not ids:
            return
        with self._lock:
            self._db.executemany(
                "UPDATE spool SET attempts=attempts+1, last_error=?, state=? WHERE id=?",
                [(error[:500], "dead" if dead else "pending", i) for i in ids])

    # ------------------------------------------------------------------ status
    def size(self) -> int:
        """Operations waiting to be replayed (dead letters not included)."""
        return self._count("pending")

    def dead_count(self) -> int:
        """Operations parked because a retry cannot succeed."""
        return self._count("dead")

    def _count(self, state: str) -> int:
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM spool WHERE state=?", (state,)).fetchone()[0])

    def oldest_pending(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(enqueued_at) FROM spool "
                                   "WHERE state='pending'").fetchone()
        return row[0] if row else None

    def dead_letters(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, doc_id, target, op, attempts, last_error, enqueued_at FROM spool "
                "WHERE state='dead' ORDER BY id").fetchall()
        return [dict(zip(("id", "doc_id", "target", "op", "attempts", "last_error",
                          "enqueued_at"), r)) for r in rows]

    def requeue_dead(self) -> int:
        """Retry dead letters (after fixing the template). Each goes to the back of the queue
        with a new id; one whose document already has a newer pending row is dropped instead,
        so replay order per document stays oldest → newest."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM spool WHERE state='dead' AND EXISTS (SELECT 1 FROM spool p "
                    "WHERE p.state='pending' AND p.doc_id=spool.doc_id AND "
                    "p.target=spool.target AND p.id>spool.id)")
                rows = self._db.execute("SELECT id, doc_id, target, op, body, enqueued_at FROM "
                                        "spool WHERE state='dead' ORDER BY id").fetchall()
                for r in rows:
                    self._db.execute("INSERT INTO spool(doc_id, target, op, body, enqueued_at) "
                                     "VALUES (?,?,?,?,?)", r[1:])
                    self._db.execute("DELETE FROM spool WHERE id=?", (r[0],))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    @contextlib.contextmanager
    def replay_lock(self) -> Iterator[bool]:
        """Non-blocking, cross-process: True if this process may replay now. Two replayers
        (``chavder run`` and a manual ``chavder crawl``) would otherwise race on the same
        rows; the loser simply skips this round."""
        if str(self.path) == ":memory:":
            yield True
            return
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def close(self) -> None:
        with self._lock:
            self._db.close()
