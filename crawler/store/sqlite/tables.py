"""One SQLite connection shared by the store's role mixins, and its write transactions.

Every role module (articles, search, crawl state, alert and digest ledgers) is a mixin over
``Tables``: they must share one connection, because one transaction may span roles (matching
an article marks it checked and queues its alerts together).
"""
from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, ContextManager, Iterator

from crawler.store.faults import BatchLost, unusable

_BUSY_SECONDS = 30.0


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
        _set_busy_timeout(db, _BUSY_SECONDS)
    except BaseException:
        db.close()
        raise
    return db



def _enter_wal(db: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds a lock: switching a
    fresh file to WAL needs an exclusive lock and SQLite answers "database is locked" at once
    instead of waiting (processes opening a new store together hit it). Once the file is in
    WAL mode — it stays so — the pragma takes no lock."""
    _while_busy(lambda: db.execute("PRAGMA journal_mode=WAL"), 0.005, 0.1, 2.0)


def _while_busy(attempt: Callable[[], object], pause: float, longest: float,
                growth: float) -> None:
    """Run ``attempt`` until SQLite stops answering busy/locked (up to the busy timeout),
    sleeping ``pause`` seconds between tries, growing by ``growth`` up to ``longest``."""
    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            attempt()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(longest, pause * growth)


def _set_busy_timeout(db: sqlite3.Connection, seconds: float) -> None:
    db.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED") \
        or "locked" in str(exc)


#: BEGIN IMMEDIATE asks again after this pause while another process writes, growing to
#: the second figure (seconds)
BEGIN_PAUSES = (0.0002, 0.002)


def begin_immediate(db: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, asked again every 0.2-2 ms while another process holds the write
    lock (up to the busy timeout). SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20… ms
    between tries: a worker waiting for another's 5 ms batch slept 8 ms, one waiting for a
    10 ms batch 18 ms — the lock free and both cores idle meanwhile."""
    _set_busy_timeout(db, 0)
    try:
        _while_busy(lambda: db.execute("BEGIN IMMEDIATE"), *BEGIN_PAUSES, 1.5)
    finally:
        _set_busy_timeout(db, _BUSY_SECONDS)


def raise_unusable(exc: sqlite3.Error, path: Path) -> None:
    """Raise ``exc`` as ``StoreUnusable`` if it is that kind of fault (else return)."""
    fault = unusable(exc, path)
    if fault is not None and fault is not exc:
        raise fault from exc


class Tables:
    """The connection, its lock and the write transaction the role mixins use."""

    path: Path
    _db: sqlite3.Connection
    _lock: threading.RLock
    _in_write: bool
    _after_commit: list[Callable[[], None]]
    #: FTS terms analysed before the lock (``ArticleTables.prepare_terms``), by (title,
    #: body, language)
    _terms: dict[tuple[str, str, str | None], tuple[str, str]]

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
            raise_unusable(exc, self.path)
            raise

    @contextlib.contextmanager
    def write_batch(self) -> Iterator[Callable[[], ContextManager[None]]]:
        """One ``story_transaction`` for several articles: one lock, one commit. Yields
        ``part``: each article is written inside ``with part():``, a SAVEPOINT, so one that
        fails is rolled back alone (its ``after_commit`` actions too) and the others commit."""
        with self.story_transaction():
            yield self._savepoint

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[None]:
        mark = len(self._after_commit)
        self._db.execute("SAVEPOINT chavder_part")
        try:
            yield
        except BaseException as exc:
            del self._after_commit[mark:]
            if not self._db.in_transaction:   # SQLite rolled back the whole transaction
                raise BatchLost(f"the write batch was rolled back by SQLite ({exc})") from exc
            self._db.execute("ROLLBACK TO chavder_part")
            self._db.execute("RELEASE chavder_part")
            raise
        self._db.execute("RELEASE chavder_part")

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
            begin_immediate(self._db)
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
                self._terms.clear()
            actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()
