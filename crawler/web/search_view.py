"""The search page's logic, free of the web framework: the form's fields → a ``SearchQuery``
(the same query ``chavder search`` sends, so syntax and normalisation are the store's own),
one page of story rows with their direction and highlighted snippet, and the attention chart.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Mapping

from markupsafe import Markup, escape

from crawler import defaults
from crawler.store.base import SearchHit, SearchQuery
from crawler.text.dates import parse_iso
from crawler.urls import display_url
from crawler.web import charts

#: Writing direction per language: Arabic, Sorani and Persian right to left.
RTL = frozenset({"ar", "ckb", "fa"})
LTR = frozenset({"kmr", "en", "tr", "de", "fr"})
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
SORTS = ("relevance", "newest")
SPLITS = ("language", "source", "none")
INTERVALS = ("auto", "day", "hour")


def direction(language: str | None) -> str:
    """``rtl``, ``ltr`` or ``auto`` (unknown language: let the browser decide from the text)."""
    if language in RTL:
        return "rtl"
    if language in LTR:
        return "ltr"
    return "auto"


def highlight(text: str, spans: list[tuple[int, int]]) -> Markup:
    """``text`` escaped, its ``spans`` (``[start, end)`` offsets) in ``<mark>``."""
    out: list[str] = []
    at = 0
    for start, end in sorted(spans):
        if start < at or end <= start:
            continue
        out.append(str(escape(text[at:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        at = end
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def _day(value: str) -> datetime | None:
    """A date field (``YYYY-MM-DD`` or an ISO time) → UTC datetime, None when empty/invalid."""
    return parse_iso(value.strip()) if value and value.strip() else None


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(value)))
    except (TypeError, ValueError):
        return default


@dataclass
class SearchForm:
    """The search form's fields as the page's URL carries them (so every page is a link)."""

    q: str = ""
    lang: str = ""
    source: str = ""
    range: str = ""                 # 24h | 7d | 30d | "" (the from/to dates, if any)
    since: str = ""                 # YYYY-MM-DD
    until: str = ""                 # YYYY-MM-DD (inclusive: the whole day)
    sort: str = "relevance"
    offset: int = 0
    limit: int = defaults.WEB_PAGE_SIZE
    split: str = "language"         # language | source | none
    interval: str = "auto"
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "SearchForm":
        get = lambda k: (params.get(k) or "").strip()  # noqa: E731
        form = cls(q=get("q")[:500], lang=get("lang"), source=get("source"),
                   range=get("range") if get("range") in RANGES else "",
                   since=get("since"), until=get("until"),
                   sort=get("sort") if get("sort") in SORTS else "relevance",
                   offset=_int(params.get("offset"), 0, 0, 100_000),
                   limit=_int(params.get("limit"), defaults.WEB_PAGE_SIZE, 1, 100),
                   split=get("split") if get("split") in SPLITS else "language",
                   interval=get("interval") if get("interval") in INTERVALS else "auto")
        for name in ("since", "until"):
            if getattr(form, name) and _day(getattr(form, name)) is None:
                form.problems.append(f"{name} {getattr(form, name)!r} is not a date — use "
                                     "YYYY-MM-DD")
                setattr(form, name, "")
        return form

    def query(self, now: datetime) -> SearchQuery:
        """The store query of these fields (``now`` anchors "last 24 h / 7 days")."""
        since = until = None
        if self.range:
            since = now - RANGES[self.range]
        else:
            since = _day(self.since)
            until = _day(self.until)
            if until is not None and len(self.until) <= 10:
                until += timedelta(days=1)         # a "to" date includes that whole day
        return SearchQuery(text=self.q, language=self.lang or None,
                           source=self.source or None, since=since, until=until,
                           limit=self.limit, offset=self.offset, sort=self.sort)

    def params(self, **changes: Any) -> dict[str, str]:
        """The URL parameters of this form (non-defaults only), with ``changes``."""
        form = replace(self, **changes)
        out = {"q": form.q, "lang": form.lang, "source": form.source, "range": form.range,
               "since": form.since, "until": form.until}
        if form.sort != "relevance":
            out["sort"] = form.sort
        if form.offset:
            out["offset"] = str(form.offset)
        if form.limit != defaults.WEB_PAGE_SIZE:
            out["limit"] = str(form.limit)
        if form.split != "language":
            out["split"] = form.split
        if form.interval != "auto":
            out["interval"] = form.interval
        return {k: v for k, v in out.items() if v}


@dataclass
class ResultRow:
    """One story row as the page shows it."""

    hit: SearchHit
    dir: str
    url: str                        # decoded for reading
    snippet: Markup
    source_name: str
    also_reported_by: list[str]     # the other outlets' names


@dataclass
class ResultPage:
    rows: list[ResultRow]
    total: int
    offset: int
    has_next: bool

    @property
    def first(self) -> int:
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)


def search_page(store: Any, form: SearchForm, now: datetime,
                source_names: Mapping[str, str]) -> ResultPage:
    """One page of results; the total from ``search_total`` where the store has it."""
    if not form.q:
        return ResultPage([], 0, form.offset, False)
    query = form.query(now)
    total = store.search_total(query)
    hits = store.search(query)
    rows = [ResultRow(h, direction(h.language), display_url(h.url), highlight(h.excerpt, h.spans),
                      source_names.get(h.source, h.source),
                      [source_names.get(s, s) for s in h.also_reported_by])
            for h in hits[:query.limit]]
    has_next = form.offset + len(rows) < total
    return ResultPage(rows, total, form.offset, has_next)


@dataclass
class AttentionChart:
    interval: str
    split: str
    keys: list[str | None]
    periods: list[charts.Period]
    svg: Markup

    def to_json(self) -> dict:
        return {"interval": self.interval, "split": self.split or None,
                "periods": [{"start": charts.label(p.start, self.interval),
                             "total": p.total,
                             "counts": {("all" if k is None else k): n
                                        for k, n in p.counts.items()}}
                            for p in self.periods]}


def attention_chart(store: Any, form: SearchForm, now: datetime) -> AttentionChart:
    """The attention chart of the form's query (hours when it spans at most 3 days)."""
    split = "" if form.split == "none" else form.split
    query = form.query(now)
    interval = form.interval
    if interval == "auto":
        interval = "day"
        if query.since is not None and (query.until or now) - query.since <= timedelta(days=3):
            interval = "hour"
    buckets = store.attention(query, interval=interval, split=split or None)
    totals: dict[str | None, int] = {}
    for b in buckets:
        totals[b.key] = totals.get(b.key, 0) + b.stories
    keys = sorted(totals, key=lambda k: (-totals[k], k or ""))
    rows = charts.periods(buckets, interval)
    return AttentionChart(interval, split, keys, rows, charts.attention_svg(rows, interval, keys))
