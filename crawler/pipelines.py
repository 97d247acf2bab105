"""Item pipelines: thin adapters over the plain modules (extract → store).

Each pipeline records stats under ``chavder/…`` so ``chavder crawl`` can print per-source counts.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from twisted.internet.defer import Deferred

from crawler import defaults
from crawler.challenges import NEEDS_BROWSER, needs_browser
from crawler.urls import display_url
from crawler.extract import ExtractionError
from crawler.extract.page import extract_page
from crawler.text.dates import parse_iso
from crawler.storing import Outcome, StoreRequest, store_batch
from crawler.items import RawPage
from crawler.models import Article
from crawler.appref import app_of
from crawler.store.base import STORE_FAULT_PREFIX
from crawler.store.faults import StoreUnusable
from crawler.counters import count
from crawler.unexpected import store_unusable

logger = logging.getLogger("chavder.crawl")


class _Base:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.app = app_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    def problem(self, source: str, url: str, reason: str, level: int = logging.WARNING) -> None:
        logger.log(level, "source=%s url=%s reason=%s", source, display_url(url), reason)
        count(self.crawler, source, "errors")
        try:
            self.app.store.record_fetch_error(source, url, reason)
        except Exception as exc:  # noqa: BLE001 - the store may be the very thing failing
            logger.debug("could not record the error in the store: %s", exc)

    def must_come_back(self, source: str) -> None:
        """This source's index must be read in full next time (no 304 shortcut): an article
        it lists was fetched but could not be kept."""
        spider = self.crawler.spider
        if spider is not None and hasattr(spider, "mark_incomplete"):
            spider.mark_incomplete(source)


class ExtractPipeline(_Base):
    """RawPage → Article (fields, dates, language, canonical URL, content hash)."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, RawPage):
            return item
        source = self.app.sources_by_id[item.source]
        started = time.perf_counter()
        try:
            article = extract_page(item.body, item.url, source, headers=item.headers,
                                   hint=item.hint,
                                   fetched_at=parse_iso(item.fetched_at),
                                   from_index=item.extracted_from != "page")
        except ExtractionError as exc:
            self.crawler.stats.inc_value(f"chavder/extract_failed/{exc.reason}")
            why = f"not stored ({exc.reason}): {exc}"
            if exc.reason == "no-article-text" and source.render != "browser" \
                    and needs_browser(item.body):
                why += (f" — the text is written by JavaScript: the source {NEEDS_BROWSER} "
                        "(or use the outlet's feed, sitemap or API)")
            self.problem(item.source, item.url, why)
            raise DropItem(f"{item.url}: {exc.reason}") from None
        finally:
            count(self.crawler, item.source, "seconds/extract", time.perf_counter() - started)
        article.extracted_from = item.extracted_from
        count(self.crawler, item.source, "extracted")
        return _Extracted(article, item)


class _Extracted:
    """An Article plus what the store needs to know about how it was found."""

    __slots__ = ("article", "page")

    def __init__(self, article: Article, page: RawPage):
        self.article = article
        self.page = page


