"""The Scrapy side of ``render: browser``: requests marked by the spider go to the process's
headless Chromium (:mod:`crawler.browser`) instead of the HTTP client, and come back as
ordinary responses that the rest of the crawl (challenge recognition, extraction, store)
handles as it handles any page. Which requests: a listing source's index pages (scrolled
``scrolls:`` times) and the article pages of any ``render: browser`` source; never
robots.txt, feeds, sitemaps or API answers."""
from __future__ import annotations

from concurrent.futures import CancelledError, Future
from typing import Any

from scrapy import Request
from scrapy.exceptions import (DownloadCancelledError, DownloadFailedError,
                               DownloadTimeoutError, IgnoreRequest)
from scrapy.http import HtmlResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer

from crawler import browser
from crawler.config import SourceConfig

#: Request meta key: the spider sets it for pages of a ``render: browser`` source.
RENDER_META = "chavder_render"


def render_meta(source: SourceConfig, *, index: bool) -> dict[str, Any]:
    """The meta a spider adds to a request of ``source`` (nothing for plain sources)."""
    if source.render != "browser" or (index and source.kind != "listing"):
        return {}
    return {RENDER_META: source.scrolls if index else 0}


def _deferred(future: "Future[Any]") -> defer.Deferred:
    """A Deferred (fired in the reactor thread) for a future of the browser's loop."""
    from twisted.internet import reactor

    def fire(d: defer.Deferred) -> None:
        if d.called:
            return
        if future.cancelled():
            d.errback(CancelledError())
        elif future.exception() is not None:
            d.errback(future.exception())
        else:
            d.callback(future.result())

    d: defer.Deferred = defer.Deferred(lambda _: future.cancel())
    future.add_done_callback(lambda _: reactor.callFromThread(fire, d))
    return d


class BrowserFetcher:
    """Fetches marked requests through the shared browser session (acquired on first use,
    released when the crawler's download handler closes)."""

    def __init__(self, crawler: Any):
        self.crawler = crawler
        self._session: browser.BrowserSession | None = None

    def policy(self, request: Request, source: SourceConfig) -> browser.PagePolicy:
        from crawler.appref import app_of
        settings = app_of(self.crawler).settings
        agent = request.headers.get(b"User-Agent")
        return browser.PagePolicy(
            source=source.id, allow_private=source.allow_private,
            allowed_domains=tuple(source.allowed_domains),
            max_body_bytes=settings.max_body_bytes, timeout=settings.browser_page_timeout,
            user_agent=agent.decode("latin-1") if agent else None,
            headers=tuple(sorted(source.headers.items())))

    async def fetch(self, request: Request, source: SourceConfig) -> HtmlResponse:
        """The rendered page; :class:`crawler.browser.PageRefused` when the source may not
        reach it (the download handler reports that as it reports its own refusals)."""
        if self._session is None:
            from crawler.appref import app_of
            settings = app_of(self.crawler).settings
            self._session = browser.acquire(settings.browser_max_pages,
                                            settings.browser_executable)
        policy = self.policy(request, source)
        future = self._session.submit(self._session.render(
            request.url, policy, scrolls=int(request.meta.get(RENDER_META) or 0)))
        try:
            page = await maybe_deferred_to_future(_deferred(future))
        except browser.PageTooLarge as exc:   # as the plain handler's size cut: no retry
            raise DownloadCancelledError(f"render: browser: {exc}") from None
        except browser.BrowserUnavailable as exc:   # retrying cannot help
            raise IgnoreRequest(f"render: browser: {exc}") from None
        except TimeoutError as exc:
            raise DownloadTimeoutError(f"render: browser: {exc}") from None
        except Exception as exc:  # Playwright's errors: net::ERR_…, page crashed
            if type(exc).__module__.startswith("playwright"):
                raise DownloadFailedError("render: browser: "
                                          + str(exc).splitlines()[0]) from None
            raise
        self.crawler.stats.inc_value("chavder/browser/pages")
        return HtmlResponse(url=page.url, status=page.status, headers=page.headers,
                            body=page.body, request=request)

    async def close(self) -> None:
        if self._session is not None:
            self._session = None
            from twisted.internet.threads import deferToThread
            await maybe_deferred_to_future(deferToThread(browser.release))
