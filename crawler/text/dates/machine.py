"""Machine-written timestamps: ISO 8601 / W3C-DTF, RFC 822/2822 (RSS, HTTP ``Retry-After``),
the ISO strings Chavder stores, zone names and the zone abbreviations this region's outlets
write. The multilingual scanner (:mod:`crawler.text.dates.scan`) handles everything else."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR = 1990
_FUTURE_SLACK = timedelta(days=2)

#: Zone abbreviations in minutes east of UTC, as this region means them: "AST" on a
#: Middle-East outlet is Arabia Standard Time (+03:00), not the Atlantic zone email.utils
#: assumes; IRST/IRDT/ARABT/TRT/MSK are unknown to email.utils.
ZONE_OFFSETS = {"z": 0, "gmt": 0, "utc": 0, "ut": 0, "ast": 180, "arabt": 180, "est": -300,
                "edt": -240, "cet": 60, "cest": 120, "eet": 120, "eest": 180, "bst": 60,
                "trt": 180, "msk": 180, "irst": 210, "irdt": 270, "ist": 330}


def plausible(value: datetime, now: datetime | None = None) -> bool:
    """A date a news article can carry: from MIN_YEAR to two days ahead of ``now``."""
    now = now or datetime.now(timezone.utc)
    return value.year >= MIN_YEAR and value <= now + _FUTURE_SLACK


def zone(name: str) -> tzinfo:
    """Validate a timezone name once, up front: a bad name is a configuration error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


@lru_cache(maxsize=256)
def _zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def zone_or_utc(tz: str | tzinfo | None) -> tzinfo:
    """A zone name or object → tzinfo; unknown names and None are UTC (parsing never raises)."""
    if tz is None:
        return timezone.utc
    return _zone_named(tz) if isinstance(tz, str) else tz


def offset_zone(spec: str | None) -> tzinfo | None:
    """``ast``, ``gmt+3``, ``+03:00``, ``-0430`` (folded, lower case) → a fixed offset."""
    if not spec:
        return None
    spec = spec.replace(" ", "")
    if spec in ZONE_OFFSETS:
        return timezone(timedelta(minutes=ZONE_OFFSETS[spec]))
    m = re.fullmatch(r"(?:gmt|utc)?([+\-])(\d{1,2}):?(\d{2})?", spec)
    if not m:
        return None
    minutes = int(m[2]) * 60 + int(m[3] or 0)
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if m[1] == "-" else minutes))


_PARTIAL_ISO = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def iso8601(text: str, tz: tzinfo) -> datetime | None:
    """ISO 8601 / W3C-DTF (``2017``, ``2017-06``, ``2017-06-05T10:00Z``, a comma fraction);
    naive values are placed in ``tz``. None when ``text`` is not one."""
    partial = _PARTIAL_ISO.match(text)
    if partial:
        month = int(partial[2] or 1)
        return datetime(int(partial[1]), month, 1, tzinfo=tz) if 1 <= month <= 12 else None
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(",", "."))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=tz)


_RFC822 = re.compile(r"^\s*(?:[A-Za-z]{2,9},?\s*)?\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{2,4}\s+"
                     r"\d{1,2}:\d{2}")
_TRAILING_ZONE = re.compile(r"\s([A-Za-z]{2,5})\s*$")


def _minutes(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    return f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


def rfc822(text: str, tz: tzinfo) -> datetime | None:
    """RFC 822/2822 (``Mon, 05 Jun 2017 10:00:00 +0300``, RSS pubDate, HTTP dates), with this
    region's zone abbreviations; a time without a zone is placed in ``tz`` (``-0000`` is UTC).
    None when ``text`` is not one."""
    if not _RFC822.match(text):
        return None
    m = _TRAILING_ZONE.search(text)
    if m and m.group(1).lower() in ZONE_OFFSETS:
        text = text[:m.start()] + " " + _minutes(ZONE_OFFSETS[m.group(1).lower()])
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc if re.search(r"-0000\s*$", text) else tz)
    return value


def parse_iso(value: str | None, *, naive: tzinfo | None = timezone.utc) -> datetime | None:
    """An ISO 8601 string as Chavder stores it (offsets kept, ``Z`` accepted) → aware datetime;
    a value without an offset is placed in ``naive`` (UTC by default), or rejected when
    ``naive`` is None. Empty or malformed values give None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=naive) if naive is not None else None
    return parsed


def http_date(text: str) -> datetime | None:
    """An HTTP date (``Retry-After``, ``Last-Modified``: IMF-fixdate, always GMT) → aware UTC."""
    return rfc822(text.strip(), timezone.utc)


def from_epoch(value: float) -> datetime | None:
    """Epoch seconds, or milliseconds (JSON APIs send both), → aware UTC; None when absurd."""
    seconds = value / 1000 if abs(value) > 1e11 else value
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
