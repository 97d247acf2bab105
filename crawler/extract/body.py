"""Main article text: a fast lxml path, with trafilatura only as a fallback.

trafilatura costs 25–80 ms per real Arabic news page (project NOTES; 5–19 ms on our simpler
fixture and generated pages, see bench/extract_speed.py); at the crawl's target of ≥ 100
articles/s on two cores the whole extraction budget is a few milliseconds. The fast path:

1. ``prune`` — drops furniture elements (by tag in C, then by class/id words, hidden elements,
   comment/search forms) and notes article-container candidates on the way;
2. the root is the per-source ``body`` selector, else the best known container
   (``[itemprop=articleBody]``, ``.entry-content``, ``.post-content``, …, ``article``, ``main``),
   else the element with the highest paragraph-text density score (Readability-style);
3. ``blocks`` reads the root's text as paragraphs (block elements and ``<br>`` split them) with
   the share of link text in each, and ``keep_paragraphs`` drops furniture lines.

``trafilatura_body`` runs only when this finds less than ``FAST_MIN_CHARS``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from lxml import etree

from crawler.extract.dom import HtmlElement, attached, clean, css, drop, text_of
from crawler.extract.furniture import (COMMENTS_CLASS, DROP_TAGS, STRONG_CLASS, WEAK_CLASS,
                                       class_words, is_label_line)
from crawler.text import normalize, search_date

FAST_MIN_CHARS = 200      # the fast path is trusted from this much text on
MIN_ARTICLE_CHARS = 80    # less than this is not an article (JS shells, error pages)
MAX_BODY_CHARS = 200_000  # a body longer than this is cut (bounded work downstream)
MAX_ELEMENTS = 60_000    # pathological pages: only the first elements are examined

BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
    "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "tr", "td", "th", "tbody", "thead",
    "figure", "address", "center", "hr", "body", "form", "fieldset", "details", "summary",
})
_KEEP_TAGS = frozenset({"html", "body", "main", "article"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
#: A hidden element named like this holds the article's text behind a paywall overlay (served
#: in the page, unhidden by script for subscribers): it is the article, not hidden furniture.
_PAYWALL = re.compile(r"(?:^| )(?:paywall|paywalled|premium content|subscriber content|"
                      r"subscribers only|locked content|article locked)(?= |$)")
_FORM_FURNITURE = re.compile(r"comment|search|reply|respond|subscribe|newsletter|login|"
                             r"contact|poll|vote", re.I)
#: Container classes (as class_words phrases) in priority order; an earlier one wins.
_CONTAINER_PHRASES = (
    "entry content", "post content", "article body", "article content", "articlebody",
    "story body", "story content", "news text", "news content", "news body", "td post content",
    "single content", "post body", "post text", "content text", "article text", "text content",
    "news detail text", "body text",
)
_CONTAINER_PRIORITY = {p: n for n, p in enumerate(_CONTAINER_PHRASES)}
#: One pass over the class words for every phrase (one regex, not one per phrase).
_CONTAINER_RE = re.compile("(?=(?:^| )(" + "|".join(
    re.escape(p) for p in sorted(_CONTAINER_PHRASES, key=len, reverse=True)) + ")(?= |$))")
_CONTAINER_IDS = frozenset({"article-body", "articlebody", "article-content", "content-body",
                            "story-body", "news-body", "post-body", "entry-content"})
_COMMAS = re.compile("[,،؛;]")
_INLINE = frozenset({"a", "span", "font", "b", "strong", "i", "em", "u", "small", "big", "sup",
                     "sub", "mark", "abbr", "cite", "q", "time", "bdi", "bdo", "s", "label"})
#: Words that may stand next to a date in a date-only line ("نشر في", "Updated", …).
_DATE_WORDS = frozenset(normalize(w) for w in (
    "نشر", "نشرت", "في", "بتاريخ", "تاريخ", "النشر", "آخر", "اخر", "تحديث", "التحديث", "منذ",
    "الساعة", "ساعة", "يوم", "بڵاوکراوەتەوە", "بڵاوکرایەوە", "لە", "کاتژمێر", "نوێکراوەتەوە",
    "dîrok", "weşandin", "hat", "nûkirin", "roja", "published", "updated", "on",
    "at", "posted", "date", "am", "pm", "ص", "م", "gmt", "utc",
    # the same words on the international pages a monitor also meets
    "publié", "le", "à", "mis", "jour", "publicado", "actualizado", "el", "a", "las", "às",
    "em", "veröffentlicht", "aktualisiert", "stand", "uhr", "um", "pubblicato", "aggiornato",
    "alle", "il", "gepubliceerd", "bijgewerkt", "om", "publicerad", "uppdaterad", "publisert",
    "oppdatert", "kl", "opublikowano", "zaktualizowano", "yayınlanma", "güncelleme", "tarihi",
    "公開日", "更新日", "公開", "更新", "发布时间", "发布", "更新时间", "입력", "수정", "기사입력",
))
_WORD_RE = re.compile(r"[^\W\d_]+")
_TITLE_TAIL = re.compile(r"\s*[|\-–—:：｜·•/]")


@dataclass
class Block:
    """One paragraph-like piece of text and how much of it is link text."""

    text: str
    link_chars: int
    tag: str
    plain: str = ""   # the text outside links ("Parve bike" of "Parve bike Facebook Twitter")

    @property
    def link_density(self) -> float:
        return self.link_chars / len(self.text) if self.text else 0.0


@dataclass
class Candidates:
    """Article-container candidates noticed while pruning, best priority first."""

    ranked: list[tuple[int, int, HtmlElement]]   # (priority, document order, element)


@lru_cache(maxsize=8192)
def _class_kind(raw: str) -> int:
    """0 = neutral, 1 = weak furniture, 2 = strong furniture, 3 = comments; -p = container."""
    words = class_words(raw)
    if not words:
        return 0
    found = [_CONTAINER_PRIORITY[m] for m in _CONTAINER_RE.findall(words)]
    if found:
        return -(min(found) + 1)
    if COMMENTS_CLASS.search(words):
        return 3
    if STRONG_CLASS.search(words):
        return 2
    if WEAK_CLASS.search(words):
        return 1
    return 0


def content_like(el: HtmlElement) -> bool:
    """Does a furniture-classed element nevertheless wrap article text (several long <p>)?"""
    long_paragraphs = 0
    for p in el.iter("p"):
        if len(text_of(p)) >= 150:
            long_paragraphs += 1
            if long_paragraphs >= 3:
                return True
    return False


#: Elements prune() looks at besides the dropped tags: XPath picks the few hundred worth a look
#: in C instead of visiting every element from Python.
_INTERESTING = etree.XPath(
    "//*[@class or @id or @style or @hidden or @aria-hidden or @itemprop or @role]"
    " | //form | //article | //main")
_STRIP_TAGS = tuple(DROP_TAGS)


_RUNNING_TEXT = frozenset({"p", "li", "blockquote", "dd", "td"})


def _in_running_text(el: HtmlElement, tag: str) -> bool:
    """An inline element inside a paragraph (a keyword link ``<a class="tag-link">``, a
    ``<span class="date">`` in a sentence) is part of the sentence: dropping it would cut words
    out of the text."""
    if tag not in _INLINE:
        return False
    parent = el.getparent()
    return parent is not None and isinstance(parent.tag, str) and parent.tag in _RUNNING_TEXT \
        and bool((parent.text or "").strip() or (el.tail or "").strip())


def prune(doc: HtmlElement, remove: str | None = None) -> Candidates:
    """Drop furniture elements from ``doc`` in place; return container candidates."""
    body = doc.find("body")
    root = body if body is not None else doc
    etree.strip_elements(root, *_STRIP_TAGS, with_tail=False)
    doomed: list[HtmlElement] = []
    ranked: list[tuple[int, int, HtmlElement]] = []
    repeated: dict[tuple[HtmlElement, str, str], list[HtmlElement]] = {}
    for order, el in enumerate(_INTERESTING(root)):
        if order > MAX_ELEMENTS:
            break
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        get = el.get
        if get("itemprop") == "articleBody":
            ranked.append((0, order, el))
            continue
        if get("hidden") is not None or get("aria-hidden") == "true" or (
                get("style") and _HIDDEN_STYLE.search(get("style") or "")):
            if tag not in _KEEP_TAGS and not _PAYWALL.search(
                    class_words(" ".join(filter(None, (get("class"), get("id")))))):
                doomed.append(el)
                continue
        if tag == "form":
            marker = " ".join(filter(None, (get("class"), get("id"), get("action"), get("name"))))
            if _FORM_FURNITURE.search(marker) or not content_like(el):
                doomed.append(el)
                continue
        raw = " ".join(filter(None, (get("class"), get("id"))))
        kind = _class_kind(raw) if raw else 0
        if kind < 0:
            ranked.append((-kind, order, el))
        elif kind == 3 and tag not in _KEEP_TAGS:
            doomed.append(el)
            continue
        elif kind > 0 and tag not in _KEEP_TAGS and not content_like(el) \
                and not _in_running_text(el, tag):
            doomed.append(el)
            continue
        if kind == 0 and tag in _TEASER_TAGS and get("class"):
            parent = el.getparent()
            if parent is not None:
                repeated.setdefault((parent, tag, get("class")), []).append(el)
        ident = (get("id") or "").lower()
        if ident in _CONTAINER_IDS:
            ranked.append((len(_CONTAINER_PHRASES) + 1, order, el))
        elif tag == "article":
            ranked.append((len(_CONTAINER_PHRASES) + 2, order, el))
        elif tag == "main" or get("role") == "main":
            ranked.append((len(_CONTAINER_PHRASES) + 3, order, el))
    for group in repeated.values():
        if len(group) >= _TEASER_RUN and sum(map(_is_teaser, group)) >= _TEASER_RUN:
            doomed.extend(group)
    if remove:
        doomed.extend(css(doc, remove))
    for el in doomed:
        if el.getparent() is not None and el is not doc:
            drop(el)
    ranked = [c for c in ranked if attached(c[2], doc)]
    ranked.sort(key=lambda c: (c[0], c[1]))
    return Candidates(ranked)


_TEASER_TAGS = frozenset({"div", "li", "section"})
_TEASER_RUN = 3          # this many same-class teaser siblings make a teaser grid
_TEASER_MAX_CHARS = 300
_TEASER_PARTS = frozenset({"div", "h2", "h3", "h4", "h5", "p", "span", "img"})


def _is_teaser(el: HtmlElement) -> bool:
    """A story teaser: a short box with a link to another page taking part of its text (the
    teaser's headline) next to a picture or a one-line summary in their own elements. A run of
    same-class siblings like this after an article ("Most popular", "More from …") is a grid of
    other stories, not this one's text."""
    text = text_of(el)
    if not text.strip() or len(text) > _TEASER_MAX_CHARS:
        return False
    links = [a for a in el.iter("a") if a.get("href")]
    if not links or not any(isinstance(c.tag, str) and c.tag in _TEASER_PARTS for c in el):
        return False
    return sum(len(text_of(a).strip()) for a in links) >= 0.15 * len(text.strip())


def blocks(root: HtmlElement) -> list[Block]:
    """Paragraph-like text pieces of ``root`` in document order (iterative walk)."""
    out: list[Block] = []
    buf: list[str] = []
    plain: list[str] = []
    link_chars = 0
    link_depth = 0
    block_tag = [root.tag if isinstance(root.tag, str) else "div"]

    def flush() -> None:
        nonlocal link_chars
        if buf:
            text = clean("".join(buf))
            if text:
                out.append(Block(text, min(link_chars, len(text)), block_tag[-1],
                                 clean("".join(plain))))
            buf.clear()
            plain.clear()
        link_chars = 0

    inline_cells: set[HtmlElement] = set()
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _CELL_TAGS and (el in inline_cells or (event == "start" and _simple_cell(el))):
            # a data-table cell: one line per row ("3 Kevin Harvick 5033 4"), not per cell
            inline_cells.add(el)
            buf.append(" ")
            if event == "start" and el.text:
                buf.append(el.text)
                (plain.append(el.text) if not link_depth else None)
                link_chars += len(el.text.strip()) if link_depth else 0
            elif event == "end" and el is not root and el.tail:
                buf.append(el.tail)
            continue
        if event == "start":
            if tag == "br":
                flush()
            elif tag in BLOCK_TAGS:
                flush()
                block_tag.append(tag)
            elif tag == "a":
                link_depth += 1
            if el.text:
                buf.append(el.text)
                if link_depth:
                    link_chars += len(el.text.strip())
                else:
                    plain.append(el.text)
        else:
            if tag in BLOCK_TAGS:
                flush()
                if len(block_tag) > 1:
                    block_tag.pop()
            elif tag == "a":
                link_depth = max(0, link_depth - 1)
            if el is not root and el.tail:
                buf.append(el.tail)
                if link_depth:
                    link_chars += len(el.tail.strip())
                else:
                    plain.append(el.tail)
    flush()
    return out


_CELL_TAGS = frozenset({"td", "th"})
_CELL_BREAKS = BLOCK_TAGS | {"br"}


def _simple_cell(cell: HtmlElement) -> bool:
    """A table cell holding a short run of text (a data table), not a layout cell wrapping
    paragraphs — old sites put the whole article in one ``<td>``."""
    if len(text_of(cell)) > 300:
        return False
    return not any(isinstance(d.tag, str) and d.tag.lower() in _CELL_BREAKS
                   for d in cell.iterdescendants())


def _date_only(line: str, tz: str) -> bool:
    """A short line that is just a date/time (with words like "نشر في", "Updated")."""
    if len(line) > 70 or not any(ch.isdigit() for ch in line):
        return False
    found = search_date(line, tz=tz)
    if not found:
        return False
    rest = line[:found[0]] + " " + line[found[1]:]
    words = [normalize(w) for w in _WORD_RE.findall(rest)]
    return all(w in _DATE_WORDS for w in words)


#: Blocks whose text may legitimately repeat: a meal plan's "Eat every 2–3 hours" each day, an
#: interview's same question to each guest, a spec list per model.
_REPEATABLE = frozenset({"p", "li", "dt", "dd", "td", "th", "blockquote", "h2", "h3", "h4"})


def keep_paragraphs(pieces: Iterable[Block], *, title: str = "", authors: Sequence[str] = (),
                    tz: str = "UTC") -> list[str]:
    """Article paragraphs of ``pieces``: furniture labels, link lists, the repeated headline,
    lone bylines and date-only lines dropped; exact repeats removed."""
    title_key = normalize(clean(title)) if title else ""
    author_keys = {normalize(clean(a)) for a in authors if a}
    seen: set[str] = set()   # exact repeats (after whitespace collapsing)
    out: list[str] = []
    total = 0
    for piece in pieces:
        line = piece.text
        if not line or is_label_line(line):
            continue
        density = piece.link_density
        if density >= 0.6 and len(line) < 200:
            continue  # "related" and "read also" links, tag lists, menus left in the container
        if piece.tag == "li" and density >= 0.35:
            continue
        if density >= 0.3 and len(line) < 200 and (
                not piece.plain.strip(" :：-–|·,،") or is_label_line(piece.plain)):
            continue  # "Parve bike <a>Facebook</a> <a>Twitter</a>", "الوسوم: <a>…</a>"
        if line in seen and piece.tag not in _REPEATABLE:
            continue   # a widget's text printed twice (mobile and desktop copies)
        if len(line) <= 2 * len(title_key) + 80:  # only short lines can repeat title/byline
            key = normalize(line)
            if key == title_key or key in author_keys:
                continue
            if title and line.startswith(title) and len(line) - len(title) <= 40 and \
                    _TITLE_TAIL.match(line, len(title)):
                continue   # "Headline | site" printed above the text
        if _date_only(line, tz):
            continue
        seen.add(line)
        out.append(line)
        total += len(line) + 2
        if total > MAX_BODY_CHARS:
            break
    return out


def _score_piece(text: str) -> float:
    n = len(text.strip())
    if n < 25:
        return 0.0
    return 1.0 + len(_COMMAS.findall(text)) + min(n / 100.0, 3.0)


def _link_density(el: HtmlElement) -> float:
    total = len(text_of(el))
    if not total:
        return 1.0
    links = sum(len(text_of(a)) for a in el.iter("a"))
    return links / total


def density_root(doc: HtmlElement) -> HtmlElement | None:
    """The element with most paragraph text under it (paragraphs score their parent fully and
    their grandparent half; text written directly inside a div/td/font scores that element)."""
    scores: dict[HtmlElement, float] = {}
    for order, el in enumerate(doc.iter()):
        if order > MAX_ELEMENTS:
            break
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in ("p", "pre", "blockquote"):
            score = _score_piece(text_of(el))
            if not score:
                continue
            parent = el.getparent()
            if parent is not None:
                scores[parent] = scores.get(parent, 0.0) + score
                grand = parent.getparent()
                if grand is not None:
                    scores[grand] = scores.get(grand, 0.0) + score / 2
        elif tag in ("div", "td", "font", "span", "section", "article", "center", "main"):
            score = _score_piece(el.text or "") + sum(_score_piece(c.tail or "") for c in el)
            if score:
                scores[el] = scores.get(el, 0.0) + score
    if not scores:
        return None
    top = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:5]
    best = max(top, key=lambda kv: kv[1] * (1.0 - _link_density(kv[0])))[0]
    while best.tag in _INLINE and best.getparent() is not None:
        best = best.getparent()
    return best


