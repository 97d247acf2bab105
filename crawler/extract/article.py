"""HTML → Article. Sources of truth, in order: per-source selectors, JSON-LD, OpenGraph/meta,
then body extraction; the index page's hint (feed/sitemap data) fills what the page lacks."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Mapping, Sequence
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lxml_html

from crawler.extract.body import (MIN_ARTICLE_CHARS, MIN_BODY_CHARS, fast_body,
                                  trafilatura_body, _css)
from crawler.extract.charset import decode_html
from crawler.extract.errors import ExtractionError
from crawler.extract.metadata import read_metadata
from crawler.models import Article, LinkHint
from crawler.text import detect, normalize, parse_date, search_date

MAX_HTML_CHARS = 8_000_000
_NON_HTML_MAGIC = ((b"%PDF", "PDF"), (b"\x89PNG", "PNG image"), (b"GIF8", "GIF image"),
                   (b"\xff\xd8\xff", "JPEG image"), (b"PK\x03\x04", "ZIP archive"),
                   (b"RIFF", "media file"), (b"\x1f\x8b", "gzip data"))
_HTML_TYPES = ("text/html", "application/xhtml", "text/plain", "application/xml", "text/xml")
_DATE_HINT = re.compile(r"date|time|publish|posted|meta|byline|entry-meta|dateline", re.I)
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " « ", " » ")


def content_hash(title: str, body: str) -> str:
    """Hash of the normalised title and body: unchanged pages hash equal across crawls."""
    data = normalize(title) + "\n" + normalize(body)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _check_payload(body: bytes, headers: Mapping[str, str]) -> None:
    if not body or not body.strip():
        raise ExtractionError("empty-body", "the response body is empty")
    for magic, what in _NON_HTML_MAGIC:
        if body.startswith(magic):
            raise ExtractionError("not-html", f"the response is a {what}, not an HTML page")
    ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype and not ctype.startswith(_HTML_TYPES):
        raise ExtractionError("not-html", f"the response is {ctype}, not an HTML page")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _strip_site_name(title: str, site_name: str | None) -> str:
    for sep in _TITLE_SEPARATORS:
        if sep in title:
            head, _, tail = title.rpartition(sep)
            if head and (not site_name or site_name.strip() in tail or len(tail) < 40):
                return head.strip()
    return title


def _date_from(value: str | None, lang: str | None, tz: str,
               now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        return parse_date(value, lang=lang, tz=tz, now=now)
    except (ValueError, OverflowError):
        return None


def _visible_date(doc: lxml_html.HtmlElement, lang: str | None, tz: str, now: datetime,
                  selector: str | None) -> datetime | None:
    """A date shown on the page: the source's date selector, <time>, or date-ish elements."""
    candidates: list[str] = []
    if selector:
        for el in _css(doc, selector):
            candidates.extend([el.get("datetime") or "", el.get("content") or "",
                               el.text_content()])
    for el in doc.iter("time"):
        candidates.extend([el.get("datetime") or "", el.text_content()])
    for el in doc.xpath("//*[@class or @id]"):
        marker = (el.get("class") or "") + " " + (el.get("id") or "")
        if _DATE_HINT.search(marker) and len(el.text_content()) < 300:
            candidates.append(el.text_content())
        if len(candidates) > 60:
            break
    for text in candidates:
        text = _clean(text)
        if not text:
            continue
        parsed = _date_from(text, lang, tz, now)
        if parsed is None:
            found = search_date(text, lang=lang, tz=tz, now=now)
            parsed = found[2] if found else None
        if parsed is not None:
            return parsed
    return None


def _first_text(doc: lxml_html.HtmlElement, selector: str | None) -> str | None:
    if not selector:
        return None
    for el in _css(doc, selector):
        text = _clean(el.get("content") or el.text_content())
        if text:
            return text
    return None


