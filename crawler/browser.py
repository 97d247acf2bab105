"""Headless Chromium for ``render: browser`` sources, through Playwright's async API on a
thread of its own (no Scrapy, no Twisted here; the Scrapy side is :mod:`crawler.rendering`).

Why a thread and not scrapy-playwright: scrapy-playwright's download handler insists on the
asyncio reactor, and Chavder runs Twisted's epoll reactor (``crawler/settings.py``: under the
asyncio one a plain crawl took 1.5-3× the wall time for the same CPU), and its request
routing checks URLs, not connections (see :mod:`crawler.browser_proxy`). Playwright itself is
asyncio; it runs here on its own event loop, one per process, and Scrapy waits on a Deferred.

Bounds, the same as plain fetching where they can be:

- at most ``browser_max_pages`` pages at once in the process (a semaphore), each page within
  ``browser_page_timeout`` seconds (challenge reloads and scrolling included);
- images, fonts and media are never requested;
- every connection the page makes (document, script, XHR, iframe, redirect, WebSocket) goes
  through the source's address-checking proxy (:mod:`crawler.browser_proxy`): private
  addresses are refused unless the source has ``allow_private: true`` and the host is one of
  its ``allowed_domains``, as for plain fetching; service workers are off;
- no response the page loads may exceed ``max_body_bytes`` (counted as bytes arrive, by the
  proxy and over Chrome's DevTools protocol), nor may the rendered HTML.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Coroutine
from urllib.parse import urlsplit

from crawler import defaults
from crawler.browser_proxy import MAX_HEAD, REFUSED_HEADER, AddressProxy, proxy_settings

logger = logging.getLogger(__name__)

#: Resource types never fetched: they cost bandwidth and never carry article text.
BLOCKED_TYPES = frozenset({"image", "font", "media"})
#: A page counts as rendered when its network has been quiet for QUIET_SECONDS (as
#: Playwright's ``networkidle``), waiting at most SETTLE_SECONDS for pages that never go quiet.
SETTLE_SECONDS = 3.0
QUIET_SECONDS = 0.5
#: Navigations a page may make on its own (challenge reloads, redirects by script).
MAX_NAVIGATIONS = 5
#: Chromium switches on top of Playwright's. ``--disable-features`` replaces Playwright's own
#: list (the last switch wins), so that list is repeated here, plus the browser's own calls
#: home (autofill, translate, safe browsing, …): they would go through the source's proxy.
CHROMIUM_ARGS = (
    "--disable-sync", "--no-pings", "--disable-domain-reliability",
    "--disable-client-side-phishing-detection", "--safebrowsing-disable-auto-update",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=" + ",".join((
        # Playwright 1.65's list
        "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
        "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
        "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect",
        "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled", "PreconnectToSearch",
        # Chavder's: no traffic of the browser's own
        "AutofillServerCommunication", "Translate", "SafeBrowsing", "InterestFeedContentSuggestions",
        "CertificateTransparencyComponentUpdater", "PrivacySandboxSettings4",
        "DnsOverHttps", "NetworkPrediction")),
)
_SCROLL = "window.scrollTo(0, document.documentElement.scrollHeight)"


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing, or Chromium does not start."""


class PageRefused(RuntimeError):
    """The page's own URL is one the source may not reach."""


class PageTooLarge(RuntimeError):
    """A response of the page (or the rendered HTML) is over ``max_body_bytes``."""