def fast_body(doc: HtmlElement, candidates: Candidates, *, selector: str | None = None,
              title: str = "", authors: Sequence[str] = (),
              tz: str = "UTC") -> tuple[list[str], str]:
    """Paragraphs of the article in a pruned ``doc`` and where they came from: ``selector``,
    ``container`` (a known article container), ``density`` or ``""`` (nothing found).

    A known container is trusted even for a short text (a two-line news brief); the density
    heuristic is not, so the caller falls back to trafilatura when it finds little."""

    def read(roots: Sequence[HtmlElement]) -> list[str]:
        pieces: list[Block] = []
        for root in roots:
            pieces.extend(blocks(root))
        return keep_paragraphs(pieces, title=title, authors=authors, tz=tz)

    if selector:
        roots = _outermost(css(doc, selector))
        if roots:
            found = read(roots)
            if found:
                return found, "selector"
    best: list[str] = []
    best_el: HtmlElement | None = None
    best_priority: int | None = None
    short: list[str] = []
    for priority, _order, el in candidates.ranked:
        if best_priority is not None and priority != best_priority:
            break  # a longer text in a lower-priority container does not override
        if _link_density(el) >= 0.5 or _is_listing(el):
            continue
        found = read([el])
        size = sum(map(len, found))
        if size < MIN_ARTICLE_CHARS:
            continue
        if size >= FAST_MIN_CHARS:
            if size > sum(map(len, best)):
                best, best_priority, best_el = found, priority, el
        elif not short:
            short = found
    if best and best_el is not None and best_priority is not None \
            and best_priority <= len(_CONTAINER_PHRASES):
        parts = _split_parts(best_el, candidates, best_priority)
        if len(parts) > 1:
            merged = read(parts)
            if sum(map(len, merged)) > sum(map(len, best)):
                best = merged
    if best and best_el is not None and best_priority is not None:
        best = _outweighed(best, best_el, best_priority, candidates, read)
    if best:
        return best, "container"
    root = density_root(doc)
    dense = read([root]) if root is not None else []
    if sum(map(len, dense)) >= FAST_MIN_CHARS or (dense and not short):
        return dense, "density"
    if short:
        return short, "container"
    return [], ""


