"""Single fields of an article page: headline, dates, authors, language, canonical URL.

Each reader takes its evidence in the project's order of trust — per-source selectors, JSON-LD,
OpenGraph/meta, then what the page shows — and returns None/[] when the page does not say, so
the caller can fill the gap from the feed/sitemap hint.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Iterable, Iterator, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from crawler.extract.dom import HtmlElement, clean, css, text_of
from crawler.extract.body import content_like as _content_like
from crawler.extract.furniture import COMMENTS_CLASS, STRONG_CLASS, class_words
from crawler.extract.metadata import PageMetadata
from crawler.text import identify, normalize, parse_date, search_date

_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " « ", " » ", " · ", " ‹ ", " › ",
                     " ـ ", " / ")
_ELLIPSIS = ("…", "...")
_FURNITURE_TAGS = frozenset({"aside", "nav", "footer"})
_DATE_CLASS = re.compile(r"(?:^| )(?:date|dates|time|published|publish|pubdate|posted|dateline|"
                         r"meta|byline|timestamp|dirok|tarikh|tarih|datetime|post date|"
                         r"entry date|news date)(?= |$)")
_AUTHOR_CLASS = re.compile(r"(?:^| )(?:author|authors|byline|writer|author name|reporter|"
                           r"niviskar|نووسەر)(?= |$)")
_AUTHOR_PREFIX = re.compile(
    r"^(?:بقلم|كتب|كتبت|كتبه|تحرير|إعداد|اعداد|المحرر|تقرير|نووسینی|نووسەر|ئامادەکردنی|"
    r"Nivîskar|Nivîsandin|Amadekar|Written by|By|Autor|Author)\s*[:：\-–]?\s*", re.I)
_MAX_AUTHOR_CHARS = 60
#: Dates of publication in meta tags, most specific first.
PUBLISHED_KEYS = ("article:published_time", "og:article:published_time", "og:published_time",
                  "datepublished", "pubdate", "publishdate", "publish-date", "publish_date",
                  "article.published", "dc.date.issued", "dcterms.issued", "dcterms.created",
                  "dc.date", "date", "sailthru.date", "parsely-pub-date",
                  "cxenseparse:recs:publishtime", "article_date_original", "original-publish-date")
MODIFIED_KEYS = ("article:modified_time", "og:article:modified_time", "og:updated_time",
                 "datemodified", "dc.date.modified", "dcterms.modified", "last-modified",
                 "article.updated", "lastmod")
#: Arabic-script and Latin-script languages that language ID confuses with each other.
_ARABIC_SCRIPT = frozenset({"ar", "ckb", "fa", "ur", "ps", "arz", "azb", "sd", "ug", "ku-arab"})
_LATIN_KURDISH_CONFUSABLE = frozenset({"tr", "ku", "kmr", "az", "sq", "pt", "diq", "zza", "ro"})
_ARABIC_CHAR = re.compile("[\u0600-\u06ff\u0750-\u077f]")
_LATIN_CHAR = re.compile("[A-Za-z\u00c0-\u024f]")


# ------------------------------------------------------------------------------ page index
@lru_cache(maxsize=16384)
def _classify(cls: str | None, ident: str | None) -> tuple[str, bool, bool]:
    """class/id → (class words, date-ish?, byline-ish?); templates repeat their classes."""
    raw = " ".join(filter(None, (cls, ident)))
    if not raw:
        return "", False, False
    words = class_words(raw)
    return words, bool(_DATE_CLASS.search(words)), bool(_AUTHOR_CLASS.search(words))


@lru_cache(maxsize=16384)
def _is_furniture_words(words: str) -> bool:
    return bool(COMMENTS_CLASS.search(words) or STRONG_CLASS.search(words))


class PageIndex:
    """Lazy views of the unpruned page for the field readers: the date-ish and byline-ish
    elements in document order (one pass, made only when metadata did not already answer)
    and a memoised "is this inside a sidebar/menu/footer/comment/related block?" test.

    Why: XPath ``contains(@class, …)`` scans and repeated ancestor walks cost milliseconds on
    a 1500-element page; most pages never need them because JSON-LD/OpenGraph answered."""

    def __init__(self, doc: HtmlElement):
        self.doc = doc
        self._dates: list[HtmlElement] | None = None
        self._bylines: list[HtmlElement] = []
        self._furniture: dict[HtmlElement, bool] = {}
        self._paragraph_chars: int | None = None

    def _index(self) -> None:
        self._dates = []
        for el in self.doc.iter():
            get = el.get
            cls, ident, prop = get("class"), get("id"), get("itemprop")
            if cls is None and ident is None and prop is None:
                if el.tag == "time":
                    self._dates.append(el)
                elif get("rel") == "author":
                    self._bylines.append(el)
                continue
            _words, is_date, is_byline = _classify(cls, ident)
            if is_date or el.tag == "time" or (prop and "date" in prop.lower()):
                self._dates.append(el)
            if is_byline or prop == "author" or get("rel") == "author":
                self._bylines.append(el)

    @property
    def dates(self) -> list[HtmlElement]:
        if self._dates is None:
            self._index()
        return self._dates or []

    @property
    def bylines(self) -> list[HtmlElement]:
        if self._dates is None:
            self._index()
        return self._bylines

    def _wraps_article(self, el: HtmlElement) -> bool:
        """A "print"/"share"-classed element holding most of the page's paragraph text (or
        several long paragraphs) wraps the article: it is not furniture."""
        if _content_like(el):
            return True
        if self._paragraph_chars is None:
            self._paragraph_chars = sum(len(text_of(p)) for p in self.doc.iter("p"))
        inside = sum(len(text_of(p)) for p in el.iter("p"))
        return inside >= 200 and inside >= 0.5 * self._paragraph_chars

    def in_furniture(self, el: HtmlElement) -> bool:
        """Is ``el`` inside a sidebar, menu, footer, comment or related block?"""
        path: list[HtmlElement] = []
        node: HtmlElement | None = el
        result = False
        while node is not None:
            cached = self._furniture.get(node)
            if cached is not None:
                result = cached
                break
            path.append(node)
            if node.tag in _FURNITURE_TAGS:
                result = True
                break
            words = _classify(node.get("class"), node.get("id"))[0]
            if words and _is_furniture_words(words) and (
                    COMMENTS_CLASS.search(words) or not self._wraps_article(node)):
                result = True
                break
            node = node.getparent()
        for visited in path:
            self._furniture[visited] = result
        return result


def _texts_of(elements: Sequence[HtmlElement]) -> list[str]:
    out = []
    for el in elements:
        value = el.get("datetime") or el.get("content") or text_of(el)
        value = clean(value)
        if value:
            out.append(value)
    return out


# ------------------------------------------------------------------------------ title
#: Invisible characters CMSes leave in headlines (zero-width space, word joiner, BOM, soft
#: hyphen): they break exact matching and search. Not ZWNJ/ZWJ: Persian and Sorani spelling
#: needs them ("دابه‌زی").
_INVISIBLE = re.compile("[\u00ad\u200b\u2060-\u2064\ufeff]")
#: Punctuation that joins a headline to a site or section name, also without spaces as CJK and
#: Korean titles write it ("…気象庁：朝日新聞デジタル", "…｜日刊ゲンダイ", "…ㅣ한국일보").
_JOINER = "|\\-–—:：｜·•/_~ㅣ"
_JOINER_RUN = re.compile(f"[\\s{_JOINER}]*[{_JOINER}][\\s{_JOINER}]*")


def clean_title(text: str | None) -> str:
    return clean(_INVISIBLE.sub("", text or ""))


def _is_site_part(part: str, site: str) -> bool:
    """Is ``part`` (one side of a separator) the site name, perhaps with a little more
    ("BBC News", "Wochenblatt.cat") — not a headline that happens to contain it?"""
    low = part.strip().lower()
    return bool(low) and site in low and len(low) <= max(2 * len(site), len(site) + 15)


def strip_site_name(title: str, site_name: str | None) -> str:
    """"Headline – Site" / "Site | Headline" / "Headline：Site" → "Headline" when the other side
    is the site."""
    if not title:
        return title
    site = clean_title(site_name).lower() if site_name else ""
    if site:
        low = title.lower()
        if low.endswith(site) and len(title) > len(site) + 4:
            head = title[:len(title) - len(site)]
            m = re.search(f"(?:{_JOINER_RUN.pattern})$", head)
            if m and head[:m.start()].strip():
                return head[:m.start()].strip()
        if low.startswith(site) and len(title) > len(site) + 4:
            m = _JOINER_RUN.match(title, len(site))
            if m and title[m.end():].strip():
                return title[m.end():].strip()
    for sep in _TITLE_SEPARATORS:
        if sep not in title:
            continue
        head, _, tail = title.rpartition(sep)
        first, _, rest = title.partition(sep)
        if site and _is_site_part(tail, site) and head.strip():
            return head.strip()
        if site and _is_site_part(first, site) and rest.strip():
            return rest.strip()
    return title


def _strip_unknown_site(title: str) -> str:
    """For a bare ``<title>``: drop a short last part after a separator (the site name)."""
    for sep in _TITLE_SEPARATORS:
        if sep in title:
            head, _, tail = title.rpartition(sep)
            if head.strip() and len(tail) <= 30 and len(tail) < len(head) / 2:
                return head.strip()
    return title


def headline_only(text: str, anchors: Sequence[str]) -> str:
    """``text`` without what it appends to a shorter headline the page states elsewhere:
    "Headline - Site", "Headline：Site" (another candidate is the evidence). A leading kicker
    ("Kenia: Nairobi von unten") stays: outlets count it as part of the headline."""
    for anchor in sorted({a for a in anchors if a and len(a) >= 8}, key=len, reverse=True):
        if len(anchor) < len(text) and text.startswith(anchor) \
                and _JOINER_RUN.match(text, len(anchor)):
            return anchor
    return text


def main_h1(page: PageIndex, site_name: str | None) -> str | None:
    """The headline ``<h1>``: one in an article/main area or with a title class first; never a
    logo h1 holding the site name."""
    site = clean_title(site_name).lower() if site_name else ""
    fallback = None
    for h1 in page.doc.iter("h1"):
        text = clean_title(text_of(h1))
        if not text or (site and text.lower() == site) or page.in_furniture(h1):
            continue
        marker = class_words(" ".join(filter(None, (h1.get("class"), h1.get("itemprop")))))
        if "logo" in marker or "brand" in marker:
            continue
        if ("title" in marker or "headline" in marker
                or any(a.tag in ("article", "main") for a in h1.iterancestors())):
            return text
        if fallback is None and len(text) >= 8:
            fallback = text
    return fallback


#: Quotation marks some of a page's headline copies carry and others drop ('"X"… Y' / 'X… Y').
_QUOTES = re.compile("[\"'“”„«»‘’‹›「」『』]")


def _quote_free(text: str) -> str:
    return " ".join(_QUOTES.sub("", text).split()).casefold()


def _arbitrate(headline: str, og: str, h1: str | None) -> str:
    """JSON-LD ``headline`` or ``og:title`` when the two disagree.

    Outlets write a search headline and a sharing headline; the one the page displays in its
    ``<h1>`` is the article's headline, so the h1 decides (JSON-LD stays first otherwise). Two
    copies differing only in quotation marks are one headline: the bare copy is kept — the
    marks are display typography that feeds and sharing cards drop, and a headline stored
    once with and once without them would not compare equal."""
    key_ld, key_og = _quote_free(headline), _quote_free(og)
    if key_ld == key_og:
        return min((headline, og), key=lambda t: len(_QUOTES.findall(t)))
    if h1 and _quote_free(h1) == key_og:
        return og
    return headline


def pick_title(page: PageIndex, meta: PageMetadata, selector: str | None,
               hint_title: str | None) -> str:
    """Selector → JSON-LD headline → og:title → h1 → hint → ``<title>``; '' when none (the
    h1 decides between a JSON-LD headline and an og:title that disagree).

    Every candidate loses the site name (by ``og:site_name``, or because another candidate is
    the same headline without it) before the order of trust decides."""
    doc = page.doc
    if selector:
        for text in _texts_of(css(doc, selector)):
            return clean_title(text)
    site = meta.site_name
    h1 = main_h1(page, site)
    title_tag = next(iter(doc.iter("title")), None)
    raw_title = clean_title(text_of(title_tag)) if title_tag is not None else ""
    og = clean_title(meta.meta("og:title"))
    twitter = clean_title(meta.meta("twitter:title"))
    headline = clean_title(meta.headline)
    stripped = {name: strip_site_name(value, site) for name, value in
                (("ld", headline), ("og", og), ("tw", twitter), ("title", raw_title)) if value}
    anchors = [v for v in (h1, *stripped.values()) if v]
    final = {name: headline_only(value, anchors) for name, value in stripped.items()}
    headline, og = final.get("ld", ""), final.get("og") or final.get("tw", "")
    if headline and og:
        headline = _arbitrate(headline, og, h1)
    if headline:
        if headline.endswith(_ELLIPSIS):  # JSON-LD headlines are often cut at 110 chars
            stem = headline.rstrip(".…").strip()
            for longer in (h1, og):
                if longer and longer.startswith(stem) and len(longer) > len(stem):
                    return longer
        return headline
    if og:
        return og
    if h1:
        return h1
    if hint_title:
        return clean_title(hint_title)
    text = final.get("title", "")
    if not text:
        return ""
    return text if text != raw_title else _strip_unknown_site(text)


# ------------------------------------------------------------------------------ dates
def _parse(value: str | None, lang: str | None, tz: str, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_date(value, lang=lang, tz=tz, now=now)
        if parsed is None and len(value) <= 200:
            found = search_date(value, lang=lang, tz=tz, now=now)
            parsed = found[2] if found else None
    except (ValueError, OverflowError):
        return None
    return parsed


def structured_date_texts(page: PageIndex, meta: PageMetadata, selector: str | None
                          ) -> tuple[Iterator[str], Iterator[str]]:
    """Machine-readable publication and modification date strings, most trusted first (lazy:
    the page's elements are only searched when the selector and metadata gave nothing)."""

    def published() -> Iterator[str]:
        if selector:
            yield from _texts_of(css(page.doc, selector))
        if meta.published:
            yield meta.published
        yield from meta.meta_all(*PUBLISHED_KEYS)
        first_time = None
        for el in page.dates:
            if el.get("itemprop") == "datePublished" or (
                    el.tag == "time" and el.get("pubdate") is not None):
                yield from _texts_of([el])
            elif first_time is None and el.tag == "time" and el.get("datetime") and \
                    not page.in_furniture(el):
                first_time = el.get("datetime")
        if first_time:
            yield first_time

    def modified() -> Iterator[str]:
        if meta.modified:
            yield meta.modified
        yield from meta.meta_all(*MODIFIED_KEYS)
        for el in page.dates:
            if el.get("itemprop") == "dateModified":
                yield from _texts_of([el])

    return published(), modified()


def headline_elements(page: PageIndex, title: str = "", limit: int = 3) -> list[HtmlElement]:
    """The elements showing the headline: the h1–h3 outside furniture whose text is the title
    (perhaps with a kicker; a mobile and a desktop header may both exist; some templates use
    an h3), else the first h1 outside furniture."""
    key = normalize(title) if title else ""
    found: list[HtmlElement] = []
    if key:
        for h in page.doc.iter("h1", "h2", "h3"):
            text = normalize(clean_title(text_of(h)))
            if key in text and 2 * len(key) >= len(text) and not page.in_furniture(h):
                found.append(h)
                if len(found) >= limit:
                    break
    if found:
        return found
    first = next((h for h in page.doc.iter("h1") if not page.in_furniture(h)), None)
    return [first] if first is not None else []


def _in_teaser(el: HtmlElement, headline: HtmlElement | None) -> bool:
    """A date inside a link, or inside an ``<article>`` that does not hold the headline, is a
    teaser's date (a related or "more" story), never this page's."""
    for a in el.iterancestors():
        if a.tag == "a":
            return True
        if a.tag == "article" and headline is not None:
            return not any(h is a for h in headline.iterancestors())
    return False


def visible_date_texts(page: PageIndex, title: str = "", limit: int = 30) -> list[str]:
    """Short texts where a page shows its date, nearest to the headline first: the lines
    just after the headline element and date-ish elements around it, then date-ish elements
    elsewhere (a site header's "today" date comes last); teasers' dates never. Body paragraphs
    are never searched — they mention other dates ("قبل 31 من الشهر الفائت")."""
    out: list[str] = []
    near: list[HtmlElement] = []
    far: list[HtmlElement] = []
    heads = headline_elements(page, title)
    area: set[HtmlElement] = set()
    for h1 in heads:
        if h1.tail and clean(h1.tail):
            out.append(clean(h1.tail)[:300])
        node = h1
        for _ in range(3):
            node = node.getnext()
            if node is None:
                break
            if isinstance(node.tag, str):
                text = clean(text_of(node))
                if text and len(text) <= 300:
                    out.append(text)
        parent = h1.getparent()
        grand = parent.getparent() if parent is not None else None
        area |= {a for a in (parent, grand) if a is not None}
    first_head = heads[0] if heads else None
    for el in page.dates:
        if len(near) + len(far) >= limit:
            break
        if page.in_furniture(el) or _in_teaser(el, first_head):
            continue
        depth, node, is_near = 0, el.getparent(), False
        while node is not None and depth < 6:
            if node in area:
                is_near = True
                break
            node, depth = node.getparent(), depth + 1
        (near if is_near else far).append(el)
    for el in near + far:
        text = clean(text_of(el))
        if text and len(text) <= 200:
            out.append(text)
    return out


def first_date(texts: Iterable[str], lang: str | None, tz: str, now: datetime
               ) -> datetime | None:
    for text in texts:
        found = _parse(text, lang, tz, now)
        if found is not None:
            return found
    return None


def reconcile(visible: datetime | None, hint: datetime | None) -> datetime | None:
    """The feed's or sitemap's publication date for this URL outranks a date the page shows
    (which may be a sidebar's or have no time of day); the visible one fills the gap."""
    return hint if hint is not None else visible


#: /2024/10/15/, /2024-10-15/, /20241015/ in a URL path (year 1990–2099).
_URL_DATE = re.compile(r"(?<![0-9])((?:19|20)\d\d)([/_-]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])"
                       r"(?![0-9])")


def url_date(url: str, tz: str, now: datetime | None = None) -> datetime | None:
    """The last resort: a full date in the URL's path (midnight in the source's zone)."""
    m = _URL_DATE.search(urlsplit(url).path)
    if not m:
        return None
    try:
        return parse_date(f"{m[1]}-{m[3]}-{m[4]}", tz=tz, now=now)
    except ValueError:
        return None


# ------------------------------------------------------------------------------ authors
def clean_author(name: str) -> str | None:
    name = _AUTHOR_PREFIX.sub("", clean(name)).strip(" -–—:|،,")
    if not name or len(name) > _MAX_AUTHOR_CHARS or name.startswith(("http://", "https://")):
        return None
    if not any(ch.isalpha() for ch in name):
        return None
    return name


def pick_authors(page: PageIndex, meta: PageMetadata, selector: str | None,
                 hint_authors: Sequence[str]) -> list[str]:
    """Selector → JSON-LD author → author meta tags → byline element → hint (each source is
    only looked at when the previous ones name nobody)."""
    groups = (
        lambda: [text_of(el) for el in css(page.doc, selector)] if selector else [],
        lambda: meta.authors,
        lambda: [a for a in meta.meta_all("author", "article:author", "dc.creator",
                                          "sailthru.author", "parsely-author", "byl")
                 if not a.startswith(("http://", "https://"))],
        lambda: _byline(page),
        lambda: list(hint_authors),
    )
    for group in groups:
        names = [n for n in (clean_author(a) for a in group()) if n]
        if names:
            return list(dict.fromkeys(names))[:10]
    return []


def _byline(page: PageIndex) -> list[str]:
    for el in page.bylines:
        if page.in_furniture(el):
            continue
        named = [n for n in el.iter() if n.get("itemprop") == "name" or n.get("rel") == "author"]
        texts = [clean(text_of(n)) for n in (named or [el])]
        texts = [t for t in texts if t and len(t) <= 80]
        if texts:
            return texts
    return []


# ------------------------------------------------------------------------------ language
def _declared_lang(value: str | None, text: str) -> str | None:
    if not value:
        return None
    code = value.strip().lower().replace("_", "-")
    base = code.split("-")[0]
    if base in ("ku", "kur"):
        if "arab" in code or "iq" in code or "ckb" in code:
            return "ckb"
        if "latn" in code or "tr" in code or "sy" in code:
            return "kmr"
        return "ckb" if _ARABIC_CHAR.search(text[:500]) else "kmr"
    if base in ("ckb", "sdh"):
        return "ckb"
    if base in ("kmr",):
        return "kmr"
    return base or None


#: Letters Sorani has and Persian does not (ڕ ڵ ێ ۆ ە and the Kurdish heh): a text holding
#: them is not Persian, however sure language ID is.
_SORANI_ONLY = re.compile("[\u0695\u06b5\u06ce\u06c6\u06d5\u06be]")
#: Language ID's own confidence already falls on short texts; below this the prior decides.
_CONFIDENT = 0.9


def pick_language(text: str, languages: Sequence[str], declared: Sequence[str | None],
                  hint_language: str | None) -> str | None:
    """Detected language; the source's declared languages (and the page's own declaration)
    are a prior that decides only close calls: an unsure detection (short texts), Sorani read as
    Persian, Kurmanji read as Turkish & co. A confident answer stands — a Persian article on
    an Arabic source stays ``fa`` (outlets publish in several languages)."""
    code, sure = identify(text, _CONFIDENT)
    if code in ("", "und"):
        code = None
    if code == "ku":
        code = "kmr" if _LATIN_CHAR.search(text[:300]) else "ckb"
    allowed = [c.lower() for c in languages if c]
    declared_codes = [d for d in (_declared_lang(v, text) for v in declared) if d]
    if code is None:
        for cand in [*declared_codes, hint_language, *allowed[:1]]:
            if cand:
                return cand
        return None
    if not allowed or code in allowed:
        return code
    same_script = [c for c in allowed if (c in _ARABIC_SCRIPT) == (code in _ARABIC_SCRIPT)]
    unsure = not sure
    if code == "fa" and "ckb" in allowed and (unsure or _SORANI_ONLY.search(text)):
        return "ckb"      # Sorani, short or in the old orthography, reads as Persian
    if code in _LATIN_KURDISH_CONFUSABLE and "kmr" in allowed and (
            unsure or code in ("ku", "diq", "zza")):
        return "kmr"
    if unsure and same_script:
        for cand in declared_codes:
            if cand in same_script:
                return cand
        return same_script[0]
    return code


# ------------------------------------------------------------------------------ canonical
def pick_canonical(url: str, meta: PageMetadata) -> str:
    """rel=canonical, else og:url, when on the same site (and not the home page); else ``url``."""
    from crawler.urls import same_site  # one notion of "same site" for the whole project

    page_path = urlsplit(url).path.strip("/")
    for declared in (meta.canonical, meta.meta("og:url")):
        if not declared:
            continue
        absolute = urljoin(url, declared.strip())
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        if not same_site(url, absolute):
            continue
        if page_path and not parts.path.strip("/"):
            continue  # canonical → home page: a CMS bug that would merge every article
        return absolute
    return url


def headers_lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}
