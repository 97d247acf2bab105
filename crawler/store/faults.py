"""Store files that cannot be used as they are: corrupt, not a database, read-only, unreadable.

Retrying does not help with these and carrying on only multiplies the errors, so the store
raises one ``StoreUnusable`` that says what is wrong and what the operator should do, the CLI
prints it as one line (exit 2), and a crawl stops at the first one. Transient faults (database
locked, disk full) are not unusable: they keep their own handling (wait, or fail the write and
fetch the article again next time).
"""
from __future__ import annotations

import functools
import shlex
import sqlite3
from pathlib import Path
from typing import Any, Callable, TypeVar

__all__ = ["StoreUnusable", "StoreMissing", "unusable", "translate_faults", "translating",
           "EXIT_CODE"]

#: Exit status of a command that found its store unusable (as for configuration errors).
EXIT_CODE = 2

_CORRUPT = {"SQLITE_CORRUPT", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_SEQUENCE",
            "SQLITE_CORRUPT_VTAB"}
_NOT_A_DB = {"SQLITE_NOTADB"}
_NO_WRITE = {"SQLITE_READONLY", "SQLITE_READONLY_DIRECTORY", "SQLITE_READONLY_CANTINIT",
             "SQLITE_READONLY_DBMOVED", "SQLITE_READONLY_RECOVERY", "SQLITE_READONLY_ROLLBACK",
             "SQLITE_READONLY_CANTLOCK", "SQLITE_PERM", "SQLITE_AUTH"}
_NO_OPEN = {"SQLITE_CANTOPEN", "SQLITE_CANTOPEN_ISDIR", "SQLITE_CANTOPEN_FULLPATH",
            "SQLITE_CANTOPEN_NOTEMPDIR", "SQLITE_CANTOPEN_CONVPATH", "SQLITE_IOERR_SHMOPEN",
            "SQLITE_IOERR_ACCESS"}


class StoreUnusable(sqlite3.DatabaseError):
    """The store's file ``path`` cannot be used: ``problem`` says why, ``remedy`` what to do.

    A ``sqlite3.DatabaseError``, so code that already handles database errors still does."""

    def __init__(self, path: str | Path, problem: str, remedy: str, detail: str = ""):
        self.path, self.problem, self.remedy, self.detail = str(path), problem, remedy, detail
        super().__init__(self.line())

    def line(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"store {self.path}: {self.problem}{detail} — {self.remedy}"


class BatchLost(sqlite3.OperationalError):
    """A write batch's transaction is gone (SQLite rolls a whole transaction back on some
    errors, e.g. a full disk): none of its articles was stored, whatever ``part`` said."""


class StoreMissing(StoreUnusable):
    """A command that only reads was pointed at a store file that does not exist. Opening it
    would create an empty database (and its folders) that answers every question with
    nothing, which reads like "no news" rather than "wrong store"."""

    def __init__(self, path: str | Path):
        super().__init__(path, "no store here", "run `chavder crawl` or `chavder run` first, "
                         "or point --config/CHAVDER_CONFIG at your chavder.yaml")

    def line(self) -> str:
        return f"no store at {self.path} — {self.remedy}"


def unusable(exc: BaseException, path: str | Path) -> StoreUnusable | None:
    """``exc`` as a ``StoreUnusable`` for the file ``path``, or None when it is not that kind
    of fault (locked, full, a bug in a query)."""
    if isinstance(exc, StoreUnusable):
        return exc
    if not isinstance(exc, sqlite3.Error):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    message = str(exc)
    quoted = shlex.quote(str(path))
    if name in _CORRUPT or "malformed" in message:
        return StoreUnusable(path, "the database file is corrupt", "restore it from a backup; "
                             f"to see the damage: sqlite3 {quoted} 'PRAGMA integrity_check'",
                             message)
    if name in _NOT_A_DB:
        return StoreUnusable(path, "not a SQLite database (truncated or overwritten?)",
                             "restore it from a backup, or point --store / 'store:' at the "
                             f"right file (check: sqlite3 {quoted} 'PRAGMA integrity_check')",
                             message)
    if name in _NO_WRITE or "readonly" in message:
        return StoreUnusable(path, "the database is read-only for this user", _PERMISSIONS,
                             message)
    if name in _NO_OPEN:
        return StoreUnusable(path, "the database file cannot be opened", _PERMISSIONS, message)
    return None


_PERMISSIONS = ("fix its permissions/owner: the user running chavder needs read and write "
                "access to the file and its directory (for the -wal and -shm files)")

F = TypeVar("F", bound=Callable[..., Any])


def translate_faults(method: F) -> F:
    """Raise unusable-file faults of ``method`` (of an object with ``.path``) as
    ``StoreUnusable``; everything else passes unchanged."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            fault = unusable(exc, self.path)
            if fault is None or fault is exc:
                raise
            raise fault from exc
    return wrapper  # type: ignore[return-value]


def translating(cls: type) -> type:
    """Class decorator: ``translate_faults`` on every public method (inherited ones too), so
    no query of the store can leak a raw "database disk image is malformed"."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = getattr(cls, name)
        if callable(attr) and not isinstance(attr, type) and \
                not isinstance(cls.__dict__.get(name), (staticmethod, classmethod)):
            setattr(cls, name, translate_faults(attr))
    return cls