#: A named container elsewhere holding this many times the chosen one's text is the article.
_OUTWEIGH = 3


def _outweighed(best: list[str], best_el: HtmlElement, priority: int, candidates: Candidates,
                read: Callable[[Sequence[HtmlElement]], list[str]]) -> list[str]:
    """``best`` unless a lower-ranked *named* container (a class phrase or container id, not a
    bare ``<article>``/``<main>``) outside it, and not around it, holds ``_OUTWEIGH`` times its
    text: blog templates put the top-ranked class on every sidebar box ("box-text
    entry-content"), while the post itself sits in a "article-body" div."""
    size = sum(map(len, best))
    named = len(_CONTAINER_PHRASES) + 1
    around = set(best_el.iterancestors())
    for prio, _order, el in candidates.ranked:
        if prio <= priority or prio > named or el in around \
                or any(a is best_el for a in el.iterancestors()):
            continue
        if len(text_of(el)) < _OUTWEIGH * size or _link_density(el) >= 0.5 or _is_listing(el):
            continue
        found = read([el])
        if sum(map(len, found)) >= _OUTWEIGH * size:
            return found
    return best


def _is_listing(el: HtmlElement) -> bool:
    """An element holding several ``<article>`` teasers is a list of stories, not one."""
    nested = 0
    for _ in el.iterdescendants("article"):
        nested += 1
        if nested >= 2:
            return True
    return False


