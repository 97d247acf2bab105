"""ISO 8601 strings as stored by Chavder (offsets kept, ``Z`` accepted) → aware datetimes."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo


def parse_iso(value: str | None, *, naive: tzinfo | None = timezone.utc) -> datetime | None:
    """Parse ``value``; a value without an offset is placed in ``naive`` (UTC by default), or
    rejected when ``naive`` is None. Empty or malformed values give None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=naive) if naive is not None else None
    return parsed