@dataclass(frozen=True)
class PagePolicy:
    """What one source's pages may do."""

    source: str
    allow_private: bool = False
    allowed_domains: tuple[str, ...] = ()
    max_body_bytes: int = defaults.MAX_BODY_BYTES
    timeout: float = defaults.BROWSER_PAGE_TIMEOUT
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Rendered:
    """A page as the browser left it: the last main-frame response, and the DOM as HTML."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def find_executable(configured: str = "") -> str:
    """The Chromium to launch: ``browser_executable`` from chavder.yaml, else one on PATH."""
    for name in ((configured,) if configured else defaults.BROWSER_EXECUTABLES):
        found = shutil.which(name)
        if found:
            return found
    wanted = configured or " / ".join(defaults.BROWSER_EXECUTABLES)
    raise BrowserUnavailable(f"headless Chromium not found ({wanted}) — install Debian's "
                             "'chromium' package (make dev does) or set browser_executable "
                             "in chavder.yaml")


class BrowserSession:
    """One Chromium for the process, on an event loop in a daemon thread. Start is lazy (the
    first page), :meth:`close` stops browser and thread."""

    def __init__(self, *, max_pages: int = defaults.BROWSER_MAX_PAGES,
                 executable: str = ""):
        self.max_pages = max_pages
        self.executable = executable
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._launching: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None
        self._contexts: dict[PagePolicy, tuple[Any, AddressProxy]] = {}

    # -------------------------------------------------------------- thread plumbing
    def submit(self, coro: Coroutine[Any, Any, Any]) -> "Future[Any]":
        """Run ``coro`` on the browser's loop; a concurrent future of its result."""
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="chavder-browser",
                                                daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def close(self, timeout: float = 15.0) -> None:
        """Close Chromium and stop the loop thread (blocks up to ``timeout`` seconds)."""
        with self._start_lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        except Exception as exc:  # noqa: BLE001 - closing: report, go on
            logger.warning("closing headless Chromium failed: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)

    async def _shutdown(self) -> None:
        contexts, self._contexts = list(self._contexts.values()), {}
        for context, proxy in contexts:
            await context.close()
            await proxy.close()
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._browser = self._playwright = None

    # -------------------------------------------------------------- browser and contexts
    async def _ensure_browser(self) -> Any:
        if self._launching is None:
            self._launching = asyncio.Lock()
            self._slots = asyncio.Semaphore(self.max_pages)
        async with self._launching:
            if self._browser is None:
                try:
                    from playwright.async_api import async_playwright
                except ImportError as exc:
                    raise BrowserUnavailable("Playwright is not installed — pip install "
                                             "'chavder[browser]' (make dev does)") from exc
                path = find_executable(self.executable)
                self._playwright = await async_playwright().start()
                try:
                    self._browser = await self._playwright.chromium.launch(
                        executable_path=path, headless=True,
                        args=list(CHROMIUM_ARGS))
                except Exception as exc:  # noqa: BLE001 - any launch failure: one reason
                    await self._playwright.stop()
                    self._playwright = None
                    raise BrowserUnavailable(f"headless Chromium ({path}) did not start: "
                                             f"{str(exc).splitlines()[0]}") from exc
        return self._browser

    async def _context(self, policy: PagePolicy) -> tuple[Any, AddressProxy]:
        """One browser context per source policy, behind its own address-checking proxy
        (:mod:`crawler.browser_proxy`): cookies (a passed challenge) last the process;
        nothing is shared between sources."""
        pair = self._contexts.get(policy)
        if pair is None:
            browser = await self._ensure_browser()
            proxy = await AddressProxy(policy.source, allow_private=policy.allow_private,
                                       allowed_domains=policy.allowed_domains,
                                       max_bytes=policy.max_body_bytes + MAX_HEAD).start()
            context = await browser.new_context(
                proxy=proxy_settings(proxy), user_agent=policy.user_agent,
                extra_http_headers=dict(policy.headers), service_workers="block")
            await context.route("**/*", self._route)
            pair = self._contexts[policy] = (context, proxy)
        return pair

    @staticmethod
    async def _route(route: Any, request: Any) -> None:
        """Images, fonts and media are never requested; the rest goes to the proxy."""
        if request.resource_type in BLOCKED_TYPES:
            await route.abort("blockedbyclient")
        else:
            await route.continue_()

    # -------------------------------------------------------------- one page
    async def render(self, url: str, policy: PagePolicy, *, scrolls: int = 0) -> Rendered:
        """``url`` rendered by Chromium within ``policy.timeout`` seconds."""
        await self._ensure_browser()
        assert self._slots is not None
        async with self._slots:
            context, proxy = await self._context(policy)
            parts = urlsplit(url)
            _address, reason = await proxy.choose(
                parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
            if reason is not None:
                raise PageRefused(reason)
            page = await context.new_page()
            try:
                return await asyncio.wait_for(self._render(page, url, policy, scrolls),
                                              policy.timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"page not rendered within {policy.timeout:g} s "
                                   "(browser_page_timeout)") from None
            finally:
                await page.close()

    async def _render(self, page: Any, url: str, policy: PagePolicy,
                      scrolls: int) -> Rendered:
        """Load, settle, scroll; fails at once when a response passes ``max_body_bytes``."""
        too_large: list[str] = []
        over = asyncio.Event()
        await self._watch_sizes(page, policy.max_body_bytes, too_large, over)
        work = asyncio.ensure_future(self._load(page, url, scrolls))
        stop = asyncio.ensure_future(over.wait())
        try:
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if over.is_set():
            work.cancel()
            raise PageTooLarge(too_large[0])
        return self._check_size(work.result(), policy.max_body_bytes)

    async def _load(self, page: Any, url: str, scrolls: int) -> Rendered:
        from playwright.async_api import Error as PlaywrightError
        main: dict[str, Any] = {}
        navigations = [0]
        inflight = [0]

        def on_response(response: Any) -> None:
            if response.frame == page.main_frame and response.request.is_navigation_request():
                main["response"] = response
                navigations[0] += 1

        def started(_request: Any) -> None:
            inflight[0] += 1

        def ended(_request: Any) -> None:
            inflight[0] = max(0, inflight[0] - 1)

        page.on("response", on_response)
        page.on("request", started)
        page.on("requestfinished", ended)
        page.on("requestfailed", ended)
        try:
            await page.goto(url, wait_until="load")
        except PlaywrightError as exc:
            if "interrupted by another navigation" not in str(exc):
                raise
        await self._settle(page, navigations, inflight)
        for _ in range(scrolls):
            await page.evaluate(_SCROLL)
            await self._settle(page, navigations, inflight)
        body = (await self._content(page)).encode("utf-8")
        response = main.get("response")
        headers = dict(await response.all_headers()) if response is not None else {}
        if REFUSED_HEADER.lower() in headers:   # the document redirected somewhere refused
            raise PageRefused(f"{(await response.text())[:300]} (redirect to {response.url})")
        for name in ("content-encoding", "content-length", "transfer-encoding"):
            headers.pop(name, None)   # the body is the serialised DOM, UTF-8
        headers["content-type"] = "text/html; charset=utf-8"
        return Rendered(url=page.url, status=response.status if response is not None else 200,
                        headers=headers, body=body)

    @staticmethod
    def _check_size(page: Rendered, limit: int) -> Rendered:
        if len(page.body) > limit:
            raise PageTooLarge(f"rendered page is {len(page.body):,} bytes, over "
                               f"max_body_bytes ({limit:,})")
        return page

    @staticmethod
    async def _watch_sizes(page: Any, limit: int, too_large: list[str],
                           over: asyncio.Event) -> None:
        """Set ``over`` as soon as one response of the page passes ``limit`` bytes."""
        session = await page.context.new_cdp_session(page)
        received: dict[str, int] = {}
        urls: dict[str, str] = {}

        def on_response(event: dict[str, Any]) -> None:
            urls[event["requestId"]] = event.get("response", {}).get("url", "?")

        def on_data(event: dict[str, Any]) -> None:
            rid = event["requestId"]
            received[rid] = received.get(rid, 0) + int(event.get("dataLength", 0))
            if received[rid] > limit and not too_large:
                too_large.append(f"{urls.get(rid, 'a response of the page')} is over "
                                 f"max_body_bytes ({limit:,} bytes) — not read further")
                over.set()

        session.on("Network.responseReceived", on_response)
        session.on("Network.dataReceived", on_data)
        await session.send("Network.enable")

    @staticmethod
    async def _settle(page: Any, navigations: list[int], inflight: list[int]) -> None:
        """Wait until the page stops navigating (a challenge reloads itself) and its network
        has been quiet for :data:`QUIET_SECONDS`, at most :data:`SETTLE_SECONDS` per round and
        :data:`MAX_NAVIGATIONS` rounds. (Playwright's ``networkidle`` state is reached once
        per document: it does not wait for what a scroll loads.)"""
        from playwright.async_api import Error as PlaywrightError
        loop = asyncio.get_running_loop()
        for _ in range(MAX_NAVIGATIONS):
            seen = navigations[0]
            try:
                await page.wait_for_load_state("load")
            except PlaywrightError:
                pass
            deadline = loop.time() + SETTLE_SECONDS
            quiet_since = loop.time()
            while loop.time() < deadline:
                if inflight[0] > 0:
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= QUIET_SECONDS:
                    break
                await asyncio.sleep(0.05)
            if navigations[0] == seen:
                return

    @staticmethod
    async def _content(page: Any) -> str:
        from playwright.async_api import Error as PlaywrightError
        for _ in range(MAX_NAVIGATIONS):
            try:
                return await page.content()
            except PlaywrightError:   # "page is navigating": wait for the new document
                await page.wait_for_load_state("load")
        return await page.content()


# --------------------------------------------------------------------------- the process's one

_SHARED: BrowserSession | None = None
_USERS = 0
_SHARED_LOCK = threading.Lock()


def acquire(max_pages: int, executable: str = "") -> BrowserSession:
    """The process's browser session (made on first use); pair with :func:`release`. Its
    page bound is the first user's ``browser_max_pages`` (one chavder.yaml per process)."""
    global _SHARED, _USERS
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = BrowserSession(max_pages=max_pages, executable=executable)
        _USERS += 1
        return _SHARED


def release() -> None:
    """One user fewer; the last one closes Chromium (an idle service holds no browser)."""
    global _SHARED, _USERS
    with _SHARED_LOCK:
        _USERS = max(0, _USERS - 1)
        session = _SHARED if _USERS == 0 else None
        if session is not None:
            _SHARED = None
    if session is not None:
        session.close()
