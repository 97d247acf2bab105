"""HTML response → :class:`~crawler.models.Article` (the extraction contract).

Sources of truth, in order: per-source CSS selectors, JSON-LD, OpenGraph/meta, then the page
body itself; the feed/sitemap ``hint`` fills what the page lacks. Pages that hold no article
raise :class:`ExtractionError` with a stable ``reason`` (``empty-body``, ``not-html``,
``no-article-text``, ``no-title``).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Mapping, Sequence
from urllib.parse import urljoin

from crawler.extract import fields
from crawler.text.dates import parse_iso
from crawler.extract.body import (FAST_MIN_CHARS, MAX_ELEMENTS, MIN_ARTICLE_CHARS, fast_body,
                                  paragraphs_from_text, prune, trafilatura_body)
from crawler.text.charset import decode_html
from crawler.extract.dom import MAX_HTML_BYTES, HtmlElement, clean, parse_html
from crawler.extract.errors import ExtractionError
from crawler.extract.lead import find_lead, prepend_lead
from crawler.extract.metadata import PageMetadata, read_metadata
from crawler.models import Article, LinkHint
from crawler.text import normalize

_MAGIC = ((b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"),
          (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a ZIP archive"),
          (b"\x1f\x8b", "gzip data"), (b"OggS", "an Ogg file"), (b"ID3", "an MP3 file"),
          (b"\x00\x00\x01\x00", "an icon"), (b"BM", None), (b"RIFF", "a media file"),
          (b"7z\xbc\xaf", "a 7z archive"), (b"Rar!", "a RAR archive"),
          (b"\xd0\xcf\x11\xe0", "an Office document"), (b"wOFF", "a web font"))
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml",
               "text/xml", "application/octet-stream", "binary/octet-stream",
               "application/unknown", "unknown/unknown", "application/x-unknown-content-type")
_SUMMARY_CHARS = 300
#: A page's and a feed's date for one article that differ by more than this disagree.
_DATES_AGREE = timedelta(days=1)
logger = logging.getLogger(__name__)
#: Bytes read of a response; a news page is far smaller (the rest would only cost time).
MAX_BODY_BYTES = MAX_HTML_BYTES
#: Text given to language ID: enough for a stable answer; fastText's cost grows with length.
_LANGID_CHARS = 1500


def content_hash(title: str, body: str) -> str:
    """sha256 of the normalised title and body — equal for re-crawls of an unchanged page
    whatever its markup, ads or share counts did in the meantime."""
    data = " ".join(normalize(title).split()) + "\n" + " ".join(normalize(body).split())
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _check_payload(body: bytes, content_type: str) -> None:
    if not body.strip():
        raise ExtractionError("empty-body", "the response body is empty")
    head = body[:16].lstrip()
    for magic, what in _MAGIC:
        if head.startswith(magic) and what:
            raise ExtractionError("not-html", f"the response is {what}, not an HTML page")
    if head[4:12] in (b"ftypisom", b"ftypmp42") or body[4:8] == b"ftyp":
        raise ExtractionError("not-html", "the response is a video, not an HTML page")
    mime = content_type.split(";", 1)[0].strip().lower()
    is_xml = mime.endswith(("/xml", "+xml")) and mime != "application/xhtml+xml"
    if mime and not is_xml and mime not in _HTML_TYPES:
        raise ExtractionError("not-html", f"the response is {mime}, not an HTML page")
    sample = body[:2048]
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")) \
            and not _html_with_stray_nuls(sample):
        raise ExtractionError("not-html", "the response is binary data, not an HTML page")
    if is_xml and b"<html" not in body[:4096].lower():
        raise ExtractionError("not-html", f"the response is an XML document ({mime}), "
                                          "not an HTML page")


_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")


def _html_with_stray_nuls(sample: bytes) -> bool:
    """An HTML page with a few NUL bytes (a broken CMS template) is still an article; binary
    data is NUL-dense and has no HTML markers."""
    lowered = sample.lower()
    return sample.count(b"\x00") <= len(sample) // 20 and any(m in lowered for m in _HTML_MARKERS)


#: trafilatura copies and re-walks the tree many times (~45 µs and ~2 KB per element): past
#: this many elements (a news page has 1–10 thousand) the fallback would cost seconds and
#: hundreds of MB for a page the fast path already found no article in.
MAX_FALLBACK_ELEMENTS = MAX_ELEMENTS


def _fallback_affordable(doc: HtmlElement, markup: str | bytes) -> bool:
    """Few enough elements for trafilatura. Every element needs a ``<``, so an ordinary page is
    cleared by one C-speed count; only pages with many tags are walked."""
    tags = markup.count(b"<" if isinstance(markup, bytes) else "<")
    if tags < MAX_FALLBACK_ELEMENTS:
        return True
    for n, _ in enumerate(doc.iter()):
        if n >= MAX_FALLBACK_ELEMENTS:
            return False
    return True


def _is_filler(text: str) -> bool:
    """Many words but almost no distinct ones: generated padding, not an article."""
    words = text.split()
    return len(words) >= 30 and len(set(words)) <= max(3, len(words) * 0.02)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(meta: PageMetadata, hint: LinkHint | None, paragraphs: Sequence[str]) -> str:
    text = clean(meta.description or meta.meta("og:description", "description",
                                               "twitter:description")
                 or (hint.summary if hint and hint.summary else ""))
    if not text and paragraphs:
        text = next((p for p in paragraphs if len(p) >= 80), paragraphs[0])
    if len(text) > _SUMMARY_CHARS:
        cut = text[:_SUMMARY_CHARS].rsplit(" ", 1)[0]
        text = cut + "…"
    return text


def _tags(meta: PageMetadata, hint: LinkHint | None) -> list[str]:
    raw = meta.tags or meta.meta_all("article:tag")
    if not raw:
        raw = [t for v in meta.meta_all("news_keywords", "keywords")
               for t in v.replace("،", ",").split(",")]
    if not raw and hint:
        raw = list(hint.tags)
    tags = [clean(t) for t in raw if clean(t) and len(clean(t)) <= 80]
    return list(dict.fromkeys(tags))[:30]


def _image(url: str, meta: PageMetadata, hint: LinkHint | None) -> str | None:
    image = meta.image or meta.meta("og:image", "og:image:url", "og:image:secure_url",
                                    "twitter:image", "twitter:image:src")
    if not image and hint:
        image = hint.image_url
    return urljoin(url, image) if image else None


def _fetched(fetched_at: datetime | None) -> str:
    value = fetched_at or datetime.now(dt_timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value.astimezone(dt_timezone.utc).isoformat(timespec="seconds")


def _hint_date(value: str | None) -> datetime | None:
    return parse_iso(value, naive=None)


def extract_article(body: bytes | str, url: str, *, source_id: str = "", timezone: str = "UTC",
                    selectors: Mapping[str, str] | None = None,
                    headers: Mapping[str, str] | None = None, hint: LinkHint | None = None,
                    fetched_at: datetime | None = None,
                    languages: Sequence[str] = ()) -> Article:
    """Extract one news article from an HTML response.

    ``headers``: response headers, names in any case (``content-type`` decides the charset and
    rejects non-HTML). ``timezone``: the source's IANA zone for dates without an offset.
    ``languages``: the source's languages, used to correct language-ID confusions.
    Raises :class:`ExtractionError` when the response holds no storable article.
    """
    selectors = dict(selectors or {})
    head = fields.headers_lower(headers)
    now = fetched_at if fetched_at and fetched_at.tzinfo else datetime.now(dt_timezone.utc)
    if isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
        _check_payload(raw, head.get("content-type", ""))
        raw = raw[:MAX_BODY_BYTES]
        if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raw = raw.replace(b"\x00", b"")
        text, codec = decode_html(raw, head.get("content-type"))
        # valid UTF-8 without BOM: lxml can read the bytes themselves (no re-encoding)
        data: str | bytes = raw if codec == "utf-8" and "\ufffd" not in text and \
            not raw.startswith(b"\xef\xbb\xbf") else text
    else:
        if not body.strip():
            raise ExtractionError("empty-body", "the response body is empty")
        text = data = body
    doc = parse_html(data)
    if doc is None:
        raise ExtractionError("no-article-text", "the response has no HTML content")
    fallback_affordable = _fallback_affordable(doc, data)   # before furniture is pruned

    # --- everything read from the intact page (before furniture is pruned) ---------------
    meta = read_metadata(doc)
    page = fields.PageIndex(doc)
    title = fields.pick_title(page, meta, selectors.get("title"), hint.title if hint else None)
    authors = fields.pick_authors(page, meta, selectors.get("author"),
                                  hint.authors if hint else ())
    published_texts, modified_texts = fields.structured_date_texts(page, meta,
                                                                   selectors.get("date"))
    published = fields.first_date(published_texts, None, timezone, now)
    visible_texts = fields.visible_date_texts(page, title) if published is None else []
    updated = fields.first_date(modified_texts, None, timezone, now)
    lead = None if selectors.get("body") else find_lead(
        fields.headline_elements(page, title, limit=1),
        (meta.description, meta.meta("og:description"), meta.meta("description")))
    del page  # the index holds element proxies of the unpruned tree

    # --- body: selectors → JSON-LD articleBody → containers → density → trafilatura ------
    candidates = prune(doc, selectors.get("remove"))
    paragraphs, origin = fast_body(doc, candidates, selector=selectors.get("body"),
                                   title=title, authors=authors, tz=timezone)
    if (meta.article_body and len(meta.article_body) >= FAST_MIN_CHARS
            and not selectors.get("body")
            and sum(map(len, paragraphs)) < len(meta.article_body) / 2):
        from_ld = paragraphs_from_text(meta.article_body)
        if normalize(from_ld[0][:60]) not in normalize(" ".join(paragraphs)):
            paragraphs = from_ld  # the markup lost the text; JSON-LD carries it
    size = sum(map(len, paragraphs))
    if (size < MIN_ARTICLE_CHARS or (size < FAST_MIN_CHARS and origin in ("density", ""))) \
            and fallback_affordable:
        fallback = trafilatura_body(text, url, title=title, authors=authors, tz=timezone)
        if sum(map(len, fallback)) > sum(map(len, paragraphs)):
            paragraphs = fallback
    paragraphs = prepend_lead(lead, paragraphs)   # a standfirst in the pruned header
    body_text = "\n\n".join(paragraphs)
    if len(body_text) < MIN_ARTICLE_CHARS:
        raise ExtractionError(
            "no-article-text",
            f"only {len(body_text)} characters of article text (a JavaScript-only page, an "
            "index page, or not an article)")
    if _is_filler(body_text):
        raise ExtractionError("no-article-text", "the page text is one phrase repeated "
                                                 "(filler or a broken page), not an article")
    if not title:
        raise ExtractionError("no-title", "the page has no headline (no selector match, "
                                          "JSON-LD headline, og:title, h1 or <title>)")

    # --- language, then the dates that need it ------------------------------------------
    language = fields.pick_language(
        title + "\n" + body_text[:_LANGID_CHARS], languages, (meta.language, meta.html_lang),
        hint.language if hint else None)
    hint_published = _hint_date(hint.published_at) if hint else None
    if published is None:
        # the feed's or news sitemap's date for this URL → a date the page shows near its
        # headline → a date in the URL
        visible = None if hint_published else fields.first_date(visible_texts, language,
                                                                 timezone, now)
        published = fields.reconcile(visible, hint_published) or fields.url_date(url, timezone, now)
    elif hint_published is not None and abs(published - hint_published) > _DATES_AGREE:
        logger.debug("%s %s: the page's structured date %s and the feed's %s disagree by more "
                     "than a day; keeping the page's", source_id or "-", url,
                     published.isoformat(), hint_published.isoformat())
    updated = updated or (_hint_date(hint.updated_at) if hint else None)

    return Article(
        source=source_id, url=url, canonical_url=fields.pick_canonical(url, meta),
        title=title, body=body_text, summary=_summary(meta, hint, paragraphs),
        authors=authors, published_at=_iso(published), updated_at=_iso(updated),
        language=language, image_url=_image(url, meta, hint),
        section=clean(meta.section or meta.meta("article:section")) or None,
        tags=_tags(meta, hint), fetched_at=_fetched(fetched_at),
        content_hash=content_hash(title, body_text))


__all__ = ["extract_article", "content_hash", "HtmlElement"]
