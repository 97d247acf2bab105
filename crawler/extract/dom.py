"""Safe HTML parsing and CSS helpers shared by the metadata and body readers.

libxml2 in recover mode never raises on broken markup; ``huge_tree=False`` keeps its limits on
(nesting capped at 256 levels, no giant text nodes), and the input is truncated to
``MAX_HTML_BYTES`` first, so a hostile page costs bounded time and memory. All tree walks in this
package are iterative (no Python recursion), so deep nesting cannot raise RecursionError.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from lxml import etree
from lxml.cssselect import CSSSelector

#: No news article needs more; the rest of a bigger page is ignored (bounds parse time).
MAX_HTML_BYTES = 6_000_000

#: Plain lxml elements, not ``lxml.html`` ones: lxml.html calls a Python class-lookup function
#: for every element proxy it creates, ~1 ms on a 1500-element page.
HtmlElement = etree._Element
_LOCAL = threading.local()   # an lxml parser must not be used by two threads at once


def _parser() -> etree.HTMLParser:
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = etree.HTMLParser(
            recover=True, huge_tree=False, remove_comments=True, remove_pis=True,
            no_network=True, default_doctype=False, encoding="utf-8")
    return parser


def parse_html(data: str | bytes) -> HtmlElement | None:
    """Parse a document (text, or bytes already known to be UTF-8); None when libxml2 finds
    no element at all. Bytes are parsed with the encoding forced to UTF-8 — ``<meta charset>``
    has been dealt with by :func:`~crawler.text.charset.decode_html` — which is also twice as
    fast as handing lxml a str, and turns NUL bytes into U+FFFD instead of failing."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    raw = raw[:MAX_HTML_BYTES]
    if not raw.strip():
        return None
    try:
        root = etree.fromstring(raw, _parser())
    except (etree.LxmlError, ValueError):
        return None
    return root if root is not None and isinstance(root.tag, str) else None


def text_of(el: HtmlElement) -> str:
    """All text inside ``el`` (not its tail)."""
    return "".join(el.itertext())


def drop(el: HtmlElement) -> None:
    """Remove ``el`` and its subtree, keeping the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


@lru_cache(maxsize=1024)
def compiled(selector: str) -> CSSSelector | None:
    """Compile a CSS selector once; None for an invalid one (it then matches nothing —
    ``chavder sources check`` reports bad selectors, extraction must not crash on them)."""
    try:
        return CSSSelector(selector, translator="html")
    except Exception:  # cssselect raises SelectorSyntaxError, ExpressionError, …
        return None


def css(root: HtmlElement, selector: str | None) -> list[HtmlElement]:
    if not selector:
        return []
    sel = compiled(selector)
    if sel is None:
        return []
    try:
        return [el for el in sel(root) if isinstance(el.tag, str)]
    except etree.XPathError:
        return []


def clean(text: str | None) -> str:
    """Collapse whitespace (incl. NBSP and zero-width joiners at the edges)."""
    return " ".join((text or "").split())


def attached(el: HtmlElement, root: HtmlElement) -> bool:
    """Is ``el`` still inside ``root``'s tree (not in a dropped subtree)?"""
    for ancestor in el.iterancestors():
        if ancestor is root:
            return True
    return el is root


