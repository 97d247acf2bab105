"""robots.txt parsed once per host for the whole process, not once per crawl.

The service starts a new Scrapy crawler every poll; Scrapy's own middleware keeps parsed
robots.txt per crawler, so every idle cycle would cost a robots.txt request on top of the
feed's conditional GET. A shared cache with a TTL (24 h by default, like Google) keeps an
unchanged source at one request per cycle.
"""
from __future__ import annotations

import time
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached


class RobotsCache:
    """Parsed robots.txt per netloc with a time-to-live; shared by every crawler of a process."""

    def __init__(self, ttl_seconds: float = 86400.0):
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[Any, float]] = {}

    def get(self, netloc: str) -> Any:
        entry = self._entries.get(netloc)
        if entry is None or time.monotonic() - entry[1] > self.ttl:
            return None
        return entry[0]

    def put(self, netloc: str, parser: Any) -> None:
        self._entries[netloc] = (parser, time.monotonic())

    def __deepcopy__(self, memo: dict) -> "RobotsCache":
        return self  # shared across Scrapy's per-crawler settings copies


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.cache: RobotsCache = crawler.settings.get("CHAVDER_ROBOTS_CACHE") or RobotsCache()

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        cached = self.cache.get(netloc)
        if cached is not None:
            return cached
        parser = await super().robot_parser(request)
        if parser is not None:
            self.cache.put(netloc, parser)
        return parser
