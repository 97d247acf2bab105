"""Breaking-story ("surge") alerts: a rule with ``mode: surge`` fires when a story it matches is
reported by at least K distinct outlets within T minutes (default 3 in 60), and/or when the
number of matching stories in the last hour exceeds the trailing daily baseline by a factor.

Framework-free and stateless on purpose: everything a decision needs is already persisted —
the dedup story clusters (which outlets carried a story, and when) and the alert ledger, which
holds at most one row per (rule, story, recipient). So a surge is decided from the store at the
moment a copy is checked, fires once per story and surge (the ledger refuses a second row),
and a restart in between changes nothing. The dispatcher asks :func:`surging` per match.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from crawler.text.dates import parse_iso

__all__ = ["SurgeSpec", "outlet_times", "outlet_surge", "count_surge", "surging",
           "outlet_lines", "DEFAULT_OUTLETS", "DEFAULT_MINUTES"]

DEFAULT_OUTLETS = 3
DEFAULT_MINUTES = 60


@dataclass(frozen=True)
class SurgeSpec:
    """``outlets`` distinct outlets within ``minutes``; ``factor`` (optional): stories in the
    last hour > factor × the hourly average of the 24 hours before; ``outlets=0`` turns the
    outlet condition off (count only)."""

    outlets: int = DEFAULT_OUTLETS
    minutes: int = DEFAULT_MINUTES
    factor: float | None = None

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.minutes)


def _when(copy: dict) -> datetime | None:
    for key in ("published_at", "first_seen"):
        value = copy.get(key)
        when = parse_iso(str(value)) if value else None      # naive stored times are UTC
        if when is not None:
            return when
    return None


def outlet_times(copies: Iterable[dict]) -> list[tuple[str, datetime]]:
    """Each outlet of a story with the time it first carried it, earliest first."""
    first: dict[str, datetime] = {}
    for copy in copies:
        when = _when(copy)
        if when is not None and (copy["source"] not in first or when < first[copy["source"]]):
            first[copy["source"]] = when
    return sorted(first.items(), key=lambda item: item[1])


def outlet_surge(times: list[tuple[str, datetime]], spec: SurgeSpec,
                 now: datetime) -> list[tuple[str, datetime]] | None:
    """The outlets of the surge — at least ``spec.outlets`` whose first reports lie within
    ``spec.minutes`` of each other, the last of them no older than that at ``now`` — or None.
    Reports dated after ``now`` (clock skew) count as ``now``."""
    if spec.outlets <= 0:
        return None
    times = [(s, min(t, now)) for s, t in times]
    for i in range(len(times) - spec.outlets + 1):
        window = [(s, t) for s, t in times[i:] if t - times[i][1] <= spec.window]
        if len(window) >= spec.outlets and now - window[spec.outlets - 1][1] <= spec.window:
            return window
    return None


def count_surge(story_times: Iterable[datetime], story: datetime, spec: SurgeSpec) -> bool:
    """Whether the story first seen at ``story`` is the one with which the number of matching
    stories in the hour up to it first exceeds ``factor`` × the hourly average of the 24 hours
    before that hour (at least one story an hour): the surge fires with that story, once."""
    if spec.factor is None:
        return False
    hour, day = timedelta(hours=1), timedelta(hours=24)
    times = sorted(set(story_times) | {story})
    baseline = sum(story - hour - day <= t < story - hour for t in times) / 24
    threshold = spec.factor * max(baseline, 1.0)
    last_hour = [t for t in times if story - hour < t <= story]
    # the count crosses the threshold with this story, not with an earlier one
    before = sum(t < story for t in last_hour)
    return len(last_hour) > threshold >= before


def surging(spec: SurgeSpec, copies: list[dict], now: datetime, *,
            story_times: Iterable[datetime] | None = None) -> bool:
    """The decision for one matched story: the outlet condition, or the count condition when
    the caller gives the first-seen times of the rule's matching stories (last 25 hours)."""
    if outlet_surge(outlet_times(copies), spec, now) is not None:
        return True
    if spec.factor is not None and story_times is not None:
        times = outlet_times(copies)
        return bool(times) and count_surge(story_times, times[0][1], spec)
    return False


def outlet_lines(copies: list[dict], names: dict[str, str], zone: str = "UTC") -> list[str]:
    """The story's outlets with the time each first carried it, for the alert message."""
    from zoneinfo import ZoneInfo
    tz = ZoneInfo(zone)
    return [f"{names.get(source, source)} ({when.astimezone(tz):%Y-%m-%d %H:%M %Z})"
            for source, when in outlet_times(copies)]


def matching_story_times(store, matcher, now: datetime) -> list[datetime]:
    """When each story the rule matches in the 25 hours up to ``now`` was first reported (the
    count condition's input), from the store's articles. ``matcher``: a ``Matcher`` of the rule
    alone (the caller builds it, so this module stays below the matcher, which reads rules)."""
    first: dict[int, datetime] = {}
    for row in store.articles_since(now - timedelta(hours=25)):
        when = _when(row)
        if when is None or (row["story_id"] in first and first[row["story_id"]] <= when):
            continue
        if matcher.match(row["title"], row["body"], language=row["language"],
                         source=row["source"]):
            first[row["story_id"]] = when
    return list(first.values())


def decide(store, rule, story_id: int, now: datetime, matcher) -> bool:
    """Whether ``rule`` (mode: surge) fires for this story now (the dispatcher's one call);
    ``matcher``: a ``Matcher`` of ``rule`` alone."""
    story = store.story(story_id)
    copies = story["articles"] if story else []
    times = matching_story_times(store, matcher, now) if rule.surge.factor is not None else None
    return surging(rule.surge, copies, now, story_times=times)
