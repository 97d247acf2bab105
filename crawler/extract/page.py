"""One fetched page of a source → the Article Chavder stores: extraction under the source's
time zone, selectors and languages, then the canonical URL. The item pipeline and ``chavder
extract`` both call this, so the command shows exactly what a crawl would store."""
from __future__ import annotations

from datetime import datetime
from typing import Mapping

from crawler.config import SourceConfig
from crawler.urls import canonicalize_url
from crawler.extract.article import extract_article
from crawler.models import Article, LinkHint


def extract_page(body: bytes | str, url: str, source: SourceConfig | None = None, *,
                 headers: Mapping[str, str] | None = None, hint: LinkHint | None = None,
                 fetched_at: datetime | None = None, from_index: bool = False) -> Article:
    """The article of ``body`` fetched from ``url`` (``ExtractionError`` when it is none).
    ``from_index``: the HTML was built from a feed/API item, so the source's selectors —
    written for its pages — do not apply."""
    article = extract_article(
        body, url, source_id=source.id if source else "",
        timezone=source.timezone if source else "UTC",
        selectors={} if source is None or from_index else source.selectors,
        headers=headers, hint=hint, fetched_at=fetched_at,
        languages=source.languages if source else ())
    article.canonical_url = canonicalize_url(url, declared=article.canonical_url)
    return article