class StorePipeline(_Base):
    """Upsert by canonical URL key; re-crawls never duplicate, changed content is an update.

    Articles are stored in batches — one store transaction for those extracted within
    ``CHAVDER_STORE_BATCH_SECONDS`` (0.05), at most ``CHAVDER_STORE_BATCH`` (8) of them: one
    lock and one commit instead of one each (crawler.storing.store_batch). An item leaves the
    pipeline only once its batch committed, so whatever follows it (alerts, a worker's
    acknowledgement to the frontier) sees a stored article. ``CHAVDER_STORE_BATCH: 1`` stores
    each on its own, at once."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        conf = crawler.settings
        self.batch_size = max(1, conf.getint("CHAVDER_STORE_BATCH", defaults.STORE_BATCH))
        self.batch_seconds = max(0.0, conf.getfloat("CHAVDER_STORE_BATCH_SECONDS",
                                                    defaults.STORE_BATCH_SECONDS))
        self._waiting: list[tuple[StoreRequest, Deferred]] = []   # the batch being gathered
        self._timer: Any = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, _Extracted):
            return item
        article, page = item.article, item.page
        request = StoreRequest.of(article, page.url_key, page.url,
                                  page.hint.updated_at if page.hint else None)
        hand_off = getattr(self.app.store, "hand_off", None)
        if hand_off is not None:   # store_writer: controller — the controller stores it
            started = time.perf_counter()
            hand_off(request)
            count(self.crawler, article.source, "seconds/store", time.perf_counter() - started)
            count(self.crawler, article.source, "handed_off")
            return article
        if self.batch_size == 1:
            return self._stored(item, *self._store([request])[0])
        done: Deferred = Deferred()
        self._waiting.append((request, done))
        if len(self._waiting) >= self.batch_size:
            self.flush()
        elif self._timer is None:
            from twisted.internet import reactor
            self._timer = reactor.callLater(self.batch_seconds, self.flush)
        outcome, seconds = await done
        return self._stored(item, outcome, seconds)

    def flush(self) -> None:
        """Store the waiting articles now, in one transaction, and let their items go on."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        waiting, self._waiting = self._waiting, []
        if waiting:
            requests, waiters = zip(*waiting)
            for done, stored in zip(waiters, self._store(list(requests))):
                done.callback(stored)

    async def close_spider(self, spider: Any = None) -> None:
        self.flush()

    def _store(self, requests: list[StoreRequest]) -> list[tuple[Any, float]]:
        started = time.perf_counter()
        outcomes, lost = store_batch(self.app.store, self.app.resolver, requests)
        if lost:   # its index holds articles that were not stored after all
            self.app.forget_resolver()
        seconds = (time.perf_counter() - started) / len(requests)
        return [(outcome, seconds) for outcome in outcomes]

    def _stored(self, item: _Extracted, outcome: Outcome, seconds: float) -> Article:
        """Count and report one article's outcome; raises DropItem when it was not stored."""
        article, page = item.article, item.page
        count(self.crawler, article.source, "seconds/store", seconds)
        if isinstance(outcome, StoreUnusable):
            # corrupt / read-only file: every further write fails the same way — stop here
            store_unusable(self.crawler, outcome)
            raise DropItem(f"{page.url}: {outcome.problem}")
        if isinstance(outcome, Exception):   # disk full, database locked, index down…
            # Nothing was written (the upsert is one transaction). Say so, and make sure the
            # next crawl fetches this article again instead of trusting a 304.
            self.must_come_back(article.source)
            self.problem(article.source, page.url, f"{STORE_FAULT_PREFIX} "
                         f"({type(outcome).__name__}: {outcome}) — free disk space or fix the "
                         "store; the next crawl fetches it again", level=logging.ERROR)
            raise DropItem(f"{page.url}: store write failed")
        decision, result = outcome
        if decision.kind in ("duplicate", "join") and result.kind == "new":
            count(self.crawler, article.source, "joined_story")
        count(self.crawler, article.source, result.kind)
        if result.kind != "unchanged":
            self.crawler.stats.inc_value(f"chavder/language/{article.language or 'und'}")
        return article


