"""Section/listing pages: article links by selector or heuristic, bounded pagination."""
from __future__ import annotations

from typing import Any, Iterable

from scrapy.http import Response
from w3lib.url import safe_url_string

from crawler.challenges import NEEDS_BROWSER, needs_browser
from crawler.discovery import extract_listing_links
from crawler.config import SourceConfig
from crawler.spiders.base import SourceSpider


class ListingSpider(SourceSpider):
    name = "listing"
    kind = "listing"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._seen_pages: set[str] = set()

    def parse_index(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        self._seen_pages.add(response.request.url)
        selectors = source.selectors
        try:
            result = extract_listing_links(
                response.body, response.url, article_links=selectors.get("article_links"),
                next_page=selectors.get("next_page"), allowed_domains=source.allowed_domains,
                timezone=source.timezone)
        except ValueError as exc:  # an invalid selector in sources.yaml
            self.report_problem(response.url, f"cannot read listing page: {exc}", source_id=source.id)
            return
        # no links on a page of scripts: the links are written by JavaScript
        js = "" if result.articles or source.render == "browser" or not needs_browser(
            response.body) else (f" — they are written by JavaScript: the source {NEEDS_BROWSER}"
                                 " (or use the outlet's feed, sitemap or API)")
        for problem in result.problems:
            self.report_problem(response.url, f"listing problem: {problem}{js}",
                                source_id=source.id)
        if not result.articles and response.meta.get("page", 1) == 1 and not result.problems:
            self.report_problem(response.url, "listing page has no article links" + (
                js or " — check the source's 'article_links' selector"), source_id=source.id)
        yield from self.follow_articles(result.articles, source)
        page = response.meta.get("page", 1)
        for url in result.next_pages[:1]:
            url = safe_url_string(url)
            if url in self._seen_pages:
                continue
            if page >= source.max_pages:
                break  # bounded pagination: older pages were seen by earlier crawls
            self._seen_pages.add(url)
            yield self.index_request(url, source=source.id, page=page + 1)
