"""Safe HTML parsing and CSS helpers shared by the metadata and body readers.

libxml2 in recover mode never raises on broken markup; ``huge_tree=False`` keeps its limits on
(nesting capped at 256 levels, no giant text nodes), and the input is truncated to
``MAX_HTML_CHARS`` first, so a hostile page costs bounded time and memory. All tree walks in this
package are iterative (no Python recursion), so deep nesting cannot raise RecursionError.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from lxml import etree
from lxml import html as lxml_html
from lxml.cssselect import CSSSelector

#: No news article needs more; the rest of a bigger page is ignored (bounds parse time).
MAX_HTML_CHARS = 3_000_000

_PARSER = lxml_html.HTMLParser(recover=True, huge_tree=False, remove_comments=True,
                               remove_pis=True, no_network=True, default_doctype=False)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

HtmlElement = lxml_html.HtmlElement


def parse_html(text: str) -> HtmlElement | None:
    """Parse a document; None when libxml2 finds no element at all."""
    text = text[:MAX_HTML_CHARS]
    if text.startswith("<?xml") or text.lstrip().startswith("<?xml"):
        text = _XML_DECL.sub("", text, count=1)  # lxml refuses str input with an encoding decl
    text = _CONTROL.sub(" ", text)
    if not text.strip():
        return None
    try:
        root = lxml_html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    return root


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


def ancestors_and_self(el: HtmlElement) -> Iterator[HtmlElement]:
    yield el
    yield from el.iterancestors()
