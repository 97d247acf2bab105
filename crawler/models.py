"""Plain data records shared by every layer (no Scrapy imports)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Field names of the extraction contract (``chavder extract --json`` prints exactly these).
ARTICLE_FIELDS = (
    "source", "url", "canonical_url", "title", "body", "summary", "authors",
    "published_at", "updated_at", "language", "image_url", "section", "tags",
    "fetched_at", "content_hash", "extracted_from",
)
#: Where an article's text came from: its own page, or (when the page could not be fetched or
#: was an anti-bot challenge) the whole article a feed item or API item carried.
EXTRACTED_FROM = ("page", "feed")


@dataclass
class Article:
    """One extracted news article.

    Times are ISO 8601 strings *with the original offset* (e.g. ``2017-06-01T14:05:00+03:00``);
    the store converts them to UTC for ordering and keeps the original string.
    ``body`` holds paragraphs separated by one blank line.
    """

    source: str
    url: str
    canonical_url: str
    title: str
    body: str
    summary: str = ""
    authors: list[str] = field(default_factory=list)
    published_at: str | None = None
    updated_at: str | None = None
    language: str | None = None
    image_url: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    fetched_at: str = ""
    content_hash: str = ""
    extracted_from: str = "page"            # page | feed (see EXTRACTED_FROM)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {name: data[name] for name in ARTICLE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Article":
        return cls(**{name: data.get(name) for name in ARTICLE_FIELDS if name in data})


@dataclass
class LinkHint:
    """What an index page (feed entry, sitemap url, listing link) told us about an article
    before we fetched it. Used to skip unchanged articles and as extraction fallbacks."""

    url: str
    title: str | None = None
    published_at: str | None = None   # ISO 8601 with offset, if the index gave one
    updated_at: str | None = None     # lastmod / atom:updated, if given
    language: str | None = None
    summary: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    #: The whole article as HTML when the index carried it (RSS content:encoded, Atom content,
    #: a long description, an API body): stored instead when the page cannot be had.
    content_html: str | None = field(default=None, repr=False, compare=False)
