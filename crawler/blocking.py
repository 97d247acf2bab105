"""Anti-bot challenges in the crawl: recognised in a downloader middleware, remembered per
source and host, and the source backs off (see :mod:`crawler.challenges` for the recognition).

Why two parts: a downloader middleware's ``process_request`` runs when a request *enters* the
downloader, so every article of a feed has passed it before the first answer is in. The
download handler runs when a request is really about to go out: that is where a source already
challenged in this crawl stops sending.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.challenges import ADVICE, REASON_PREFIX, classify
from crawler.download import CheckedHTTPDownloadHandler
from crawler.robots import _ROBOTS_META


class ChallengeBlocked(IgnoreRequest):
    """The response was an anti-bot challenge or block page. ``quiet``: not sent at all,
    because the same source and host were challenged earlier in this crawl (one line per
    source, not one per article)."""

    def __init__(self, reason: str, vendor: str, quiet: bool = False):
        super().__init__(reason)
        self.vendor = vendor
        self.quiet = quiet


def challenged(crawler: Crawler) -> dict[tuple[str, str], str]:
    """(source, host) → vendor, for this crawler's run."""
    registry = getattr(crawler, "_chavder_challenged", None)
    if registry is None:
        registry = {}
        crawler._chavder_challenged = registry   # type: ignore[attr-defined]
    return registry


def _key(request: Request) -> tuple[str, str]:
    return (str(request.meta.get("source") or ""), urlsplit(request.url).hostname or "")


class ChallengeMiddleware:
    """Recognise challenge pages before anything reads them as an index or an article.

    Runs after decompression and redirects and before retry (a challenge is not worth
    retrying). A challenged response becomes :class:`ChallengeBlocked` in the request's
    errback: reported once with vendor and advice, never extracted or stored.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ChallengeMiddleware":
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Any:
        if response.status == 304 or request.meta.get(_ROBOTS_META):
            return response   # a challenged robots.txt reads as "no rules"; the page will tell
        headers = {k.decode("latin-1"): b",".join(v).decode("latin-1")
                   for k, v in response.headers.items()}
        challenge = classify(response.status, headers, response.body)
        if challenge is None:
            return response
        challenged(self.crawler)[_key(request)] = challenge.vendor
        self.crawler.stats.inc_value("chavder/challenges")
        raise ChallengeBlocked(challenge.reason, challenge.vendor)


class BackoffDownloadHandler(CheckedHTTPDownloadHandler):
    """The address-checked HTTP handler, which does not send a source's requests to a host
    that answered this crawl with a challenge: the source backs off until the next crawl."""

    async def download_request(self, request: Request) -> Response:
        vendor = challenged(self._crawler).get(_key(request))
        if vendor is not None and not request.meta.get(_ROBOTS_META):
            advice = ADVICE.get(vendor, ADVICE["generic"])
            raise ChallengeBlocked(f"{REASON_PREFIX} ({vendor}, earlier in this crawl: not "
                                   f"requested, backing off) — the page was not stored; "
                                   f"{advice}", vendor, quiet=True)
        return await super().download_request(request)
