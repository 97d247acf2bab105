"""HTML listing pages (section fronts, archives, tag pages) → article links and pagination.

With a configured selector the page is trusted to say where its articles are. Without one, a
heuristic picks links that sit in the main content (not navigation, header, footer, sidebars or
menus), point at the same site, have an article-shaped path and a headline-length anchor text.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from datetime import tzinfo
from urllib.parse import parse_qsl, unquote, urlsplit

import lxml.html
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector

from crawler.discovery.results import ListingResult
from crawler.urls import clean_url, on_domains, site_domains
from crawler.discovery.values import clean_text
from crawler.text.charset import decode_html
from crawler.models import LinkHint
from crawler.text.dates import to_iso, zone

# --------------------------------------------------------------------------- article-shaped URLs

#: Path segments of pages that list or describe rather than report (en, ar, ckb, kmr).
NON_ARTICLE_SEGMENTS = frozenset({
    "category", "categories", "cat", "tag", "tags", "topic", "topics", "author", "authors",
    "writer", "writers", "page", "pages", "about", "about-us", "aboutus", "contact", "contact-us",
    "contactus", "login", "logout", "signin", "sign-in", "signup", "sign-up", "register",
    "account", "profile", "user", "users", "search", "feed", "rss", "wp-admin", "wp-login.php",
    "wp-content", "privacy", "privacy-policy", "terms", "terms-of-use", "subscribe",
    "newsletter", "archive", "archives", "section", "sections", "video", "videos", "gallery",
    "photos", "live", "cart", "shop",
    "تصنيف", "قسم", "أقسام", "وسم", "وسوم", "الوسوم", "كاتب", "الكاتب", "كتاب", "بحث",
    "اتصل-بنا", "من-نحن", "پۆل", "بەش", "نووسەر", "گەڕان", "پەیوەندی",
    "kategori", "etiket", "nivîskar", "niviskar", "lêgerîn", "legerin", "derbarê-me", "têkilî",
})
FILE_EXTENSIONS = frozenset({
    "jpg", "jpeg", "png", "gif", "webp", "svg", "avif", "bmp", "ico", "pdf", "doc", "docx",
    "xls", "xlsx", "ppt", "pptx", "zip", "rar", "7z", "gz", "tar", "mp3", "mp4", "m4a", "wav",
    "avi", "mov", "webm", "ogg", "ics", "xml", "rss", "json", "css", "js", "exe", "apk", "txt",
})
_WEB_EXT = re.compile(r"\.(html?|php|aspx?|jsp|shtml|cms)$", re.I)
_ID_KEYS = frozenset({"id", "p", "nid", "aid", "newsid", "news_id", "article", "articleid",
                      "article_id", "story", "storyid", "story_id", "sid", "itemid", "item_id"})
_LISTING_KEYS = frozenset({"s", "q", "search", "cat", "category", "tag", "author", "paged",
                           "page", "page_id"})
_WORD_SPLIT = re.compile(r"[-_+\s]+")
_DATE_PATH = re.compile(r"/(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])/")
_DATE_SLUG = re.compile(r"(?:^|[-_/])(?:19|20)\d{2}[-_]?(?:0[1-9]|1[0-2])[-_]?(?:0[1-9]|[12]\d|3[01])(?:[-_]|$)")
_ID_SEGMENT = re.compile(r"^\d{4,}$|^\d{4,}[-_]|[-_]\d{4,}$|[A-Za-z]\d{5,}$")


def _is_year(segment: str) -> bool:
    return len(segment) == 4 and 1990 <= int(segment) <= 2039


@lru_cache(maxsize=8192)
def looks_like_article(url: str) -> bool:
    """Article-shaped path: a slug of ≥ 3 words, a numeric id, or a date followed by more path;
    never a category/tag/author/page/about/contact/login page or a file download."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    segments = [s for s in path.split("/") if s]
    query = dict(parse_qsl(parts.query))
    keys = {k.lower() for k in query}
    if keys & _LISTING_KEYS:
        return False
    if any(k in _ID_KEYS and v.isdigit() for k, v in ((k.lower(), v) for k, v in query.items())):
        return True
    if not segments:
        return False
    last = segments[-1]
    ext = last.rsplit(".", 1)[1].lower() if "." in last else ""
    if ext in FILE_EXTENSIONS:
        return False
    if any(s.lower() in NON_ARTICLE_SEGMENTS for s in segments):
        return False
    stem = _WEB_EXT.sub("", last)
    if len([w for w in _WORD_SPLIT.split(stem) if w]) >= 3:
        return True
    for segment in (_WEB_EXT.sub("", s) for s in segments):
        if _ID_SEGMENT.search(segment) and not (segment.isdigit() and _is_year(segment)):
            return True
    date = _DATE_PATH.search(path)
    if date and any(not s.isdigit() or len(s) > 2 for s in path[date.end():].split("/") if s):
        return True                          # /2017/06/01/<something>, not a day archive
    return bool(_DATE_SLUG.search(stem))


