"""Calendar conversions the date parser needs: Hijri (lunar), Solar Hijri and Kurdish solar.

* Hijri: Umm al-Qura through the ``hijridate`` package when it is installed and the date is in
  its range (AH 1343–1500); otherwise the arithmetic (tabular, "civil") Islamic calendar, which
  can differ from the printed date by a day or two — news sites follow local moon sighting anyway.
* Solar Hijri (Persian): the jalaali break-year algorithm (exact for AH 1–3177).
* Kurdish solar calendar: same months and leap rule as the Solar Hijri year, numbered from
  Kurdish year = Solar Hijri year + 1321 (so 2717 began at Newroz, 21 March 2017:
  Gregorian = Kurdish − 700 from Newroz to 31 December, − 699 from 1 January to Newroz).
"""
from __future__ import annotations

from datetime import date, timedelta

__all__ = ["hijri_to_gregorian", "tabular_hijri_to_gregorian", "jalali_to_gregorian",
           "kurdish_to_gregorian", "KURDISH_YEAR_OFFSET"]

KURDISH_YEAR_OFFSET = 1321            # Kurdish year − Solar Hijri year

try:  # optional: Umm al-Qura tables
    from hijridate import Hijri as _Hijri
except ImportError:  # pragma: no cover - exercised only without the package
    _Hijri = None


def tabular_hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """Arithmetic Islamic calendar (leap years 2, 5, 7, 10, 13, 16, 18, 21, 24, 26, 29)."""
    if not (1 <= month <= 12 and 1 <= day <= 30 and year >= 1):
        raise ValueError("invalid Hijri date")
    days = (day + (59 * (month - 1) + 1) // 2 + (year - 1) * 354
            + (3 + 11 * year) // 30)
    jdn = days + 1948439
    return date.fromordinal(jdn - 1721425)


def hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """Hijri (AH) → Gregorian; Umm al-Qura when available, tabular otherwise."""
    if _Hijri is not None and 1343 <= year <= 1500:
        try:
            return _Hijri(year, month, day).to_gregorian()
        except (ValueError, OverflowError):
            if day == 30:  # month has 29 days in Umm al-Qura: the site counted differently
                return _Hijri(year, month, 29).to_gregorian() + timedelta(days=1)
            raise
    return tabular_hijri_to_gregorian(year, month, day)


_BREAKS = (-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262,
           2324, 2394, 2456, 3178)


def _div(a: int, b: int) -> int:
    return int(a / b)


def _mod(a: int, b: int) -> int:
    return a - _div(a, b) * b


def _jal_march(jy: int) -> tuple[int, int]:
    """(Gregorian year, day in March) on which Solar Hijri year ``jy`` begins."""
    if not (_BREAKS[0] < jy < _BREAKS[-1]):
        raise ValueError("Solar Hijri year out of range")
    gy = jy + 621
    leap_j = -14
    jp = _BREAKS[0]
    jump = 0
    for jm in _BREAKS[1:]:
        jump = jm - jp
        if jy < jm:
            break
        leap_j += _div(jump, 33) * 8 + _div(_mod(jump, 33), 4)
        jp = jm
    n = jy - jp
    leap_j += _div(n, 33) * 8 + _div(_mod(n, 33) + 3, 4)
    if _mod(jump, 33) == 4 and jump - n == 4:
        leap_j += 1
    leap_g = _div(gy, 4) - _div((_div(gy, 100) + 1) * 3, 4) - 150
    return gy, 20 + leap_j - leap_g


def jalali_to_gregorian(year: int, month: int, day: int) -> date:
    """Solar Hijri (Persian) date → Gregorian."""
    if not (1 <= month <= 12 and 1 <= day <= (31 if month <= 6 else 30)):
        raise ValueError("invalid Solar Hijri date")
    gy, march = _jal_march(year)
    offset = (month - 1) * 31 - _div(month, 7) * (month - 7) + day - 1
    return date(gy, 3, march) + timedelta(days=offset)


def kurdish_to_gregorian(year: int, month: int, day: int) -> date:
    """Kurdish solar date (خاکەلێوە = month 1, starting at Newroz) → Gregorian."""
    return jalali_to_gregorian(year - KURDISH_YEAR_OFFSET, month, day)
