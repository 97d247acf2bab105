"""JSON listing APIs (kind ``api``): pages of a URL template, items read as the source's
``api:`` block says (see :mod:`crawler.discovery.api`)."""
from __future__ import annotations

from typing import Any, AsyncIterator, Iterable

from scrapy.http import Response

from crawler.config import SourceConfig
from crawler.discovery.api import page_url, parse_api
from crawler.spiders.base import SourceSpider


class ApiSpider(SourceSpider):
    name = "api"
    kind = "api"

    async def start(self) -> AsyncIterator[Any]:
        for source in self.sources_by_id.values():
            first = int(source.api.get("first_page", 1))
            for template in source.start_urls:
                yield self.index_request(page_url(template, first), source=source.id,
                                         page=first, pages_read=1, template=template)

    def parse_index(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        try:
            result = parse_api(response.body, response.url, source.api,
                               timezone=source.timezone)
        except ValueError as exc:  # a bad time zone in the source entry
            self.report_problem(response.url, f"cannot read API page: {exc}",
                                source_id=source.id)
            return
        if result.problems:   # one line per page, however many items were odd
            self.report_problem(response.url, "API problem: " + "; ".join(result.problems),
                                source_id=source.id)
        yield from self.follow_articles(result.entries, source)
        meta = response.meta
        template, page, read = meta.get("template", ""), meta.get("page", 1), meta.get("pages_read", 1)
        if "{page}" not in template or not result.entries or read >= source.max_pages:
            return   # bounded: older pages were read by earlier crawls
        if result.max_page is not None and page >= result.max_page:
            return
        yield self.index_request(page_url(template, page + 1), source=source.id, page=page + 1,
                                 pages_read=read + 1, template=template)
