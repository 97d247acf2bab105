"""Scrapy items. Spiders yield ``RawPage`` (a fetched article response, unparsed); the extract
pipeline turns it into ``crawler.models.Article``, which the later pipelines pass on."""
from __future__ import annotations

from dataclasses import dataclass, field

from crawler.models import Article, LinkHint

__all__ = ["RawPage", "Article", "LinkHint"]


@dataclass
class RawPage:
    source: str
    url: str                 # the final URL after redirects
    requested_url: str
    url_key: str
    body: bytes = field(repr=False)
    headers: dict[str, str]
    status: int
    fetched_at: str
    hint: LinkHint | None = None
    extracted_from: str = "page"   # "feed": body is the index item's whole article, not the page
