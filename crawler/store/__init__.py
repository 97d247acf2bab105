"""Storage behind role interfaces (``roles``): SQLite (embedded default) or Elasticsearch."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from crawler.defaults import REVISION_TEXT_KEEP
from crawler.store.base import KnownArticle, SearchHit, SearchQuery, UpsertResult
from crawler.store.faults import StoreMissing, StoreUnusable
from crawler.store.roles import Store
from crawler.store.sqlite import SQLiteStore

__all__ = ["open_store", "Store", "SQLiteStore", "SearchHit", "SearchQuery", "UpsertResult",
           "KnownArticle", "StoreUnusable", "StoreMissing"]


def open_store(url: str, data_dir: str | Path = "data", *, write: bool = True,
               revision_text_keep: int = REVISION_TEXT_KEEP) -> Store:
    """Open a store from its URL: ``sqlite:///relative/path.db``, ``sqlite:////abs/path.db``,
    a bare file path, or an Elasticsearch URL (``https://user@host:9200/alias``; the spool of
    documents waiting for an unreachable cluster lives under ``data_dir``).

    A file that cannot be used (corrupt, not a database, not writable when ``write``) raises
    ``StoreUnusable``; ``write=False`` is for commands that only read (search, status), and
    for them a SQLite file that does not exist raises ``StoreMissing`` instead of creating an
    empty database and its folders. ``revision_text_keep``: earlier revisions of an article
    whose text is kept (the setting of that name)."""
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):]
        if path.startswith("///"):
            path = path[3:]
        elif path.startswith("//"):
            path = path[2:]
        return _sqlite(path or ":memory:", write, revision_text_keep)
    scheme = urlsplit(url).scheme
    from crawler.store.elasticsearch import is_elasticsearch_url, open_elasticsearch_store
    if is_elasticsearch_url(url):
        return open_elasticsearch_store(url, data_dir, write=write,
                                        revision_text_keep=revision_text_keep)
    if scheme and len(scheme) > 1:
        from crawler.redact import redact_url
        raise ValueError(f"store {redact_url(url)!r}: unknown store scheme '{scheme}' — use "
                         "sqlite:///path/to/chavder.db or https://host:9200")
    return _sqlite(url, write, revision_text_keep)


def _sqlite(path: str | Path, write: bool, revision_text_keep: int) -> SQLiteStore:
    """A reader must not create the file it was asked to read (see ``StoreMissing``)."""
    if not write and str(path) != ":memory:" and not Path(path).exists():
        raise StoreMissing(path)
    return SQLiteStore(path, write=write, revision_text_keep=revision_text_keep)
