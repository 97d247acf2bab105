"""Downloader middlewares: address policy, conditional GET, retry with backoff."""
from __future__ import annotations

import logging
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.addresses import is_private_host
from crawler.runtime import runtime_for

logger = logging.getLogger(__name__)


class RefusedAddress(IgnoreRequest):
    """A request to a private/loopback/link-local address the source does not allow."""



class AddressPolicyMiddleware:
    """Refuse requests (including redirect targets) to non-public addresses.

    A source with ``allow_private: true`` may reach private addresses only on the hosts in its
    ``allowed_domains`` (e.g. the loopback fixture web); everything else is refused before any
    connection is made. Host names are not resolved here (no blocking DNS in the reactor); IP
    literals and ``localhost`` are checked.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "AddressPolicyMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if not is_private_host(host):
            return None
        spider = self.crawler.spider
        sources = getattr(spider, "sources_by_id", {})
        source = sources.get(request.meta.get("source"))
        # Requests Scrapy makes itself (robots.txt) carry no source: any of the spider's
        # sources may vouch for the host. (Refusing them would silently disable robots.txt.)
        candidates = [source] if source is not None else list(sources.values())
        if any(s.allow_private and host in s.allowed_domains for s in candidates):
            return None
        names = ", ".join(s.id for s in candidates) or "?"
        raise RefusedAddress(f"refused: {host} is a private/loopback address and source "
                             f"'{names}' does not allow it")


class ConditionalGetMiddleware:
    """Send If-None-Match / If-Modified-Since on index pages (``meta['conditional']``).

    Validators are only *read* here; the spider saves new ones when the crawl of that index
    finished cleanly, so an interrupted crawl never hides articles behind a 304 next time.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ConditionalGetMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return None
        etag, last_modified = runtime_for(self.crawler).store.http_validators(request.url)
        if etag:
            request.headers.setdefault(b"If-None-Match", etag.encode("latin-1", "ignore"))
        if last_modified:
            request.headers.setdefault(b"If-Modified-Since",
                                       last_modified.encode("latin-1", "ignore"))
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, plus a delay: the server's Retry-After (capped) or exponential backoff."""

    def __init__(self, settings: Any):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("CHAVDER_RETRY_BACKOFF_BASE", 1.0)
        self.retry_after_max = settings.getfloat("CHAVDER_RETRY_AFTER_MAX", 120.0)

    def process_response(self, request: Request, response: Response) -> Any:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            attempt = result.meta.get("retry_times", 1)
            delay = self.backoff_base * (2 ** (attempt - 1))
            retry_after = _retry_after_seconds(response.headers.get(b"Retry-After"))
            if retry_after is not None:
                delay = min(max(delay, retry_after), self.retry_after_max)
            result.meta["retry_delay"] = delay
        return result


def _retry_after_seconds(value: bytes | None) -> float | None:
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class RetryDelayMiddleware:
    """Wait ``meta['retry_delay']`` seconds before a retried request goes out (non-blocking)."""

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop("retry_delay", 0)
        if delay:
            from twisted.internet import reactor, task
            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return None
