"""Digest ledger queries for the SQLite store (mixed into SQLiteStore).

Uses ``self._db`` (sqlite3 connection, autocommit mode; use BEGIN IMMEDIATE/COMMIT for
multi-statement writes) and ``self._lock`` (RLock) of the store. Tables (schema v2):
``digest_items`` and ``digests`` — see crawler/store/sqlite.py MIGRATIONS.
"""
from __future__ import annotations


class DigestLedgerMixin:
    """Placeholder: the digest work fills this in."""
