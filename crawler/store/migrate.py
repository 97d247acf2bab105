"""Schema migrations for every SQLite file Chavder owns (the store, the index spool).

A file's schema version is its ``PRAGMA user_version``; step ``i`` of a list migrates version
``i`` to ``i + 1``. Several processes may open a fresh file at the same moment (two crawls, a
crawl and the service), so the version is read *and* advanced inside one ``BEGIN IMMEDIATE``
transaction: the first process migrates, the others wait on the write lock, then see the new
version and do nothing. Reading the version outside the transaction and migrating after it was
the race behind ``table articles already exists`` and ``duplicate column name``.

A step is SQL (several statements are fine) or a function of the connection; steps run with
``execute`` one statement at a time, because ``executescript`` would commit the transaction
that holds the lock. Never edit a released step; append a new one.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable, Sequence, Union

__all__ = ["Step", "migrate", "statements", "schema_version"]

Step = Union[str, Callable[[sqlite3.Connection], None]]


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, steps: Sequence[Step], what: str | Path) -> int:
    """Bring ``db`` (an autocommit connection) to ``len(steps)``; returns the version found.

    ``what`` names the file in errors. A file newer than this code is refused rather than
    guessed at."""
    target = len(steps)
    found = schema_version(db)
    if found == target:        # the common case: no write lock (read-only copies open too)
        return found
    _refuse_newer(found, target, what)
    db.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(db)     # under the lock: another process may have migrated
        _refuse_newer(found, target, what)
        for version in range(found, target):
            step = steps[version]
            if callable(step):
                step(db)
            else:
                for statement in statements(step):
                    db.execute(statement)
        if found != target:
            db.execute(f"PRAGMA user_version={target}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return found


def statements(script: str) -> list[str]:
    """Split SQL into complete statements (``sqlite3.complete_statement`` knows about string
    literals, comments and trigger bodies, so a ``;`` inside them does not split)."""
    out: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]!r}")
    return out


def _refuse_newer(found: int, target: int, what: str | Path) -> None:
    if found > target:
        raise RuntimeError(f"{what}: database schema v{found} is newer than this Chavder "
                           f"(v{target}) — upgrade Chavder or use another data directory")
