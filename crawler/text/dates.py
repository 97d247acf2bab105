"""Date parsing for Arabic, Sorani and Kurmanji news pages.

PROVISIONAL minimal version; the text-layer work (issue 4) replaces it.
"""
from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from crawler.text.normalize import normalize


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return ZoneInfo("UTC")
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def parse_date(text: str, lang: str | None = None, tz: str | tzinfo | None = "UTC",
               now: datetime | None = None) -> datetime | None:
    """Parse one date expression; naive times are placed in ``tz``. Returns an aware datetime
    in the text's own offset (or ``tz``), or None when nothing sensible is found."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        found = search_date(text, lang=lang, tz=tz, now=now)
        return found[2] if found else None
    return value if value.tzinfo else value.replace(tzinfo=_zone(tz))


_NUMERIC = re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b")


def search_date(text: str, lang: str | None = None, tz: str | tzinfo | None = "UTC",
                now: datetime | None = None) -> tuple[int, int, datetime] | None:
    """Find the first date expression in free text: ``(start, end, datetime)`` or None."""
    folded = normalize(text)  # same length mapping for digits; good enough provisionally
    m = _NUMERIC.search(folded)
    if not m:
        return None
    try:
        value = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=_zone(tz))
    except ValueError:
        return None
    return m.start(), m.end(), value
