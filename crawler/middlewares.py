"""Downloader middlewares: offsite and address policy, conditional GET, retry with backoff."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.addresses import host_in_domains, is_private_host, normalize_host
from crawler.backoff import doubling
from crawler.download import RefusedAddress, may_reach_private
from crawler import defaults
from crawler.appref import app_of
from crawler.text.dates import http_date

logger = logging.getLogger(__name__)


class OffsiteRequest(IgnoreRequest):
    """A request to a host outside its source's ``allowed_domains``. ``quiet`` for an article
    link (feeds link elsewhere all the time: a skip, not a problem)."""

    def __init__(self, reason: str, quiet: bool = False):
        super().__init__(reason)
        self.quiet = quiet


class SourceOffsiteMiddleware:
    """Scrapy's offsite rule (a host in ``allowed_domains`` or a subdomain of one), applied per
    source and to every request a source makes.

    Scrapy's own ``OffsiteMiddleware`` skips requests with ``dont_filter=True`` — and index
    pages, sitemap children and their redirects all carry it (they must bypass the duplicate
    filter, not the offsite rule) — and judges against the union of a batch's domains. Refusing
    here, in ``process_request``, sends the refusal to the request's errback: one line.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SourceOffsiteMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        source = getattr(spider, "sources_by_id", {}).get(request.meta.get("source"))
        domains = source.allowed_domains if source is not None else \
            getattr(spider, "allowed_domains", None) or []
        host = urlsplit(request.url).hostname or ""
        if not domains or host_in_domains(host, domains):
            return None
        name = normalize_host(host)
        if request.meta.get("redirect_urls"):
            raise OffsiteRequest(f"redirect to another site ({name}) not followed — add it to "
                                 f"allowed_domains if it is the same outlet ({request.url})")
        if "url_key" in request.meta:
            raise OffsiteRequest(f"link to another site ({name}) not followed", quiet=True)
        raise OffsiteRequest(f"refused: {name} is not in the source's allowed_domains — add it "
                             "if it is the same outlet")


class AddressPolicyMiddleware:
    """Refuse requests to private IP literals and ``localhost`` before they are queued.

    The real check is made at connect time, after resolution (``crawler.download``); this one
    only gives literals an early, specific reason (e.g. a redirect to 169.254.169.254). A
    source with ``allow_private: true`` may reach private addresses only on the hosts of its
    ``allowed_domains``.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "AddressPolicyMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if not is_private_host(host) or may_reach_private(self.crawler.spider, request):
            return None
        name = normalize_host(host)
        if request.meta.get("redirect_urls"):
            raise RefusedAddress(f"refused: redirect to private address {name} ({request.url})")
        raise RefusedAddress(f"refused: {name} is a private address (not allowed for this "
                             "source)")


class ConditionalGetMiddleware:
    """Send If-None-Match / If-Modified-Since on index pages (``meta['conditional']``).

    Validators are only *read* here; the spider saves new ones when the crawl of that index
    finished cleanly, so an interrupted crawl never hides articles behind a 304 next time.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.store = app_of(crawler).store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ConditionalGetMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional"):
            return None
        etag, last_modified = self.store.http_validators(request.url)
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
        self.backoff_base = settings.getfloat("CHAVDER_RETRY_BACKOFF_BASE",
                                              defaults.RETRY_BACKOFF_BASE)
        self.retry_after_max = settings.getfloat("CHAVDER_RETRY_AFTER_MAX",
                                                 defaults.RETRY_AFTER_MAX)

    def process_response(self, request: Request, response: Response) -> Any:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            attempt = result.meta.get("retry_times", 1)
            delay = doubling(self.backoff_base, attempt)
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
    when = http_date(text)
    if when is None:
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


class SourceHeadersMiddleware:
    """A source's own request headers (``headers:``) and User-Agent (``user_agent:``), for
    APIs that want ``Accept: application/json`` and sites that refuse an unusual client.
    Runs before Scrapy's defaults, which only fill what is still unset."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.contact_url = app_of(crawler).settings.contact_url

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SourceHeadersMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        source = getattr(spider, "sources_by_id", {}).get(request.meta.get("source"))
        if source is None:
            return None
        for name, value in source.headers.items():
            request.headers[name] = value
        if source.user_agent:
            request.headers[b"User-Agent"] = source.user_agent.replace("{contact_url}",
                                                                       self.contact_url)
        return None
