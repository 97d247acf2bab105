"""Structured metadata of a news page: JSON-LD (NewsArticle & co.) and OpenGraph/meta tags."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from lxml import html as lxml_html

ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting",
                 "analysisnewsarticle", "opinionnewsarticle", "backgroundnewsarticle",
                 "reviewnewsarticle", "report", "liveblogposting", "webpage"}


@dataclass
class PageMetadata:
    """Everything the page says about itself, each field None when absent."""

    headline: str | None = None
    og_title: str | None = None
    description: str | None = None
    article_body: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    canonical: str | None = None
    og_url: str | None = None
    site_name: str | None = None
    html_lang: str | None = None


def _texts(value: Any) -> Iterator[str]:
    """Names from a JSON-LD value: a string, {"name": …}, or lists of them."""
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, dict):
        for key in ("name", "@value", "url"):
            if isinstance(value.get(key), str) and value[key].strip():
                yield value[key].strip()
                return
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _json_ld_objects(doc: lxml_html.HtmlElement) -> Iterator[dict]:
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw or len(raw) > 2_000_000:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
                yield item


def _type_names(obj: dict) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds if k}


def read_metadata(doc: lxml_html.HtmlElement) -> PageMetadata:
    meta = PageMetadata()
    article = None
    for obj in _json_ld_objects(doc):
        names = _type_names(obj)
        if names & ARTICLE_TYPES and (article is None or "webpage" in _type_names(article)):
            article = obj
    if article is not None:
        meta.headline = next(_texts(article.get("headline") or article.get("name")), None)
        meta.description = next(_texts(article.get("description")), None)
        body = article.get("articleBody")
        meta.article_body = body if isinstance(body, str) and body.strip() else None
        meta.published = next(_texts(article.get("datePublished")), None)
        meta.modified = next(_texts(article.get("dateModified")), None)
        meta.authors = list(dict.fromkeys(_texts(article.get("author"))))
        meta.image = next(_texts(article.get("image")), None)
        meta.section = next(_texts(article.get("articleSection")), None)
        keywords = article.get("keywords")
        if isinstance(keywords, str):
            meta.tags = [k.strip() for k in keywords.split(",") if k.strip()]
        else:
            meta.tags = list(_texts(keywords))
        meta.og_url = next(_texts(article.get("url")), None)
    props: dict[str, list[str]] = {}
    for el in doc.xpath("//meta[@content]"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key:
            props.setdefault(key, []).append(el.get("content", "").strip())

    def first(*keys: str) -> str | None:
        for key in keys:
            for value in props.get(key, []):
                if value:
                    return value
        return None

    meta.og_title = first("og:title", "twitter:title")
    meta.description = meta.description or first("og:description", "description",
                                                  "twitter:description")
    meta.published = meta.published or first(
        "article:published_time", "og:published_time", "datepublished", "pubdate",
        "publishdate", "dc.date", "dc.date.issued", "date", "sailthru.date")
    meta.modified = meta.modified or first("article:modified_time", "og:updated_time",
                                           "datemodified", "dc.date.modified")
    if not meta.authors:
        authors = [a for a in props.get("author", []) + props.get("article:author", [])
                   if a and not a.startswith("http")]
        meta.authors = list(dict.fromkeys(authors))
    meta.image = meta.image or first("og:image", "og:image:url", "twitter:image")
    meta.section = meta.section or first("article:section")
    if not meta.tags:
        tags = props.get("article:tag", []) or [
            k.strip() for v in props.get("keywords", []) for k in v.split(",")]
        meta.tags = list(dict.fromkeys(t for t in tags if t))
    meta.site_name = first("og:site_name")
    canonical = doc.xpath('//link[translate(@rel, "CANONICAL", "canonical")="canonical"]/@href')
    meta.canonical = canonical[0].strip() if canonical else None
    meta.og_url = first("og:url") or meta.og_url
    lang = doc.xpath("/html/@lang")
    meta.html_lang = lang[0].strip().lower() if lang else None
    return meta
