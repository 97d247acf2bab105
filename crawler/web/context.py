"""What several pages look up the same way: outlet names, the filter choices, the clock."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def source_names(app: Any) -> dict[str, str]:
    """Source id → its name in the source list (ids the list lacks show as themselves)."""
    return {s.id: s.name for s in app.known_sources()}


def filter_choices(app: Any) -> dict[str, list[str]]:
    """The languages and sources the search filters offer: stored ones and listed ones."""
    facets = app.store.search_facets()
    listed = app.known_sources()
    return {"languages": sorted(set(facets["language"]) | {g for s in listed for g in s.languages}),
            "sources": sorted(set(facets["source"]) | {s.id for s in listed})}


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)
