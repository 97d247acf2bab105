"""What several pages look up the same way: outlet names, the filter choices, the clock."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from crawler import defaults

_facets: dict[int, tuple[float, dict[str, list[str]]]] = {}
_facets_lock = threading.Lock()


def source_names(app: Any) -> dict[str, str]:
    """Source id → its name in the source list (ids the list lacks show as themselves)."""
    return {s.id: s.name for s in app.known_sources()}


def filter_choices(app: Any) -> dict[str, list[str]]:
    """The languages and sources the search filters offer: stored ones and listed ones. The
    stored ones are read at most once a minute (two DISTINCT scans: ~50 ms at 100,000
    articles, and a new language or outlet is rare)."""
    now = time.monotonic()
    with _facets_lock:
        cached = _facets.get(id(app))
    if cached is None or now - cached[0] > defaults.WEB_FACETS_SECONDS:
        cached = (now, app.store.search_facets())
        with _facets_lock:
            _facets[id(app)] = cached
    facets = cached[1]
    listed = app.known_sources()
    return {"languages": sorted(set(facets["language"]) | {g for s in listed for g in s.languages}),
            "sources": sorted(set(facets["source"]) | {s.id for s in listed})}


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def chavder_of(request: Any) -> Any:
    """The application object behind a request (``create_app`` puts it on the app's state)."""
    return request.app.state.chavder
