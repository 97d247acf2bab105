"""Embedded SQLite store (WAL, FTS5): the default backend, no server needed.

Full-text search runs over *analysed* text (``crawler.text.index_terms``), so Arabic/Kurdish
normalisation and clitic handling apply to both indexing and queries. Writes are short
transactions; a crash leaves either the old or the new row, never half of one.

One module per role (crawler.store.roles): ``articles`` (articles, stories, dedup lookups),
``search``, ``crawl_state`` (validators, fetch errors, runs, schedule), ``alerts`` and
``digests`` (the ledgers); ``schema`` holds every table as numbered migrations, ``tables`` the
shared connection and its write transaction, ``store`` the class that joins them.
"""
from crawler.store.sqlite.schema import MIGRATIONS
from crawler.store.sqlite.store import SQLiteStore
from crawler.store.sqlite.tables import connect

__all__ = ["MIGRATIONS", "SQLiteStore", "connect"]
