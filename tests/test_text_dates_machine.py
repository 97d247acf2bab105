"""One reading of machine-written times everywhere: a feed's pubDate, the same string on the
article page, a stored value and an HTTP date agree, with this region's zone abbreviations."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawler.discovery import parse_feed
from crawler.extract import extract_article
from crawler.text import parse_date
from crawler.text.dates import http_date, parse_iso

BODY = "<p>" + "تواصل القوات عملياتها في ريف الرقة الشمالي وسط نزوح الأهالي. " * 12 + "</p>"


def _page(date_text: str) -> bytes:
    return (f'<html lang="ar"><head><meta charset="utf-8"><title>خبر عاجل من الرقة</title>'
            f'<meta property="article:published_time" content="{date_text}"></head>'
            f"<body><article><h1>خبر عاجل من الرقة</h1>{BODY}</article></body></html>"
            ).encode("utf-8")


def _feed(date_text: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>خبر</title><link>https://outlet.example/a/1</link>"
            f"<pubDate>{date_text}</pubDate></item></channel></rss>").encode("utf-8")


@pytest.mark.parametrize("text, offset_hours", [
    ("Mon, 05 Jun 2017 10:00:00 AST", 3),       # Arabia Standard Time, not Atlantic (-4)
    ("Mon, 05 Jun 2017 10:00:00 IRST", 3.5),    # unknown to email.utils
    ("Mon, 05 Jun 2017 10:00:00 MSK", 3),
    ("Mon, 05 Jun 2017 10:00:00 +0300", 3),
])
def test_feed_and_page_read_the_same_rfc822_date_alike(text: str, offset_hours: float) -> None:
    want = datetime(2017, 6, 5, 10, tzinfo=timezone(timedelta(hours=offset_hours)))
    feed_date = parse_feed(_feed(text), "https://outlet.example/feed").entries[0].published_at
    page = extract_article(_page(text), "https://outlet.example/a/1")
    assert datetime.fromisoformat(feed_date) == want
    assert datetime.fromisoformat(page.published_at) == want
    assert parse_date(text) == want


def test_impossible_iso_month_is_no_date_not_a_crash() -> None:
    assert parse_date("2017-13") is None
    page = extract_article(_page("2017-13"), "https://outlet.example/2017/06/05/a")
    assert page.title == "خبر عاجل من الرقة"


def test_stored_and_http_times() -> None:
    assert parse_iso("2017-06-05T10:00:00Z") == datetime(2017, 6, 5, 10, tzinfo=timezone.utc)
    assert parse_iso("2017-06-05T10:00:00") == datetime(2017, 6, 5, 10, tzinfo=timezone.utc)
    assert parse_iso("2017-06-05T10:00:00", naive=None) is None
    assert parse_iso("yesterday") is None
    assert http_date("Wed, 21 Oct 2015 07:28:00 GMT") == datetime(2015, 10, 21, 7, 28,
                                                                  tzinfo=timezone.utc)


def test_retry_after_http_date_is_a_delay() -> None:
    from email.utils import format_datetime

    from crawler.middlewares import _retry_after_seconds
    soon = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    assert 100 < _retry_after_seconds(soon.encode()) <= 120
    assert _retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after_seconds(b"30") == 30.0
    assert _retry_after_seconds(b"soon") is None
