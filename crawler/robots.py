"""robots.txt: fetched under the source's own rules, read in bounded size and time, parsed once
per host for the whole process.

* **Whose request.** Scrapy's middleware fetches robots.txt with a request of its own that
  carries no source, so no address or offsite policy could judge it. Here it carries the
  source of the request that needed it.
* **Size.** Only the first :data:`MAX_ROBOTS_BYTES` (500 KiB, Google's limit) are read: the
  download stops there and rules after it are ignored, as Google ignores them. A 10 MB file
  of 300,000 rules otherwise costs hundreds of MB and seconds of CPU.
* **Time.** Parsing runs in a worker thread, so the reactor (and ``/healthz``) keep answering.
* **Cache.** The service starts a new Scrapy crawler every poll; Scrapy keeps parsed robots.txt
  per crawler, so every idle cycle would cost a robots.txt request on top of the feed's
  conditional GET. A process-wide cache with a TTL (24 h, like Google) keeps an unchanged
  source at one request per cycle; it is bounded by host count and by the bytes of robots.txt
  behind its entries (least recently used first out). The cache is ``crawler/robots_cache.py``
  (framework-free: the application owns it); this module is the Scrapy middleware over it.
"""
from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from crawler.appref import app_of
from crawler.robots_cache import RobotsCache
from crawler.urls import display_url

logger = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 500 * 1024
ROBOTS_META = "chavder_robots"

__all__ = ["MAX_ROBOTS_BYTES", "ROBOTS_META", "RobotsCache", "SharedRobotsTxtMiddleware",
           "truncate_robots"]


def truncate_robots(body: bytes, limit: int = MAX_ROBOTS_BYTES) -> tuple[bytes, bool]:
    """The first ``limit`` bytes, cut at the last line break (no half rule); and whether
    anything was cut."""
    if len(body) <= limit:
        return body, False
    head = body[:limit]
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return (head[:cut + 1] if cut >= 0 else head), True


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.cache: RobotsCache = app_of(crawler).robots   # one per process, not per crawler
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    def _bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        """Stop a robots.txt download at the size limit, keeping what arrived."""
        if not request.meta.get(ROBOTS_META):
            return
        request.meta["chavder_robots_bytes"] = request.meta.get("chavder_robots_bytes", 0) \
            + len(data)
        if request.meta["chavder_robots_bytes"] > MAX_ROBOTS_BYTES:
            raise StopDownload(fail=False)

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        cached = self.cache.get(netloc)
        if cached is not None:
            return cached
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            parser = await self._fetch(request, netloc)
            waiting = self._parsers[netloc]
            self._parsers[netloc] = parser
            if isinstance(waiting, Deferred):
                waiting.callback(parser)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            # the Deferred's result goes to its first awaiter only (the others got None and
            # crawled as if there were no robots.txt): read the parser back for every waiter
            await maybe_deferred_to_future(parser)
            return self._parsers.get(netloc)
        return parser

    async def _fetch(self, request: Request, netloc: str) -> Any:
        url = urlparse_cached(request)
        robots = Request(f"{url.scheme}://{netloc}/robots.txt", priority=self.DOWNLOAD_PRIORITY,
                         callback=NO_CALLBACK,
                         meta={"dont_obey_robotstxt": True, ROBOTS_META: True,
                               "source": request.meta.get("source")})
        self._stats.inc_value("robotstxt/request_count")
        try:
            response = await self.crawler.engine.download_async(robots)
        except IgnoreRequest:
            return None       # refused by the address/offsite policy: so is the request
        except Exception as exc:  # noqa: BLE001 - robots.txt unreachable: crawl as allowed
            logger.info("robots.txt of %s not read (%s): crawling as allowed", netloc,
                        " ".join(str(exc).split())[:200] or type(exc).__name__)
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            return None
        return await self._parse(response, netloc, request)

    async def _parse(self, response: Response, netloc: str, request: Request) -> Any:
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        body, cut = truncate_robots(response.body)
        if cut:
            self._report(request, response.url, "robots.txt larger than "
                         f"{MAX_ROBOTS_BYTES // 1024} KiB: only the first "
                         f"{MAX_ROBOTS_BYTES // 1024} KiB are read (as Google does)")
        parser = await maybe_deferred_to_future(
            deferToThread(build_from_crawler, self._parserimpl, self.crawler, body))
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request)
        self.cache.put(netloc, parser, len(body))
        return parser

    def _report(self, request: Request, url: str, reason: str) -> None:
        report = getattr(self.crawler.spider, "report_problem", None)
        if report is not None:
            report(url, reason, source_id=request.meta.get("source"))
        else:
            logger.warning("url=%s reason=%s", display_url(url), reason)