class AlertPipeline(_Base):
    """Match new and changed articles against the alert rules, queue their alerts in the
    ledger and — in ``chavder crawl``/``demo`` and the service (``CHAVDER_DELIVER_ALERTS``) —
    deliver them while the crawl goes on: an alert goes out about ``alert_sweep_seconds``
    after its article is stored, not when the slowest source of the batch is done.

    Matching is a sweep over unchecked article revisions (see crawler/alerting.py), so an
    article stored just before a crash is still matched by the next sweep. A sweep is
    scheduled (once) when an article is stored and runs that many seconds later, so a burst of
    articles shares one (a store query per article was a tenth of a crawl's time). Delivery
    runs in a worker thread, one at a time (``Alerting`` serialises its callers): a slow or
    unreachable SMTP server delays the mail, never the crawl. Matching on a local (SQLite)
    store runs on the crawl's thread, ``MATCH_BATCH`` revisions a turn, unless another thread
    holds the alerting lock; on other stores it runs in the worker thread too.
    """

    #: without delivery (a plain ``scrapy crawl``, or ``alert_sweep_seconds: 0``), match at
    #: most this often
    MATCH_EVERY = 1.0

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        every = float(self.app.settings.alert_sweep_seconds)
        self.deliver = crawler.settings.getbool("CHAVDER_DELIVER_ALERTS") and every > 0
        self.delay = every if self.deliver else self.MATCH_EVERY
        self._call: Any = None          # the scheduled sweep
        self._running: Any = None       # the Deferred of the sweep under way
        self._again = False             # articles came during it: sweep once more after it
        self.app.alerting   # noqa: B018 - the rules are read (and a bad file refused) up front

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article) and self.app.alerting is not None and self._call is None:
            from twisted.internet import reactor
            self._call = reactor.callLater(self.delay, self._sweep_soon)
        return item

    #: Revisions matched per turn of the crawl's own thread (~0.3 ms each on SQLite).
    MATCH_BATCH = 200

    def _sweep_soon(self) -> None:
        self._call = None
        if self._running is not None:
            self._again = True
            return
        from twisted.internet.threads import deferToThread
        alerting = self.app.alerting
        matched = self._match_here(alerting) if alerting is not None and \
            alerting.matches_locally else None
        if matched is not None:
            if matched and self.deliver:       # mail only in the worker thread
                self._running = deferToThread(self._deliver_due)
                self._running.addBoth(self._swept)
            return
        self._running = deferToThread(self.sweep, self.deliver)
        self._running.addBoth(self._swept)

    def _match_here(self, alerting: Any) -> bool | None:
        """Match a batch on the crawl's thread: a sweep thread beside the reactor cost ~1 ms
        of CPU per article in GIL hand-offs (bench/crawl.py). True when done, False when it
        failed (reported), None when the alerting lock is busy (another thread matches or
        delivers): then the worker thread sweeps."""
        from twisted.python.failure import Failure
        try:
            checked = alerting.check_some(self.MATCH_BATCH)
        except Exception:  # noqa: BLE001 - reported as a failed sweep (_count)
            self._count(Failure())
            return False
        if checked is None:
            return None
        queued, more = checked
        self._count(queued)
        if more and self._call is None:   # a backlog: the next batch on the next turn
            from twisted.internet import reactor
            self._call = reactor.callLater(0, self._sweep_soon)
        return True

    def _deliver_due(self) -> int:
        """Deliver what is due (thread-safe; the matching was done on the crawl's thread)."""
        alerting = self.app.alerting
        if alerting is not None:
            alerting.dispatch_due(report=self.app.crawl_alerts)
        return 0

    def _swept(self, result: Any) -> None:
        self._running = None
        self._count(result)
        if self._again:
            self._again = False
            self._sweep_soon()

    async def close_spider(self, spider: Any = None) -> None:
        """The last sweep (delivering too, unless the crawl is being shut down); the spider
        closes when it is done."""
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.defer import succeed
        from twisted.internet.threads import deferToThread
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call, self._again = None, False
        deliver = self.deliver and bool(getattr(self.crawler.engine, "running", False))
        before = self._running if self._running is not None else succeed(None)
        await maybe_deferred_to_future(before.addBoth(
            lambda _: deferToThread(self.sweep, deliver)).addBoth(self._count))

    def sweep(self, deliver: bool = False) -> int:
        """Match what is unchecked (and deliver what is due): alerts queued. Thread-safe."""
        alerting = self.app.alerting
        if alerting is None:
            return 0
        queued = alerting.check_pending()
        if deliver:
            alerting.dispatch_due(report=self.app.crawl_alerts)
        return queued

    def _count(self, result: Any) -> None:
        """On the reactor thread: count what a sweep queued, or report why it failed."""
        from twisted.python.failure import Failure
        if isinstance(result, Failure):
            exc = result.value
            if isinstance(exc, StoreUnusable):   # the crawl stops and reports it (StoreGuard)
                store_unusable(self.crawler, exc)
            else:                                # the next sweep matches it (nothing lost)
                logger.error("alert sweep failed (%s: %s); the next sweep retries",
                             type(exc).__name__, exc)
        elif result:
            self.crawler.stats.inc_value("chavder/alerts_queued", result)