def extract_article(body: bytes | str, url: str, *, source_id: str = "",
                    timezone: str = "UTC", selectors: Mapping[str, str] | None = None,
                    headers: Mapping[str, str] | None = None, hint: LinkHint | None = None,
                    fetched_at: datetime | None = None,
                    languages: Sequence[str] = ()) -> Article:
    """Extract one article; raise ExtractionError when the page holds none."""
    selectors = selectors or {}
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    now = fetched_at or datetime.now(tz=_utc())
    if isinstance(body, bytes):
        _check_payload(body, headers)
        text, _encoding = decode_html(body, headers.get("content-type"))
    else:
        if not body.strip():
            raise ExtractionError("empty-body", "the response body is empty")
        text = body
    text = text.replace("\x00", "")[:MAX_HTML_CHARS]
    try:
        parser = lxml_html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=False,
                                      recover=True)
        doc = lxml_html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError("not-html", f"the page cannot be parsed as HTML: {exc}") from None
    meta = read_metadata(doc)
    hint_lang = hint.language if hint else None

    # --- title
    h1 = _first_text(doc, "h1")
    title_tag = _clean(doc.findtext(".//title"))
    title = (_first_text(doc, selectors.get("title")) or _clean(meta.headline)
             or _strip_site_name(_clean(meta.og_title), meta.site_name) or h1
             or (hint.title if hint and hint.title else None)
             or _strip_site_name(title_tag, meta.site_name))
    if not title:
        raise ExtractionError("no-title", "the page has no headline (no h1, og:title, JSON-LD "
                                          "headline or <title>)")

    # --- body: selectors → JSON-LD articleBody → fast lxml path → trafilatura
    body_text = ""
    if selectors.get("body"):
        body_text = fast_body(doc, selector=selectors["body"], remove=selectors.get("remove"),
                              title=title)
    if not body_text and meta.article_body and len(meta.article_body) >= MIN_BODY_CHARS:
        body_text = "\n\n".join(p.strip() for p in re.split(r"\n\s*\n|\r?\n", meta.article_body)
                                if p.strip())
    if not body_text:
        body_text = fast_body(doc, remove=selectors.get("remove"), title=title)
    if len(body_text) < MIN_BODY_CHARS:
        fallback = trafilatura_body(text, url, title)
        if len(fallback) > len(body_text):
            body_text = fallback
    if len(body_text) < MIN_ARTICLE_CHARS:
        raise ExtractionError("no-article-text", "no article text found (a JavaScript-only "
                                                 "page, or not an article)")

    # --- language: detection over the text; the page's lang attribute is not trusted alone
    language, _confidence = detect(title + "\n" + body_text[:3000])
    lang = language if language not in ("und", "") else (hint_lang or meta.html_lang)

    # --- dates
    published = (_date_from(_first_text(doc, selectors.get("date")), lang, timezone, now)
                 if selectors.get("date") else None)
    published = published or _date_from(meta.published, lang, timezone, now)
    published = published or _date_from(hint.published_at if hint else None, lang, timezone, now)
    published = published or _visible_date(doc, lang, timezone, now, selectors.get("date"))
    updated = _date_from(meta.modified, lang, timezone, now) or _date_from(
        hint.updated_at if hint else None, lang, timezone, now)

    # --- the rest
    authors = ([a for a in [_first_text(doc, selectors.get("author"))] if a]
               or meta.authors or (list(hint.authors) if hint else []))
    image = meta.image or (hint.image_url if hint else None)
    declared = meta.canonical or meta.og_url
    summary = _clean(meta.description) or (hint.summary if hint and hint.summary else "") \
        or body_text.split("\n\n")[0][:300]
    fetched_iso = now.astimezone(_utc()).replace(microsecond=0).isoformat()
    return Article(
        source=source_id, url=url,
        canonical_url=urljoin(url, declared) if declared else url,
        title=title, body=body_text, summary=summary,
        authors=[_clean(a) for a in authors if _clean(a)][:10],
        published_at=_iso(published), updated_at=_iso(updated), language=lang,
        image_url=urljoin(url, image) if image else None, section=meta.section,
        tags=(meta.tags or (list(hint.tags) if hint else []))[:30],
        fetched_at=fetched_iso, content_hash=content_hash(title, body_text))


def _utc() -> timezone:
    return timezone.utc
