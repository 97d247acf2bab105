"""Storage behind one interface: SQLite (embedded default); Elasticsearch comes later."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from crawler.store.base import KnownArticle, SearchHit, SearchQuery, Store, UpsertResult
from crawler.store.sqlite import SQLiteStore

__all__ = ["open_store", "Store", "SQLiteStore", "SearchHit", "SearchQuery", "UpsertResult",
           "KnownArticle"]


def open_store(url: str) -> Store:
    """Open a store from its URL: ``sqlite:///relative/path.db``, ``sqlite:////abs/path.db``
    or a bare file path."""
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):]
        if path.startswith("///"):
            path = path[3:]
        elif path.startswith("//"):
            path = path[2:]
        return SQLiteStore(path or ":memory:")
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https", "elasticsearch", "es"):
        raise ValueError(f"store {url!r}: the Elasticsearch backend is not available yet — "
                         "use sqlite:///data/chavder.db")
    if scheme and len(scheme) > 1:
        raise ValueError(f"store {url!r}: unknown store scheme '{scheme}' — use "
                         "sqlite:///path/to/chavder.db")
    return SQLiteStore(Path(url))
