"""A SQLite store file read page by page, read-only, for exports (``chavder es reindex``).

No migration and no write lock: a file that a crawl or the service is writing is safe to
read, and a file this user may not write can still be exported.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

from crawler.store.sqlite.alerts import ALERTS_WITH_ARTICLE


class StoreFileReader:
    """Rows of one store file in id order, ``page`` at a time (keyset paging: each page
    starts after the last id of the previous one, so concurrent inserts never shift it)."""

    def __init__(self, path: str | Path):
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such SQLite store")
        self.path = Path(path)
        self._db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=30)
        self._db.row_factory = sqlite3.Row

    def count_articles(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def has_alert_ledger(self) -> bool:
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE name='alert_ledger'"
                                ).fetchone() is not None

    def article_pages(self, page: int) -> Iterator[list[dict]]:
        return self._pages("SELECT * FROM articles WHERE id > ? ORDER BY id LIMIT ?", page)

    def alert_pages(self, page: int) -> Iterator[list[dict]]:
        """Ledger rows with their article's title, URL, source and language."""
        return self._pages(f"{ALERTS_WITH_ARTICLE} WHERE l.id > ? ORDER BY l.id LIMIT ?", page)

    def _pages(self, sql: str, page: int) -> Iterator[list[dict]]:
        last = 0
        while True:
            rows = self._db.execute(sql, (last, page)).fetchall()
            if not rows:
                return
            last = rows[-1]["id"]
            yield [dict(r) for r in rows]

    def close(self) -> None:
        self._db.close()
