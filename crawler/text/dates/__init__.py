"""Every date and time Chavder reads, in one package: feeds, sitemaps, listings, APIs, article
pages, stored values, HTTP headers, mail and the command line.

* ``parse_date``/``search_date``: human dates in Arabic, Sorani, Kurmanji, Persian, Turkish,
  English and more (below); ``to_iso``: any feed/sitemap/listing date → stored ISO string;
* :mod:`~crawler.text.dates.machine`: ISO 8601, RFC 822, ``parse_iso`` (stored values, CLI
  arguments), ``http_date`` (``Retry-After``), ``from_epoch`` (JSON APIs), ``zone`` (config
  validation), ``plausible``;
* :mod:`~crawler.text.dates.scan` and :mod:`~crawler.text.dates.words`: the multilingual scanner.

``parse_date`` reads one date expression (a feed's pubDate, a sitemap lastmod, a page's visible
date line); ``search_date`` finds the first date expression in free text (a dateline, a
"نشر في" line). Both return aware datetimes: an explicit offset in the text is kept, naive times
are placed in the source's time zone ``tz``; values before 1990 or more than two days after
``now`` (the fetch time) are rejected.

Why not dateparser: it takes ~19 ms a call here and misses Levantine month names
("15 أيار 2017" → None); extraction calls this for every page. Instead the text is folded once
(digits to ASCII, tashkeel/tatweel/ZWNJ/bidi marks removed, letter variants and Latin
diacritics folded, lower case — one character for one character, so matches map back to the
original offsets) and scanned with a few compiled regular expressions whose month and weekday
vocabularies come from babel's CLDR data (ar, ar_IQ, ar_DZ, fa, ckb, tr, ku, en) plus the forms
CLDR lacks: Moroccan and Egyptian spellings, Iraqi مايس, Sorani variants, both Kurmanji series
(Kanûna Paşîn … and Rêbendan …), Hijri months, the Kurdish solar months (خاکەلێوە …) and the
Persian solar months. Calendars: see :mod:`crawler.text.calendars`.

Supported: ISO 8601 / W3C-DTF, RFC 822/2822, day-month-year and month-day-year with names,
combined names ("آيار/ مايو", "15 من شهر آيار/ مايو 2017"), numeric Y/M/D and D/M/Y
(D/M before M/D unless ``lang='en'``), dotted D.M.YY ("25.04.24"), European month names
("13. Mai 2026", "22 de outubro de 2010"), 12-hour times with ص/م, AM/PM, پ.ن/د.ن, Hijri dates
(name or هـ marker), Kurdish-year dates, relative dates ("منذ 3 ساعات", "berî 2 saetan",
"پێش ٣ کاتژمێر", "3 saat önce", "2 hours ago") and yesterday/today words (alone in
``parse_date``, or followed by a time in ``search_date``). A day and month without a year
("15 آب") count only when the text has no complete date; they take the latest such day not
after ``now``.
"""
from __future__ import annotations

from datetime import datetime, tzinfo

from crawler.text.dates.machine import (MIN_YEAR, from_epoch, http_date, iso8601, parse_iso,
                                        plausible, rfc822, zone, zone_or_utc)
from crawler.text.dates.scan import scan
from crawler.text.dates.words import ISO_FULL

__all__ = ["parse_date", "search_date", "to_iso", "IMPLAUSIBLE", "parse_iso", "http_date",
           "from_epoch", "zone", "plausible", "MIN_YEAR"]


def _now(now: datetime | None, zone_: tzinfo) -> datetime:
    if now is None:
        return datetime.now(zone_)
    return now if now.tzinfo else now.replace(tzinfo=zone_)


def parse_date(text: str | None, lang: str | None = None, tz: str | tzinfo | None = "UTC",
               now: datetime | None = None) -> datetime | None:
    """Parse one date expression (the whole string is about a date).

    Returns an aware datetime keeping the text's own offset (naive times are placed in ``tz``),
    or None when nothing plausible is found (before 1990, or > 2 days after ``now``)."""
    text = (text or "").strip()
    if not text:
        return None
    zone_ = zone_or_utc(tz)
    now_ = _now(now, zone_)
    value = None
    if text[:4].isdigit() and ISO_FULL.fullmatch(text.lower()):
        value = iso8601(text, zone_)
    if value is None and text[:1].isascii():
        value = rfc822(text, zone_)
    if value is not None:
        return value if plausible(value, now_) else None
    found = scan(text, lang, zone_, now_, alone=True)
    return found[2] if found else None


def search_date(text: str | None, lang: str | None = None, tz: str | tzinfo | None = "UTC",
                now: datetime | None = None) -> tuple[int, int, datetime] | None:
    """Find the first plausible date expression in free text: ``(start, end, datetime)`` with
    offsets into ``text``, or None. Bare "today"/"yesterday" words count only with a time."""
    if not text:
        return None
    zone_ = zone_or_utc(tz)
    return scan(text, lang, zone_, _now(now, zone_), alone=False)


#: A date that parsed but cannot be a news article's (year 9999, 1855): the article is kept
#: undated rather than sorted to the top or bottom of every list. Falsy, unlike a real date.
IMPLAUSIBLE = ""


def to_iso(text: str | None, tz: tzinfo) -> str | None:
    """Any feed/sitemap/listing/API date → ISO 8601 with offset (times without a zone are
    placed in ``tz``); :data:`IMPLAUSIBLE` for a date no article can carry, None for no date.

    Order: ISO/W3C-DTF (sitemaps, Atom, dc:date), RFC 822 (RSS pubDate), then ``parse_date``
    for localised dates ("04 حزيران 2017"). Index pages state absolute dates: words alone
    ("yesterday") have no reference time here and are not read."""
    text = " ".join(text.split()) if text else ""
    if not text:
        return None
    value = iso8601(text, tz) if text[:4].isdigit() else None
    if value is None:
        value = rfc822(text, tz)
    if value is None and any(ch.isdigit() for ch in text):
        try:
            value = parse_date(text, tz=tz)
        except Exception:  # noqa: BLE001 - a helper's bug must not lose the whole feed
            value = None
    if value is None:
        return None
    if not plausible(value):
        return IMPLAUSIBLE
    return value.isoformat()
