"""JSON listing APIs → :class:`LinkHint` entries, declared per source (no code per outlet).

Outlets such as Rudaw serve their listings as JSON (``Data.CategoryNews.Articles[]`` with
``Title``, ``Link``, ``BodyStripped``…). A source's ``api:`` block says where the item list is
and which fields hold link, title, body/summary and date; this module only reads the bytes it
is given. Never raises on bad input: HTML instead of JSON (a challenge or error page), invalid
JSON, nesting past :data:`MAX_DEPTH`, wrong types and odd dates are described in ``problems``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from crawler.discovery.results import ProblemLog
from crawler.urls import clean_url
from crawler.discovery.values import full_article, html_to_text, shorten
from crawler.models import LinkHint
from crawler.text.dates import IMPLAUSIBLE, from_epoch, to_iso, zone

#: Containers deeper than this are refused before parsing: no listing needs it, and Python's
#: parser would otherwise recurse once per level.
MAX_DEPTH = 64
#: Items read from one document; a listing page holds tens.
MAX_ITEMS = 5000
_CONTENT_MAX_CHARS = 200_000
_DOTNET_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


@dataclass
class ApiResult:
    """Entries of one JSON listing page, plus the page count the API declared (if any)."""

    entries: list[LinkHint] = field(default_factory=list)
    max_page: int | None = None
    problems: list[str] = field(default_factory=list)
    truncated: bool = False
    items_seen: int = 0


def _nesting_depth(text: str, limit: int) -> int:
    """Deepest ``[``/``{`` nesting outside strings, stopping as soon as ``limit`` is passed.
    A C-speed pass over the brackets and quotes only (``re.finditer``)."""
    depth = deepest = 0
    in_string = False
    for m in re.finditer(r'\\.|["\[\]{}]', text):
        token = m.group()
        if token[0] == "\\":
            continue
        if token == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def resolve_path(doc: Any, path: str) -> tuple[Any, str | None]:
    """Value at a dotted path (``Data.CategoryNews.Articles``; digits index lists) and None,
    or (None, what was missing)."""
    value = doc
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            where = ".".join(walked) or "the top level"
            if isinstance(value, dict):
                keys = ", ".join(sorted(map(str, value))[:8]) or "none"
                return None, f"no '{part}' under {where} (keys there: {keys})"
            return None, f"no '{part}' under {where} (that is {_type(value)}, not an object)"
        walked.append(part)
    return value, None


def _type(value: Any) -> str:
    """``an object``, ``a list``… (for problem lines)."""
    name = {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)
    return ("an " if name[0] in "aeiou" else "a ") + name


def _date(value: Any, tz: Any) -> str | None:
    """ISO/RFC/localised strings (naive ones placed in the source's zone), epoch numbers
    (seconds or milliseconds) and ASP.NET ``/Date(ms)/``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        parsed = from_epoch(value)
        return to_iso(parsed.isoformat(), tz) if parsed else None
    if not isinstance(value, str):
        return None
    m = _DOTNET_DATE.match(value.strip())
    if m:
        return _date(int(m.group(1)), tz)
    return to_iso(value[:100], tz)


@dataclass
class _Fields:
    link: str
    title: str | None
    body: str | None
    summary: str | None
    date: str | None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> "_Fields":
        return cls(spec["link"], spec.get("title"), spec.get("body"), spec.get("summary"),
                   spec.get("date"))


def parse_api(body: bytes, base_url: str, spec: Mapping[str, Any], *, timezone: str = "UTC",
              max_items: int = MAX_ITEMS) -> ApiResult:
    """Read one JSON listing page fetched from ``base_url`` as ``spec`` (a source's ``api:``
    block) says. Times without an offset are placed in ``timezone``; raises ``ValueError``
    only for an unknown ``timezone``."""
    tz = zone(timezone)
    problems = ProblemLog()
    result = ApiResult()
    text = body.decode("utf-8-sig", "replace") if isinstance(body, bytes) else str(body)
    head = text.lstrip()[:200].lower()
    if not head:
        result.problems = ["empty body"]
        return result
    if head.startswith("<"):
        what = "HTML" if ("<html" in head or "<!doctype" in head or "<head" in head
                          or "<body" in head) else "XML or HTML"
        result.problems = [f"not JSON: the API answered with {what} (an error or challenge "
                           "page?)"]
        return result
    if _nesting_depth(text, MAX_DEPTH) > MAX_DEPTH:
        result.problems = [f"JSON nested deeper than {MAX_DEPTH} levels — refused"]
        return result
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        result.problems = [f"invalid JSON: {str(exc)[:120]}"]
        return result
    fields = _Fields.of(spec)
    if spec.get("max_page"):
        value, missing = resolve_path(doc, str(spec["max_page"]))
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            result.max_page = value
        elif missing is None:
            problems.add(f"max_page '{spec['max_page']}' is {_type(value)}, not a number")
        else:
            problems.add(f"max_page '{spec['max_page']}' not found: {missing}")
    items, missing = resolve_path(doc, str(spec["items"]))
    if missing is not None:
        problems.add(f"item list '{spec['items']}' not found: {missing}")
        result.problems = problems.as_list()
        return result
    if not isinstance(items, list):
        problems.add(f"item list '{spec['items']}' is {_type(items)}, not a list")
        result.problems = problems.as_list()
        return result
    if len(items) > max_items:
        problems.add(f"{len(items)} items: read the first {max_items}")
        result.truncated = True
        items = items[:max_items]
    result.items_seen = len(items)
    bad: dict[str, int] = {}
    seen: set[str] = set()
    for item in items:
        hint, why = _entry(item, fields, base_url, tz)
        if why:
            bad[why] = bad.get(why, 0) + 1
        if hint is not None and hint.url not in seen:
            seen.add(hint.url)
            result.entries.append(hint)
    for why, n in bad.items():
        problems.add(f"{n} item(s): {why}")
    result.problems = problems.as_list()
    return result


def _entry(item: Any, f: _Fields, base_url: str, tz: Any) -> tuple[LinkHint | None, str | None]:
    """One item → a hint, or (None, why it was skipped). Fields of the wrong type are dropped
    with a reason; only a missing link drops the item."""
    if not isinstance(item, dict):
        return None, f"not an object ({_type(item)[2:].lstrip()}) — skipped"
    link, missing = resolve_path(item, f.link)
    if not isinstance(link, str) or not link.strip():
        what = "missing" if missing else _type(link)
        return None, f"link field '{f.link}' is {what}, not a URL — skipped"
    url = clean_url(link.strip(), base_url)
    if url is None:
        return None, f"link field '{f.link}' is not an http(s) URL — skipped"
    why: str | None = None

    def text_field(path: str | None) -> str | None:
        nonlocal why
        if not path:
            return None
        value, _ = resolve_path(item, path)
        if value is None:
            return None
        if not isinstance(value, str):
            why = why or f"field '{path}' is {_type(value)}, not text — ignored"
            return None
        return value

    title = text_field(f.title)
    body_html = text_field(f.body)
    summary_html = text_field(f.summary)
    published = None
    if f.date:
        raw, _ = resolve_path(item, f.date)
        if raw is not None:
            published = _date(raw, tz)
            if published is None or published == IMPLAUSIBLE:
                why = why or f"date field '{f.date}' not understood, e.g. {str(raw)[:40]!r}"
                published = None
    body_text = html_to_text(body_html, max_source=_CONTENT_MAX_CHARS) if body_html else None
    summary = html_to_text(summary_html) or body_text
    return LinkHint(url=url, title=html_to_text(title), published_at=published,
                    summary=shorten(summary), content_html=full_article(body_html)), why


def page_url(template: str, page: int) -> str:
    """The URL of page ``page`` of an api source (``{page}`` in its start URL)."""
    return template.replace("{page}", str(page))
