"""The standfirst (lead, teaser, "chapô", "Vorspann") of an article, read from the intact page.

Most news templates print the lead in the article header, between the headline and the body
container — often inside a ``<header>``, which the body reader prunes with the rest of the
page's furniture — so the body would start at its second paragraph. The lead is found before
pruning: in the first elements after the headline element, the first text block that either
repeats the page's own description (``og:description``/``description``/JSON-LD: sites put the
lead there) or carries a lead-like class (``lead``, ``standfirst``, ``article__desc``,
``preface``, ``bajada``, …). Links, captions, bylines and date lines are never leads.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator, Sequence

from crawler.extract.dom import HtmlElement, clean, text_of
from crawler.extract.furniture import class_words, is_label_line
from crawler.text import normalize

#: class/id words of lead elements (as class_words phrases).
_LEAD_CLASS = re.compile(
    r"(?:^| )(?:lead|leadtext|lede|standfirst|intro|introduction|subtitle|sub title|"
    r"subheadline|sub headline|subhead|preface|preamble|deck|dek|bajada|chapo|chapeau|summary|"
    r"excerpt|abstract|description|desc|teaser text|article teaser|summary text|spot|ozet|"
    r"sapo|entradilla|occhiello|sommario|perex|ingress|vorspann|kurztext)(?= |$)")
_NOT_LEAD_CLASS = re.compile(r"(?:^| )(?:caption|credit|byline|author|date|time|meta|tags?|"
                             r"share|related|breadcrumbs?|kicker|label|rubric)(?= |$)")
_BLOCKS = frozenset({"p", "div", "h2", "h3", "span", "section", "strong"})
_INNER_BLOCKS = frozenset({"p", "div", "section", "ul", "ol", "table", "h1", "h2", "h3",
                           "figure", "blockquote", "script", "style", "noscript", "template",
                           "figcaption", "button", "form", "iframe", "svg"})
#: A lead is never inside a link (a teaser), a caption, a form or a script.
_NEVER_INSIDE = frozenset({"a", "figcaption", "figure", "form", "button", "script", "noscript",
                           "nav", "aside", "footer", "label", "template"})
#: How far after the headline (elements in document order) a lead may start.
_WINDOW = 150
_MIN_CHARS, _MAX_CHARS = 40, 1500
_KEY_CHARS = 40


@lru_cache(maxsize=8192)
def _lead_words(raw: str) -> tuple[bool, bool]:
    words = class_words(raw)
    return bool(_LEAD_CLASS.search(words)), bool(_NOT_LEAD_CLASS.search(words))


def _squeezed(text: str) -> str:
    """Normalised, without any whitespace: a lead read as one block ("…した。今回…", its
    ``<br>`` gave no space) must match the body that split it into lines."""
    return "".join(normalize(text).split())


def _key(text: str) -> str:
    """``_squeezed(text)[:_KEY_CHARS]``, normalising only the first words it needs: the
    folding never crosses whitespace (NFKD reorders marks only between starters, the rest maps
    character by character), so word by word gives the same characters."""
    parts: list[str] = []
    size = 0
    for word in text.split():
        part = "".join(normalize(word).split())
        parts.append(part)
        size += len(part)
        if size >= _KEY_CHARS:
            break
    return "".join(parts)[:_KEY_CHARS]


def _is_leaf_block(el: HtmlElement) -> bool:
    return not any(isinstance(d.tag, str) and d.tag in _INNER_BLOCKS for d in el.iterdescendants())


def _link_chars(el: HtmlElement) -> int:
    return sum(len(text_of(a)) for a in el.iter("a"))


def _following(el: HtmlElement) -> Iterator[HtmlElement]:
    """The elements after ``el`` in document order (not inside it), nearest first, without
    walking the part of the page before it."""
    node: HtmlElement | None = el
    while node is not None:
        for sibling in node.itersiblings():
            yield from sibling.iter()
        node = node.getparent()


def find_lead(headlines: Sequence[HtmlElement], descriptions: Sequence[str | None]
              ) -> str | None:
    """The lead's text, or None. ``headlines``: the headline element(s) of the intact page;
    ``descriptions``: the page's own summaries (meta/OpenGraph/JSON-LD)."""
    if not headlines:
        return None
    head = headlines[0]
    keys = {k for k in (_key(clean(d)) for d in descriptions if d) if len(k) >= 20}
    seen = 0
    for el in _following(head):
        if not isinstance(el.tag, str):
            continue
        seen += 1
        if seen > _WINDOW:
            break
        if el.tag == "h1":
            break              # the next headline: another story's
        if el.tag not in _BLOCKS or any(a.tag in _NEVER_INSIDE for a in el.iterancestors()):
            continue
        # (every test here only rules an element out: the cheap ones first — a container's
        # text is the whole article, read for nothing)
        if not _is_leaf_block(el):
            continue
        text = clean(text_of(el))
        if not (_MIN_CHARS <= len(text) <= _MAX_CHARS) or _link_chars(el) > len(text) * 0.3 \
                or is_label_line(text):
            continue
        raw = " ".join(filter(None, (el.get("class"), el.get("id"))))
        parent = el.getparent()
        parent_raw = " ".join(filter(None, (parent.get("class"), parent.get("id")))) \
            if parent is not None else ""
        lead_cls, not_lead = _lead_words(raw) if raw else (False, False)
        parent_lead, parent_not = _lead_words(parent_raw) if parent_raw else (False, False)
        if not_lead or parent_not:
            continue
        if lead_cls or parent_lead or (keys and _key(text) in keys):
            return text
    return None


def prepend_lead(lead: str | None, paragraphs: list[str]) -> list[str]:
    """``paragraphs`` with the lead first, unless the body already holds it."""
    if not lead or not paragraphs:
        return paragraphs
    key = _key(lead)
    if any(key in _squeezed(p) for p in paragraphs[:5]) or key in _squeezed("".join(paragraphs)):
        return paragraphs
    return [lead, *paragraphs]
