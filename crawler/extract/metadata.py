"""What a page says about itself in machine-readable form: JSON-LD and OpenGraph/meta tags.

JSON-LD is read from every ``application/ld+json`` script, including ``@graph`` containers,
top-level lists and ``mainEntity``; the first NewsArticle/Article/ReportageNewsArticle (or
another ``*Article``/``BlogPosting``) wins, a bare WebPage is only used when nothing better
exists. Broken JSON (trailing commas, HTML comments, CDATA wrappers) is repaired when cheap,
otherwise ignored — never an error.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from crawler.extract.dom import HtmlElement, clean

_STRONG_TYPES = {"newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle",
                 "opinionnewsarticle", "backgroundnewsarticle", "reviewnewsarticle",
                 "askpublicnewsarticle", "blogposting", "liveblogposting", "report",
                 "scholarlyarticle", "techarticle", "socialmediaposting",
                 "claimreview"}   # a fact-check page: the review is the article
_WEAK_TYPES = {"webpage", "itempage"}
_MAX_JSON = 1_000_000
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")


@dataclass
class PageMetadata:
    """Structured claims of one page; each field None/empty when the page does not say."""

    headline: str | None = None           # JSON-LD headline
    description: str | None = None        # JSON-LD description
    article_body: str | None = None       # JSON-LD articleBody
    published: str | None = None          # JSON-LD datePublished
    modified: str | None = None           # JSON-LD dateModified
    authors: list[str] = field(default_factory=list)
    image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    url: str | None = None                # JSON-LD url / mainEntityOfPage @id
    language: str | None = None           # JSON-LD inLanguage
    props: dict[str, list[str]] = field(default_factory=dict)   # meta name/property → values
    canonical: str | None = None
    site_name: str | None = None
    html_lang: str | None = None

    def meta(self, *keys: str) -> str | None:
        """First non-empty value among meta tags ``keys`` (lower-case names/properties)."""
        for key in keys:
            for value in self.props.get(key, ()):
                if value:
                    return value
        return None

    def meta_all(self, *keys: str) -> list[str]:
        return [v for key in keys for v in self.props.get(key, ()) if v]


def _load_json(raw: str) -> Any:
    raw = _WRAPPERS.sub("", raw.strip())
    if not raw or len(raw) > _MAX_JSON:
        return None
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", raw), strict=False)
    except ValueError:
        return None


def _objects(data: Any) -> Iterator[dict]:
    """Every dict reachable through lists, ``@graph`` and ``mainEntity`` (breadth first)."""
    queue = [data]
    seen = 0
    while queue and seen < 500:
        item = queue.pop(0)
        seen += 1
        if isinstance(item, list):
            queue.extend(item)
        elif isinstance(item, dict):
            yield item
            for key in ("@graph", "mainEntity"):
                if isinstance(item.get(key), (list, dict)):
                    queue.append(item[key])


def _types(obj: dict) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1].lower() for k in kinds if k}


def _unescape(text: str) -> str:
    """WordPress and others HTML-escape JSON-LD strings ("&#8211;", "&quot;")."""
    return html.unescape(text) if "&" in text else text


def _texts(value: Any, keys: tuple[str, ...] = ("name", "@value")) -> Iterator[str]:
    """Strings of a JSON-LD value: a string, an object's name/@value, or lists of them."""
    if isinstance(value, str):
        if value.strip():
            yield clean(_unescape(value))
    elif isinstance(value, dict):
        for key in keys:
            got = value.get(key)
            if isinstance(got, str) and got.strip():
                yield clean(_unescape(got))
                return
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, keys)


def _first(value: Any, keys: tuple[str, ...] = ("name", "@value")) -> str | None:
    return next(_texts(value, keys), None)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "//", "/"))


def json_ld_article(doc: HtmlElement) -> tuple[dict | None, dict[str, dict]]:
    """The page's main article object (or None) and every JSON-LD object by ``@id`` (Yoast
    graphs name the author only as ``{"@id": …}``)."""
    weak: dict | None = None
    found: dict | None = None
    by_id: dict[str, dict] = {}
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        for obj in _objects(_load_json(script.text or "")):
            if isinstance(obj.get("@id"), str) and len(obj) > 1:
                by_id.setdefault(obj["@id"], obj)
            if found is not None:
                continue
            types = _types(obj)
            if types & _STRONG_TYPES or any(t.endswith("newsarticle") for t in types):
                found = obj
            elif types & _WEAK_TYPES and weak is None and (obj.get("headline") or
                                                            obj.get("datePublished")):
                weak = obj
    return (found if found is not None else weak), by_id


def _resolve(value: Any, by_id: dict[str, dict]) -> Any:
    """Replace ``{"@id": …}`` references by the objects they name."""
    if isinstance(value, list):
        return [_resolve(v, by_id) for v in value]
    if isinstance(value, dict) and set(value) == {"@id"}:
        return by_id.get(str(value["@id"]), value)
    return value


def read_metadata(doc: HtmlElement) -> PageMetadata:
    """Collect JSON-LD, meta tags, rel=canonical, og:site_name and ``<html lang>``."""
    meta = PageMetadata()
    for el in doc.iter("meta"):
        content = el.get("content")
        if content is None:
            continue
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key:
            meta.props.setdefault(key, []).append(clean(content))
    for el in doc.iter("link"):
        if (el.get("rel") or "").strip().lower() == "canonical" and el.get("href"):
            meta.canonical = el.get("href", "").strip()
            break
    meta.site_name = meta.meta("og:site_name", "application-name")
    lang = doc.get("lang") or doc.get("xml:lang") or meta.meta("content-language")
    meta.html_lang = lang.strip().lower() if lang else None

    article, by_id = json_ld_article(doc)
    if article is None:
        return meta
    meta.headline = _first(article.get("headline")) or _first(article.get("name"))
    meta.description = _first(article.get("description"))
    body = article.get("articleBody")
    meta.article_body = body.strip() if isinstance(body, str) and body.strip() else None
    meta.published = _first(article.get("datePublished")) or _first(article.get("dateCreated"))
    meta.modified = _first(article.get("dateModified"))
    authors = [a for a in _texts(_resolve(article.get("author"), by_id)) if not _is_url(a)]
    meta.authors = list(dict.fromkeys(authors))
    image = _resolve(article.get("image"), by_id)
    meta.image = _first(image, ("url", "contentUrl", "@id")) or _first(
        article.get("thumbnailUrl"), ("url",))
    meta.section = _first(article.get("articleSection"))
    keywords = article.get("keywords")
    if isinstance(keywords, str):
        meta.tags = [clean(k) for k in keywords.split(",") if clean(k)]
    else:
        meta.tags = list(_texts(keywords))
    url = article.get("url") or article.get("mainEntityOfPage")
    meta.url = _first(url, ("@id", "url"))
    meta.language = _first(article.get("inLanguage"), ("alternateName", "name"))
    return meta
