"""The multilingual scanner behind ``parse_date``/``search_date``: every date-like hit in the
folded text (named months, numeric dates, relative and day words, year-less dates), the time next
to it, the calendar it is in; the first plausible one wins."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Iterator, NamedTuple

from crawler.text.calendars import hijri_to_gregorian, jalali_to_gregorian, kurdish_to_gregorian
from crawler.text.dates.machine import offset_zone, plausible
from crawler.text.dates.words import (
    G, HIJRI, JALALI, KURDISH, DAY_OF, DAY_WORD_RE, DM_NOYEAR, DMY, DMY_NUM, DMY_SHORT,
    DUALS, JUST_NOW, KURDISH_AS_GREGORIAN, MDY, MONTHS, NUM_OF, REL_AFTER, REL_BEFORE,
    TIME_AFTER, TIME_BEFORE, UNIT_OF, WD_MDY, YMD, fold)

_AM = ("ص", "صباحا", "صباحاً", "صباح", "پن", "قظ", "am")
_PM = ("م", "مساء", "مساءا", "مساءً", "مسا", "عصرا", "ليلا", "دن", "بن", "بظ", "pm")


def _hour(h: int, ampm: str | None) -> int:
    if not ampm:
        return h
    key = re.sub(r"[\s.]", "", ampm)
    if key in _AM:
        return 0 if h == 12 else h
    if key in ("ظهرا", "ظهر"):
        return h + 12 if h < 7 else h
    if key in _PM:
        return h + 12 if h < 12 else h
    return h


class _Time(NamedTuple):
    hour: int
    minute: int
    second: int
    tz: tzinfo | None


def _time_of(m: re.Match[str]) -> _Time | None:
    h = _hour(int(m["H"]), m["ampm"])
    if h > 23:
        return None
    return _Time(h, int(m["M"]), int(m["S"] or 0), offset_zone(m["tz"]))


def _to_gregorian(cal: str, y: int, mo: int, d: int) -> date | None:
    try:
        if cal == G:
            return date(y, mo, d)
        if cal == HIJRI:
            return hijri_to_gregorian(y, mo, d)
        if cal == JALALI:
            return jalali_to_gregorian(y, mo, d)
        if cal == KURDISH:
            return kurdish_to_gregorian(y, mo, d)
    except (ValueError, OverflowError):
        return None
    return None


def _calendar(cal: str, month: int, year: int, mark: str | None, lang: str | None
              ) -> tuple[str, int] | None:
    """Decide the calendar of a named-month date from the month series and the year."""
    mark = (mark or "").replace(" ", "")
    if cal == HIJRI:
        return (HIJRI, month) if 1300 <= year <= 1600 else None
    if cal == JALALI:
        return (JALALI, month) if 1300 <= year <= 1500 else None
    if cal == KURDISH:
        if 2600 <= year <= 2800:
            return KURDISH, month
        gm = KURDISH_AS_GREGORIAN.get(month)
        return (G, gm) if gm and year >= 1900 else None
    if mark in ("ه", "هجري", "هجريه"):
        return None                       # a Gregorian month name with an AH year: nonsense
    return G, month


def _numeric_calendar(year: int, mark: str | None, lang: str | None) -> str | None:
    mark = (mark or "").replace(" ", "")
    if mark in ("ه", "هجري", "هجريه"):
        return HIJRI
    if mark in ("ش", "خورشيدي", "شمسي"):
        return JALALI
    if mark in ("يكوردي", "كوردي") or 2600 <= year <= 2800:
        return KURDISH
    if 1300 <= year <= 1500:
        return JALALI if lang == "fa" else HIJRI
    return G


# ---------------------------------------------------------------------- scanning

class _Hit(NamedTuple):
    start: int            # folded offsets
    end: int
    day: date | None      # None for relative hits (value given directly)
    value: datetime | None
    full: bool            # has a year (or is relative): beats year-less hits


def _attach_time(f: str, start: int, end: int, d: date, zone: tzinfo
                 ) -> tuple[int, int, datetime]:
    t = None
    m = TIME_AFTER.match(f, end)
    if m and (m.end() - end) <= 40:
        t, end = _time_of(m), m.end()
    else:
        window_start = max(0, start - 40)
        mb = TIME_BEFORE.search(f[window_start:start])
        if mb:
            t = _time_of(mb)
            if t is not None:
                start = window_start + mb.start()
    if t is None:
        return start, end, datetime(d.year, d.month, d.day, tzinfo=zone)
    return start, end, datetime(d.year, d.month, d.day, t.hour, t.minute, t.second,
                                tzinfo=t.tz or zone)


def _named_hits(f: str, lang: str | None) -> Iterator[tuple[int, int, date, bool]]:
    for m in DMY.finditer(f):
        info = MONTHS.get(re.sub(r"\s+", " ", m["mon"]))
        if info is None:
            continue
        y = int(m["y"])
        cal = _calendar(info.calendar, info.month, y, m["mark"], lang)
        if cal is None:
            continue
        d = _to_gregorian(cal[0], y, cal[1], int(m["d"]))
        if d is not None:
            yield m.start(), m.end(), d, True
    for m in MDY.finditer(f):
        info = MONTHS.get(re.sub(r"\s+", " ", m["mon"]))
        if info is None or info.calendar != G:
            continue
        try:
            d = date(int(m["y"]), info.month, int(m["d"]))
        except ValueError:
            continue
        start = m.start()
        wd = WD_MDY.search(f[max(0, start - 14):start])
        if wd:
            start = max(0, start - 14) + wd.start()
        yield start, m.end(), d, True


def _numeric_hits(f: str, lang: str | None) -> Iterator[tuple[int, int, date, bool]]:
    for m in YMD.finditer(f):
        y = int(m["y"])
        cal = _numeric_calendar(y, m["mark"], lang)
        d = _to_gregorian(cal or G, y, int(m["m"]), int(m["d"]))
        if d is not None:
            yield m.start(), m.end(), d, True
    for m in DMY_NUM.finditer(f):
        y, a, b = int(m["y"]), int(m["d"]), int(m["m"])
        cal = _numeric_calendar(y, m["mark"], lang) or G
        day, month = a, b
        if (lang == "en" and a <= 12 and b <= 31) or (a <= 12 < b):
            day, month = b, a                       # M/D/Y
        d = _to_gregorian(cal, y, month, day)
        if d is not None:
            yield m.start(), m.end(), d, True
    for m in DMY_SHORT.finditer(f):
        d = _to_gregorian(G, 2000 + int(m["y"]), int(m["m"]), int(m["d"]))
        if d is not None:
            yield m.start(), m.end(), d, True


def _relative_hits(f: str, now: datetime, zone: tzinfo) -> Iterator[_Hit]:
    local = now.astimezone(zone)
    for rx in (REL_BEFORE, REL_AFTER):
        for m in rx.finditer(f):
            unit_word = re.sub(r"\s+", " ", m["u"])
            unit = UNIT_OF.get(unit_word)
            if unit is None:
                continue
            raw = m["n"]
            if raw is None:
                n = 2 if unit_word in DUALS else 1
            else:
                n = int(raw) if raw.isdigit() else NUM_OF.get(raw, 1)
            delta = {"s": timedelta(seconds=n), "m": timedelta(minutes=n),
                     "h": timedelta(hours=n), "d": timedelta(days=n),
                     "w": timedelta(weeks=n), "M": timedelta(days=30 * n),
                     "y": timedelta(days=365 * n)}[unit]
            yield _Hit(m.start(), m.end(), None, local - delta, True)


def _day_word_hits(f: str, now: datetime, zone: tzinfo, alone: bool) -> Iterator[_Hit]:
    local = now.astimezone(zone)
    for m in DAY_WORD_RE.finditer(f):
        offset = DAY_OF.get(re.sub(r"\s+", " ", m["w"]))
        if offset is None:
            continue
        d = (local + timedelta(days=offset)).date()
        tm = TIME_AFTER.match(f, m.end())
        if tm and (t := _time_of(tm)) is not None:
            yield _Hit(m.start(), tm.end(), None,
                       datetime(d.year, d.month, d.day, t.hour, t.minute, t.second,
                                tzinfo=t.tz or zone), True)
        elif alone and f.strip(" \t\n.,:;-") == m.group():   # the word is the whole text
            yield _Hit(m.start(), m.end(), None, datetime(d.year, d.month, d.day, tzinfo=zone),
                       True)


def _noyear_hits(f: str, now: datetime, zone: tzinfo) -> Iterator[_Hit]:
    local = now.astimezone(zone)
    for m in DM_NOYEAR.finditer(f):
        info = MONTHS.get(re.sub(r"\s+", " ", m["mon"]))
        if info is None or info.calendar not in (G, KURDISH):
            continue
        month = info.month if info.calendar == G else KURDISH_AS_GREGORIAN.get(info.month)
        if month is None:
            continue
        for year in (local.year, local.year - 1):
            try:
                d = date(year, month, int(m["d"]))
            except ValueError:
                break
            if d <= local.date() + timedelta(days=1):
                yield _Hit(m.start(), m.end(), d, None, False)
                break


_HAS_DIGIT = re.compile(r"\d")


def scan(text: str, lang: str | None, zone: tzinfo, now: datetime, alone: bool
          ) -> tuple[int, int, datetime] | None:
    folded = fold(text)
    f = folded.text
    hits: list[_Hit] = []
    if _HAS_DIGIT.search(f):
        for gen in (_named_hits(f, lang), _numeric_hits(f, lang)):
            for start, end, d, full in gen:
                hits.append(_Hit(start, end, d, None, full))
    hits.extend(_relative_hits(f, now, zone))
    hits.extend(_day_word_hits(f, now, zone, alone))
    if alone and JUST_NOW.fullmatch(f.strip()):
        hits.append(_Hit(0, len(f), None, now.astimezone(zone), True))
    best: tuple[int, int, datetime] | None = None
    for full_only in (True, False):
        if not full_only and _HAS_DIGIT.search(f):
            hits.extend(_noyear_hits(f, now, zone))
        candidates = sorted((h for h in hits if h.full == full_only),
                            key=lambda h: (h.start, -(h.end - h.start)))
        for h in candidates:
            if h.value is not None:
                start, end, value = h.start, h.end, h.value
            else:
                assert h.day is not None
                start, end, value = _attach_time(f, h.start, h.end, h.day, zone)
            if plausible(value, now):
                best = (folded.orig(start), folded.orig(end, end=True), value)
                break
        if best:
            return best
    return None