#: How far up two pieces of one article body may be apart (section > div > div > piece).
_PART_DISTANCE = 8


def _split_parts(best: HtmlElement, candidates: Candidates, priority: int) -> list[HtmlElement]:
    """The pieces of an article body split into several same-class containers (an ad break or
    a pull quote between two ``div.post-content``, one ``p.post-text`` per paragraph): every
    outermost candidate of the same priority, tag and class near ``best``, in document order."""
    key = (best.tag, best.get("class"))
    same = [(order, el) for prio, order, el in candidates.ranked
            if prio == priority and (el.tag, el.get("class")) == key]
    if len(same) < 2:
        return [best]
    ancestors = [a for a in list(best.iterancestors())[:_PART_DISTANCE]
                 if a.tag not in ("body", "html")]
    chosen = {el for _, el in same}
    parts = []
    for _order, el in sorted(same, key=lambda c: c[0]):
        if any(a in chosen for a in el.iterancestors()):
            continue   # nested inside another piece: read with it
        if el is not best:
            near = list(el.iterancestors())[:_PART_DISTANCE]
            if not any(a in near for a in ancestors) or best in near or el in ancestors:
                continue
        parts.append(el)
    return parts


def _outermost(elements: list[HtmlElement]) -> list[HtmlElement]:
    """Drop matches nested inside other matches (a selector like ``.text, .text p``)."""
    chosen = set(elements)
    return [el for el in elements if not any(a in chosen for a in el.iterancestors())]


