"""Anti-bot challenges in the crawl: recognised in a downloader middleware, remembered per
source and host, and the source backs off (see :mod:`crawler.challenges` for the recognition).

Why two parts: a downloader middleware's ``process_request`` runs when a request *enters* the
downloader, so every article of a feed has passed it before the first answer is in. The
download handler runs when a request is really about to go out: that is where a source already
challenged stops sending.

Backing off: for the rest of the crawl nothing more goes to that host for that source, and in
a long-running process (``chavder run``) the pair also waits ``max(interval, 60 s) × 2^(n-1)``
(at most 6 h) after its n-th challenge in a row before it is asked again; an ordinary answer
from the host ends the streak.
"""
from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.backoff import doubling
from crawler.challenges import ADVICE, REASON_PREFIX, classify
from crawler.download import CheckedHTTPDownloadHandler
from crawler.robots import ROBOTS_META


class ChallengeBlocked(IgnoreRequest):
    """The response was an anti-bot challenge or block page. ``quiet``: not sent at all,
    because the same source and host were challenged earlier in this crawl (one line per
    source, not one per article)."""

    def __init__(self, reason: str, vendor: str, quiet: bool = False):
        super().__init__(reason)
        self.vendor = vendor
        self.quiet = quiet


#: Longest wait between two tries of a challenged source (the outlet may lift the block).
MAX_BACKOFF = 6 * 3600.0
MIN_BACKOFF = 60.0


class ChallengeMemory:
    """Challenges across the crawls of one process: (source, host) → (vendor, streak, until)."""

    def __init__(self, clock: Any = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[str, int, float]] = {}

    def hit(self, key: tuple[str, str], vendor: str, interval: float) -> float:
        """Record a challenge; the seconds until the pair may be tried again."""
        with self._lock:
            streak = self._entries.get(key, ("", 0, 0.0))[1] + 1
            wait = doubling(max(interval, MIN_BACKOFF), streak, MAX_BACKOFF)
            self._entries[key] = (vendor, streak, self.clock() + wait)
            if len(self._entries) > 10_000:          # bounded: drop the oldest
                self._entries.pop(next(iter(self._entries)))
        return wait

    def clear(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def waiting(self, key: tuple[str, str]) -> tuple[str, float] | None:
        """(vendor, seconds left) while the pair backs off, else None."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] <= self.clock():
            return None
        return entry[0], entry[2] - self.clock()


MEMORY = ChallengeMemory()


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
        if response.status == 304 or request.meta.get(ROBOTS_META):
            return response   # a challenged robots.txt reads as "no rules"; the page will tell
        headers = {k.decode("latin-1"): b",".join(v).decode("latin-1")
                   for k, v in response.headers.items()}
        challenge = classify(response.status, headers, response.body)
        key = _key(request)
        if challenge is None:
            MEMORY.clear(key)
            return response
        challenged(self.crawler)[key] = challenge.vendor
        source = getattr(self.crawler.spider, "sources_by_id", {}).get(key[0])
        MEMORY.hit(key, challenge.vendor, source.interval if source is not None else 900.0)
        self.crawler.stats.inc_value("chavder/challenges")
        raise ChallengeBlocked(challenge.reason, challenge.vendor)


class BackoffDownloadHandler(CheckedHTTPDownloadHandler):
    """The address-checked HTTP handler, which does not send a source's requests to a host
    that answered this crawl with a challenge: the source backs off until the next crawl."""

    async def download_request(self, request: Request) -> Response:
        key = _key(request)
        if not request.meta.get(ROBOTS_META):
            vendor = challenged(self._crawler).get(key)
            when = "earlier in this crawl"
            if vendor is None and (waiting := MEMORY.waiting(key)) is not None:
                vendor, left = waiting
                when = f"recently; next try in {left / 60:.0f} min"
            if vendor is not None:
                advice = ADVICE.get(vendor, ADVICE["generic"])
                raise ChallengeBlocked(f"{REASON_PREFIX} ({vendor}, {when}: not requested, "
                                       f"backing off) — the page was not stored; {advice}",
                                       vendor, quiet=True)
        return await super().download_request(request)
