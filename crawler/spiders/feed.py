"""RSS 0.9x/1.0/2.0 and Atom feeds."""
from __future__ import annotations

from typing import Any, Iterable

from scrapy.http import Response

from crawler.discovery import UnsafeXMLError, parse_feed
from crawler.config import SourceConfig
from crawler.spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    name = "feed"
    kind = "feed"

    def parse_index(self, response: Response, source: SourceConfig) -> Iterable[Any]:
        try:
            result = parse_feed(response.body, response.url, timezone=source.timezone)
        except UnsafeXMLError as exc:
            self.report_problem(response.url, f"unsafe XML refused: {exc}", source_id=source.id)
            return
        except ValueError as exc:  # e.g. a bad time zone in the source entry
            self.report_problem(response.url, f"cannot read index page: {exc}", source_id=source.id)
            return
        if result.problems:   # one line per document, however many things went wrong
            self.report_problem(response.url, "feed problem: " + "; ".join(result.problems),
                                source_id=source.id)
        yield from self.follow_articles(result.entries, source)
