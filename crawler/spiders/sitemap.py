"""Sitemap indexes, urlsets and Google News sitemaps (gzip or not)."""
from __future__ import annotations

from typing import Any, Iterable

from scrapy.http import Response
from w3lib.url import safe_url_string

from crawler.discovery import UnsafeXMLError, parse_sitemap
from crawler.config import SourceConfig
from crawler.spiders.base import SourceSpider

MAX_SITEMAP_DEPTH = 3


class SitemapSpider(SourceSpider):
    name = "sitemap"
    kind = "sitemap"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._seen_sitemaps: set[str] = set()

    def parse_index(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        self._seen_sitemaps.add(response.request.url)
        try:
            result = parse_sitemap(response.body, response.url, timezone=source.timezone)
        except UnsafeXMLError as exc:
            self.report_problem(response.url, f"unsafe XML refused: {exc}", source_id=source.id)
            return
        except ValueError as exc:  # e.g. a bad time zone in the source entry
            self.report_problem(response.url, f"cannot read index page: {exc}", source_id=source.id)
            return
        if result.problems:   # one line per document, however many things went wrong
            self.report_problem(response.url, "sitemap problem: " + "; ".join(result.problems),
                                source_id=source.id)
        depth = response.meta.get("sitemap_depth", 0)
        for child in result.sitemaps:
            url = safe_url_string(child.url)
            if url in self._seen_sitemaps:
                continue  # sitemap index loops end here
            if depth + 1 > MAX_SITEMAP_DEPTH:
                self.report_problem(url, f"sitemap nesting deeper than {MAX_SITEMAP_DEPTH} "
                                         "levels — not followed", source_id=source.id)
                continue
            self._seen_sitemaps.add(url)
            yield self.index_request(url, source=source.id, sitemap_depth=depth + 1)
        yield from self.follow_articles(result.urls, source)
