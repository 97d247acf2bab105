"""``SQLiteStore``: every storage role over one SQLite file (see crawler.store.roles)."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable

from crawler.defaults import REVISION_TEXT_KEEP
from crawler.store.faults import translating
from crawler.store.migrate import migrate
from crawler.store.roles import Store
from crawler.store.sqlite.alerts import AlertTables
from crawler.store.sqlite.articles import ArticleTables
from crawler.store.sqlite.attention import AttentionTables
from crawler.store.sqlite.crawl_state import CrawlStateTables
from crawler.store.sqlite.digests import DigestTables
from crawler.store.sqlite.revisions import RevisionTables
from crawler.store.sqlite.schema import MIGRATIONS
from crawler.store.sqlite.search import SearchTables
from crawler.store.sqlite.tables import connect, raise_unusable


def _ledger_key(recipient: str) -> str:
    """SQL function ``chavder_ledger_key`` (migration v7 rewrites recipients with it). Imported
    when a migration calls it: opening a store must not load the alert rule machinery."""
    from crawler.alerts.recipient_keys import ledger_key
    return ledger_key(recipient)


@translating
class SQLiteStore(ArticleTables, AttentionTables, SearchTables, CrawlStateTables, AlertTables,
                  DigestTables, RevisionTables, Store):
    """Store backend over one SQLite file: every role of ``Store``, one mixin per role module.
    Thread-safe through one connection and a lock.

    A corrupt, truncated, read-only or unreadable file raises ``StoreUnusable`` (one line
    saying what to do), at opening or from any method. ``write=False`` opens for reading only
    (search, status): a read-only file is then fine; otherwise writing is checked at once.
    ``revision_text_keep``: how many earlier revisions of an article keep their text."""

    def __init__(self, path: str | Path, *, write: bool = True,
                 revision_text_keep: int = REVISION_TEXT_KEEP):
        self.path = Path(path)
        self.revision_text_keep = max(0, int(revision_text_keep))
        self._lock = threading.RLock()
        self._in_write = False
        self._after_commit: list[Callable[[], None]] = []
        self._terms: dict[tuple[str, str, str | None], tuple[str, str]] = {}
        try:
            self._db = connect(path, synchronous="NORMAL")
        except sqlite3.Error as exc:
            raise_unusable(exc, self.path)
            raise
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.create_function("chavder_ledger_key", 1, _ledger_key, deterministic=True)
            migrate(self._db, MIGRATIONS, self.path)
            if write:
                self._check_writable()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.Error):
                raise_unusable(exc, self.path)
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

