"""Dates: a table of real-looking date strings (Arabic, Sorani, Kurmanji and feed formats) and
``search_date`` on free text."""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from crawler.text import parse_date, search_date
from crawler.text.calendars import (jalali_to_gregorian, kurdish_to_gregorian,
                                    tabular_hijri_to_gregorian)

DATA = Path(__file__).parent / "data" / "text" / "dates.tsv"
NOW = datetime(2017, 6, 1, 12, 0, tzinfo=timezone.utc)


def _rows() -> list[dict[str, str]]:
    with open(DATA, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


ROWS = _rows()


def test_table_covers_the_three_languages():
    assert len(ROWS) >= 150
    by_lang = {lang: sum(r["lang"] == lang for r in ROWS) for lang in ("ar", "ckb", "kmr")}
    assert all(n >= 30 for n in by_lang.values()), by_lang


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['lang'] or 'any'}" for i, r in enumerate(ROWS)])
def test_parse_date_table(row: dict[str, str]):
    now = datetime.fromisoformat(row["now"])
    got = parse_date(row["text"], lang=row["lang"] or None, tz=row["tz"], now=now)
    if row["expected"] == "None":
        assert got is None, f"{row['text']!r} ({row['note']}) → {got}"
        return
    want = datetime.fromisoformat(row["expected"])
    assert got is not None, f"{row['text']!r} ({row['note']}) → None"
    assert got == want and got.utcoffset() == want.utcoffset(), (
        f"{row['text']!r} ({row['note']}): {got.isoformat()} != {want.isoformat()}")


def test_search_date_finds_first_date_and_maps_offsets_back():
    text = ("روك أونلاين – قامشلو\n\nوكانت قوات سوريا الديمقراطية قد أعلنت في 15 من شهر آيار/ مايو "
            "المنصرم …\n\nنُشِرَ في: ٣١ / ٥ / ٢٠١٧ وأُعيد في 2017/6/1")
    found = search_date(text, "ar", "Asia/Damascus", NOW)
    assert found is not None
    start, end, value = found
    # a complete date wins over an earlier day-month without a year
    assert value == datetime(2017, 5, 31, tzinfo=value.tzinfo)
    assert text[start:end].replace(" ", "") == "٣١/٥/٢٠١٧"


def test_search_date_offsets_survive_tashkeel_and_tatweel():
    text = "نُشِرَ يَوْمَ الخَمِيسِ ١٥ أيّـار ٢٠١٧ فِي دِمَشْقَ"
    start, end, value = search_date(text, "ar", "Asia/Damascus", NOW)
    assert value.date().isoformat() == "2017-05-15"
    assert text[start:end].startswith("الخَمِيسِ") and text[start:end].endswith("٢٠١٧")


def test_search_date_year_less_date_only_when_nothing_better():
    text = "وكانت القوات قد أعلنت في 15 من شهر آيار/ مايو المنصرم عن هدنة."
    start, end, value = search_date(text, "ar", "Asia/Damascus", NOW)
    assert value.date().isoformat() == "2017-05-15"
    assert text[start:end].startswith("15")


def test_search_date_skips_implausible_dates():
    text = "ولد عام 1948 في 3 أيار 1948، وتوفي في 2 آذار 2017 بدمشق."
    assert search_date(text, "ar", "UTC", NOW)[2].date().isoformat() == "2017-03-02"


def test_search_date_bare_yesterday_needs_a_time():
    assert search_date("قالت الوزارة أمس إن الطريق مغلق", "ar", "UTC", NOW) is None
    found = search_date("نشر أمس 10:30", "ar", "Asia/Baghdad", NOW)
    assert found and found[2].isoformat() == "2017-05-31T10:30:00+03:00"


def test_search_date_nothing():
    assert search_date("لا تاريخ في هذا النص", "ar", "UTC", NOW) is None
    assert search_date("", "ar", "UTC", NOW) is None


def test_parse_date_accepts_tzinfo_and_defaults():
    from zoneinfo import ZoneInfo
    got = parse_date("15 أيار 2017", tz=ZoneInfo("Asia/Baghdad"), now=NOW)
    assert got.isoformat() == "2017-05-15T00:00:00+03:00"
    assert parse_date("", now=NOW) is None and parse_date(None, now=NOW) is None
    assert parse_date("2017-05-31").tzinfo is not None          # now defaults to the clock


def test_calendar_conversions_known_days():
    assert jalali_to_gregorian(1396, 1, 1).isoformat() == "2017-03-21"   # Nowruz 2017
    assert jalali_to_gregorian(1399, 12, 30).isoformat() == "2021-03-20"  # leap year end
    assert kurdish_to_gregorian(2717, 1, 1).isoformat() == "2017-03-21"   # Newroz 2717
    assert tabular_hijri_to_gregorian(1, 1, 1).isoformat() == "0622-07-19"  # epoch (Julian 16 July)
