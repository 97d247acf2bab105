"""Digest periods: when a recipient's digest is due and which stretch of time it covers.

The period of the digest sent on local date D runs from the digest time of D-1 to the digest
time of D; its key is ``D``. Keys are local dates, so a DST change (a 23 h or 25 h period) or a
changed digest_time never produces two digests for one day. A digest time that does not exist
on a DST day is read with the offset before the change; an ambiguous one is the first.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from crawler.config import ConfigError
from crawler.delivery import Clock, utc_now
from crawler.mail.digest_compose import DigestPeriod

log = logging.getLogger("chavder.digests")

CLOCK_OFFSET_ENV = "CHAVDER_CLOCK_OFFSET"
LOOKBACK_PERIODS = 7          # at most this many past periods are examined per check


def clock_from_env(environ: dict | None = None) -> Clock:
    """The real UTC clock, shifted by ``$CHAVDER_CLOCK_OFFSET`` seconds if set (tests)."""
    raw = (os.environ if environ is None else environ).get(CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return utc_now
    try:
        offset = timedelta(seconds=float(raw))
    except ValueError:
        raise ConfigError([f"${CLOCK_OFFSET_ENV}={raw!r} is not a number of seconds — unset "
                           "it (it only exists for tests)"]) from None
    log.warning("digest clock shifted by %s s ($%s, a test setting)", raw, CLOCK_OFFSET_ENV)
    return lambda: utc_now() + offset


# ---------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    key: str              # recipient-local date of the digest, YYYY-MM-DD
    start: datetime       # UTC, the previous digest time
    end: datetime         # UTC, this digest time

    def view(self, tz: str, end: datetime | None = None) -> DigestPeriod:
        return DigestPeriod(self.key, self.start, end or self.end, tz)


def _hhmm(digest_time: str) -> time:
    hours, minutes = digest_time.split(":")
    return time(int(hours), int(minutes))


def digest_instant(day: date, digest_time: str, tz: str) -> datetime:
    """The UTC instant of ``digest_time`` on local ``day`` in ``tz`` (fold=0: in a DST gap the
    offset before the change applies; of an ambiguous time, the first occurrence)."""
    local = datetime.combine(day, _hhmm(digest_time), tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc)


def period_for(day: date, digest_time: str, tz: str) -> Period:
    return Period(day.isoformat(), digest_instant(day - timedelta(days=1), digest_time, tz),
                  digest_instant(day, digest_time, tz))


def latest_period(now: datetime, digest_time: str, tz: str) -> Period:
    """The period whose digest time is the latest one at or before ``now``."""
    today = now.astimezone(ZoneInfo(tz)).date()
    for delta in (1, 0, -1, -2):
        day = today + timedelta(days=delta)
        if digest_instant(day, digest_time, tz) <= now:
            return period_for(day, digest_time, tz)
    raise AssertionError("unreachable: a digest time within two days before now")


def next_period(now: datetime, digest_time: str, tz: str) -> Period:
    """The period in progress at ``now`` (its digest time is after ``now``)."""
    latest = latest_period(now, digest_time, tz)
    return period_for(date.fromisoformat(latest.key) + timedelta(days=1), digest_time, tz)


def recent_periods(now: datetime, digest_time: str, tz: str,
                   count: int = LOOKBACK_PERIODS) -> list[Period]:
    """The ``count`` latest periods that ended at or before ``now``, oldest first."""
    latest = date.fromisoformat(latest_period(now, digest_time, tz).key)
    return [period_for(latest - timedelta(days=n), digest_time, tz)
            for n in range(count - 1, -1, -1)]