def paragraphs_from_text(text: str) -> list[str]:
    """JSON-LD ``articleBody`` (plain text) → paragraphs on line breaks."""
    return [clean(p) for p in re.split(r"\r?\n", text) if clean(p)]


def trafilatura_body(html_text: str, url: str, *, title: str = "", authors: Sequence[str] = (),
                     tz: str = "UTC") -> list[str]:
    """Slow fallback (25–80 ms/page): trafilatura in precision mode, no comments, then the same
    furniture filter (trafilatura keeps e.g. Arabic comment-form confirmations). Without
    trafilatura's ``deduplicate``: its process-wide cache of seen text made a page that had
    been extracted before (a re-crawl, an edited article) come out empty."""
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - a dependency of the project
        return []
    # trafilatura logs ERROR for every page it finds nothing in; the crawl reports that
    # itself, once, as "no-article-text" — keep the log to one clear line per problem.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        text = trafilatura.extract(html_text, url=url or None, favor_precision=True,
                                   include_comments=False, include_tables=True,
                                   include_images=False, deduplicate=False) or ""
    except Exception:  # trafilatura/lxml raise assorted errors on pathological input
        return []
    pieces = []
    for line in text.split("\n"):
        line = clean(line)
        if line.startswith("- "):  # a list item: short ones are menus and breadcrumbs
            line = line[2:]
            if len(line) < 40:
                continue
        pieces.append(Block(line, 0, "p"))
    return keep_paragraphs(pieces, title=title, authors=authors, tz=tz)