# --------------------------------------------------------------------------- page structure

_CHROME_TAGS = frozenset({"nav", "aside", "menu"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "menu",
                           "menubar", "search", "tablist"})
_CHROME_WORDS = frozenset({"nav", "navbar", "navigation", "menu", "menubar", "breadcrumb",
                           "breadcrumbs", "sidebar", "widget", "widgets", "footer", "header",
                           "masthead", "topbar", "social", "share", "sharing", "pagination",
                           "pager", "cookie", "cookies"})
_CLASS_SPLIT = re.compile(r"[\s_-]+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _class_words(element: etree._Element) -> set[str]:
    return {w for w in _CLASS_SPLIT.split(f"{element.get('class', '')} {element.get('id', '')}".lower())
            if w}


def _in_chrome(anchor: etree._Element, use_classes: bool) -> bool:
    """Inside navigation/header/footer/sidebar/menu? Header and footer *within* an ``article``
    belong to the article card (WordPress puts the title link in ``header.entry-header``)."""
    ancestors = []
    for element in anchor.iterancestors():
        if element.tag in ("main", "body", "html"):
            break
        ancestors.append(element)
    article_at = next((i for i, e in enumerate(ancestors) if e.tag == "article"), len(ancestors))
    for i, element in enumerate(ancestors):
        inside_card = i < article_at
        if element.tag in _CHROME_TAGS:
            return True
        if (element.get("role") or "").lower() in _CHROME_ROLES:
            return True
        if inside_card and article_at < len(ancestors):
            continue
        if element.tag in ("header", "footer"):
            return True
        if use_classes and _class_words(element) & _CHROME_WORDS:
            return True
    return False


def _anchor_text(anchor: etree._Element) -> str | None:
    """A heading inside the link wins over the whole card text; then title attribute, img alt."""
    heading = next(anchor.iter(*_HEADINGS), None)
    text = clean_text((heading if heading is not None else anchor).text_content())
    if not text:
        img = next(anchor.iter("img"), None)
        text = clean_text(anchor.get("title")) or (clean_text(img.get("alt")) if img is not None else None)
    if text and len(text) > 300:
        text = text[:300].rsplit(" ", 1)[0] + "…"
    return text


def _is_headline(text: str | None) -> bool:
    return bool(text) and len(text) >= 12 and len(text.split()) >= 3


def _image_src(img: etree._Element) -> str | None:
    for attr in ("src", "data-src", "data-lazy-src", "data-original"):
        value = (img.get(attr) or "").strip()
        if value and not value.startswith("data:"):
            return value
    srcset = (img.get("srcset") or img.get("data-srcset") or "").strip()
    return srcset.split(",")[0].split()[0] if srcset else None


def _card(anchor: etree._Element) -> etree._Element | None:
    for depth, element in enumerate(anchor.iterancestors()):
        if depth > 6 or element.tag in ("main", "body"):
            return None
        if element.tag in ("article", "li"):
            return element
    return None


# --------------------------------------------------------------------------- selectors

_ATTR = re.compile(r"^(?P<sel>.*?)::attr\((?P<attr>[\w:-]+)\)\s*$", re.S)


def _compile(selector: str, what: str) -> tuple[Callable[[etree._Element], list], str | None]:
    """CSS (optionally Scrapy-style ``::attr(name)``) or XPath (starts with ``/`` or ``(``)."""
    sel, attr = selector.strip(), None
    if m := _ATTR.match(sel):
        sel, attr = m["sel"].strip(), m["attr"]
    try:
        if sel.startswith(("/", "(", "./")):
            return etree.XPath(sel), attr
        return CSSSelector(sel, translator="html"), attr
    except (SelectorError, etree.XPathSyntaxError, etree.XPathEvalError) as exc:
        raise ValueError(f"invalid {what} selector {selector!r}: {exc}") from exc


def _selected(root: etree._Element, selector: str, what: str) -> list[tuple[str, etree._Element | None]]:
    """``(href, anchor element)`` for every match: an element's own ``href``, else its first link."""
    find, attr = _compile(selector, what)
    out: list[tuple[str, etree._Element | None]] = []
    for match in find(root):
        if isinstance(match, str):                      # XPath …/@href
            parent = getattr(match, "getparent", lambda: None)()
            out.append((str(match), parent))
        elif isinstance(match, etree._Element):
            if attr:
                href, anchor = match.get(attr), match
            elif match.get("href") is not None:
                href, anchor = match.get("href"), match
            else:
                anchor = next((a for a in match.iter("a") if a.get("href")), None)
                href = anchor.get("href") if anchor is not None else None
            if href:
                out.append((href, anchor))
    return out


# --------------------------------------------------------------------------- pagination

_NEXT_TEXTS = frozenset({
    "next", "next page", "older", "older posts", "older entries", "more posts", "load more",
    "التالي", "التالية", "الصفحة التالية", "الصفحة التالي", "التالى",
    "دواتر", "پەڕەی دواتر", "لاپەڕەی دواتر", "دواتری", "داهاتوو",
    "pêş", "pêşve", "rûpela pêş", "piştre", "paşê", "sonraki",
})
_ARROWS = "«»‹›<>→←⟩⟨|·•.:… \u00a0"


def _next_candidates(root: etree._Element) -> list[str]:
    rel = [e.get("href") for e in root.iter("link", "a")
           if "next" in (e.get("rel") or "").lower().split() and e.get("href")]
    if rel:
        return rel
    found = []
    for a in root.iter("a"):
        href = a.get("href")
        if not href:
            continue
        words = _class_words(a)
        parent = a.getparent()
        parent_words = _class_words(parent) if parent is not None and parent.tag == "li" else set()
        text = (clean_text(a.text_content()) or "").strip(_ARROWS).casefold()
        if "next" in words or "next" in parent_words or text in _NEXT_TEXTS:
            found.append(href)
    return found


# --------------------------------------------------------------------------- entry point

def _card_hints(card: etree._Element | None, url: str, base: str, domains: Sequence[str],
                tz: tzinfo) -> tuple[str | None, str | None]:
    """Date and image from the link's card, only when the card is about this one URL."""
    if card is None:
        return None, None
    for a in card.iter("a"):
        other = clean_url(a.get("href"), base)
        if other and other != url and on_domains(other, domains) and looks_like_article(other):
            return None, None
    published = None
    for t in card.iter("time"):
        published = to_iso(t.get("datetime") or t.text_content(), tz) or None
        if published:
            break
    img = next(card.iter("img"), None)
    image = clean_url(_image_src(img), base) if img is not None else None
    return published, image


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")


def extract_listing_links(body: bytes | str, base_url: str, *, article_links: str | None = None,
                          next_page: str | None = None, allowed_domains: Sequence[str] = (),
                          timezone: str = "UTC") -> ListingResult:
    """Article links (de-duplicated, document order) and next-page URLs of one listing page.

    ``article_links`` / ``next_page``: CSS selectors (``::attr(x)`` allowed) or XPath; an
    invalid selector raises ``ValueError`` (a configuration error). Links off ``allowed_domains``
    (default: the base host and its subdomains, ``www.`` ignored) are dropped."""
    tz = zone(timezone)
    result = ListingResult()
    text = body if isinstance(body, str) else decode_html(body, None)[0]
    text = _XML_DECL.sub("", text, count=1)
    if not text.strip():
        result.problems.append("empty body")
        return result
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        result.problems.append(f"unparseable HTML: {exc}")
        return result
    for bad in root.iter("script", "style", "template"):
        bad.text = None
    base = base_url
    for base_el in root.iter("base"):
        base = clean_url(base_el.get("href"), base_url) or base_url
        break
    domains = site_domains(base_url, allowed_domains)
    here = clean_url(base_url, base_url)

    def accept(href: str | None) -> str | None:
        url = clean_url(href, base)
        return url if url and url != here and on_domains(url, domains) else None

    titles: dict[str, str | None] = {}
    anchors: dict[str, etree._Element | None] = {}

    def add(url: str, title: str | None, anchor: etree._Element | None) -> None:
        if url not in titles:
            titles[url], anchors[url] = title, anchor
        elif titles[url] is None and title:
            titles[url] = title

    if article_links:
        for href, anchor in _selected(root, article_links, "article_links"):
            if url := accept(href):
                add(url, _anchor_text(anchor) if anchor is not None else None, anchor)
        if not titles:
            result.problems.append(f"article_links selector {article_links!r} matched no link")
    else:
        mains = root.xpath("//main | //*[@role='main']")
        for use_classes, scopes in ((True, mains), (True, [root]), (False, [root])):
            if not scopes:
                continue
            _heuristic(scopes, use_classes, accept, add)
            if titles:
                break
        if not titles:
            result.problems.append("no article-like links found")

    for url, title in titles.items():
        anchor = anchors[url]
        published, image = _card_hints(_card(anchor) if anchor is not None else None, url, base,
                                       domains, tz)
        result.articles.append(LinkHint(url=url, title=title, published_at=published,
                                        image_url=image))

    if next_page:
        hrefs = [href for href, _ in _selected(root, next_page, "next_page")]
        if not hrefs:
            result.problems.append(f"next_page selector {next_page!r} matched no link")
    else:
        hrefs = _next_candidates(root)
    for href in hrefs:
        url = accept(href)
        if url and url not in result.next_pages:
            result.next_pages.append(url)
    return result


def _heuristic(scopes: list[etree._Element], use_classes: bool,
               accept: Callable[[str | None], str | None],
               add: Callable[[str, str | None, etree._Element | None], None]) -> None:
    """Collect headline links in ``scopes``; a URL qualifies if any of its anchors is a headline
    (thumbnail link first, title link second is the usual card layout)."""
    seen_anchor: set[etree._Element] = set()
    order: list[str] = []
    best: dict[str, tuple[str | None, etree._Element]] = {}
    for scope in scopes:
        for a in scope.iter("a"):
            if a in seen_anchor:
                continue
            seen_anchor.add(a)
            url = accept(a.get("href"))
            if url is None or not looks_like_article(url) or _in_chrome(a, use_classes):
                continue
            text = _anchor_text(a)
            if url not in best:
                order.append(url)
                best[url] = (text if _is_headline(text) else None, a)
            elif best[url][0] is None and _is_headline(text):
                best[url] = (text, a)
    for url in order:
        title, anchor = best[url]
        if title is not None:
            add(url, title, anchor)
