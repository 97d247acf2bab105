"""Per-domain concurrency and delay held across every worker process, through Redis.

Scrapy keeps ``CONCURRENT_REQUESTS_PER_DOMAIN`` and the download delay per process: two
workers would each send ``concurrent_per_domain`` requests to one outlet, twice the promise.
This downloader middleware takes a lease on the domain from the shared
:class:`~crawler.scaleout.gate.DomainGate` before a request goes to the downloader and gives it
back when the request leaves it (Scrapy's ``request_left_downloader`` signal: after success,
failure or timeout alike). The domain is Scrapy's download-slot key (the host name), the limit
is the crawl's ``CONCURRENT_REQUESTS_PER_DOMAIN`` (chavder.yaml's ``concurrent_per_domain``)
and the delay is the slot's current delay (AutoThrottle's, else ``DOWNLOAD_DELAY``), now
spaced across all workers instead of within one.

With no delay (``DOWNLOAD_DELAY`` 0 and AutoThrottle off: archive re-crawls, the benchmarks),
a lease that comes back while another request of this process waits for the domain goes
straight to that request — the slot never left this worker, so the limit holds — for up to
``REUSE_SECONDS`` after Redis granted it; then it goes back, and the next ask hears about the
other workers waiting (the fair share) again. A delay always goes through Redis: its spacing
holds across workers only if every start is told there.

Enabled only when ``redis_url`` is set; without it the middleware is not built and nothing
changes. Inside one worker, one request per domain at a time asks Redis (the others wait
behind it, or for a local release), so a busy domain costs each worker one poll per
``CHAVDER_POLITENESS_POLL`` seconds, not one per waiting request; and a worker Redis told
it holds its fair share does not ask again for half the asker window unless a release of its
own brings it under that share (it asked once per queued request: with two workers on one
outlet, a doomed round trip per article). If Redis is unreachable,
requests wait (one warning, one line when it is back): a worker never sends impolitely
because it cannot see the others.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, DeferredLock

from crawler import defaults
from crawler.scaleout.connection import Reachability, connect, outage_errors
from crawler.scaleout.gate import DELAYED, SHARE, Answer, DomainGate

logger = logging.getLogger(__name__)

#: request.meta key of the lease a request holds while it is in the downloader
LEASE = "chavder_lease"
REDIS_RETRY_SECONDS = 1.0
#: how long a lease Redis granted may pass from request to request inside one process (no
#: delay only): under half the gate's asker window, so a worker waiting elsewhere gets its
#: fair share within about that
REUSE_SECONDS = 0.2


class SharedPolitenessMiddleware:
    """Leases per domain from Redis around each download (see the module docstring)."""

    def __init__(self, crawler: Crawler, gate: DomainGate, limit: int, lease_seconds: float,
                 poll_seconds: float, redis: Reachability):
        self.crawler = crawler
        self.gate = gate
        self.limit = max(1, limit)
        self.poll = max(0.001, poll_seconds)
        self.renew_every = max(0.05, lease_seconds / 3)
        self.redis = redis
        self._held: dict[str, str] = {}          # token → domain
        self._local: dict[str, int] = {}         # domain → leases held by this process
        self._askers: dict[str, DeferredLock] = {}
        self._wakers: dict[str, list[Deferred]] = {}
        self._returning: dict[str, list[str]] = {}   # released, handed back with the next ask
        self._granted: dict[str, float] = {}     # token → when Redis granted it (monotonic)
        self._spare: dict[str, list[str]] = {}   # domain → released tokens a waiter may reuse
        self._share: dict[str, tuple[float, int]] = {}   # domain → (until, held): fair share
        self._renewer: Any = None
        self._stopping = False                   # spider closed: every lease goes back

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SharedPolitenessMiddleware":
        # the application the driver or the worker attached (under plain ``scrapy crawl`` the
        # robots middleware, built before this one, attached it)
        app = getattr(crawler, "chavder", None)
        url = app.settings.redis_url if app is not None else ""
        if not url:
            raise NotConfigured
        conf = crawler.settings
        lease = conf.getfloat("CHAVDER_POLITENESS_LEASE", defaults.POLITENESS_LEASE_SECONDS)
        gate = DomainGate(connect(url), prefix=defaults.FRONTIER_PREFIX, lease_seconds=lease)
        mw = cls(crawler, gate, conf.getint("CONCURRENT_REQUESTS_PER_DOMAIN",
                                            defaults.CONCURRENT_PER_DOMAIN),
                 lease, conf.getfloat("CHAVDER_POLITENESS_POLL",
                                      defaults.POLITENESS_POLL_SECONDS),
                 _reachability(crawler, url))
        crawler.signals.connect(mw.request_left, signal=signals.request_left_downloader)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # ------------------------------------------------------------------ Scrapy hooks
    async def process_request(self, request: Request) -> None:
        if request.meta.get(LEASE) in self._held:
            return None                              # already holds one (re-entry)
        domain = self.crawler.engine.downloader.get_slot_key(request)
        started = time.monotonic()
        token = await self._acquire(domain, self._delay_of(domain))
        waited = time.monotonic() - started
        if waited > 0.001 and self.crawler.stats:
            self.crawler.stats.inc_value("chavder/politeness/waits")
            self.crawler.stats.inc_value("chavder/politeness/wait_seconds", waited)
        request.meta[LEASE] = token
        return None

    def request_left(self, request: Request, spider: Any = None) -> None:
        self.release(request.meta.pop(LEASE, None))

    def spider_opened(self, spider: Any = None) -> None:
        from twisted.internet.task import LoopingCall
        self._renewer = LoopingCall(self.renew)
        self._renewer.start(self.renew_every, now=False)

    def spider_closed(self, spider: Any = None) -> None:
        if self._renewer is not None and self._renewer.running:
            self._renewer.stop()
        self._stopping = True
        for domain in list(self._spare):
            self._return_spare(domain)
        for token in list(self._held):
            self.release(token)
        for domain in list(self._returning):
            self._return_now(domain)
        try:
            self.gate.client.close()
        except Exception:   # noqa: BLE001 - closing a dead connection must not fail the close
            pass

    # ------------------------------------------------------------------ leases
    async def _acquire(self, domain: str, delay: float) -> str:
        """Wait for a lease on ``domain``; one request per domain of this process asks."""
        asker = self._askers.setdefault(domain, DeferredLock())
        await maybe_deferred_to_future(asker.acquire())
        try:
            token = self.gate.new_token()
            while True:
                spare = self._spare.get(domain)
                if spare:                            # a lease of ours just left a request
                    reused = spare.pop()
                    if not spare:
                        del self._spare[domain]
                    if self.crawler.stats:
                        self.crawler.stats.inc_value("chavder/politeness/leases_reused")
                    return reused
                held = self._local.get(domain, 0)
                if held >= self.limit:
                    await self._wait(domain, None)   # all slots are ours: a release wakes us
                    continue
                share = self._share_left(domain, held)
                if share > 0:                        # Redis said lately: this is our share
                    await self._wait(domain, share)
                    continue
                answer = self._ask(domain, token, delay, held)
                if answer.status == SHARE:
                    self._share[domain] = (time.monotonic() + answer.wait / 2, held)
                    if self.crawler.stats:
                        self.crawler.stats.inc_value("chavder/politeness/fair_share_refusals")
                if answer.acquired:
                    self._held[token] = domain
                    self._granted[token] = time.monotonic()
                    self._local[domain] = self._local.get(domain, 0) + 1
                    return token
                # the delay's wait is exact; at its fair share it waits for its own release;
                # a full domain is polled (a local release wakes it too)
                await self._wait(domain, answer.wait if answer.status in (DELAYED, SHARE)
                                 else min(answer.wait, self.poll))
        finally:
            asker.release()
            if not asker.locked and not asker.waiting:
                self._askers.pop(domain, None)       # thousands of domains: keep none idle
                self._share_left(domain, 0)          # … nor a lapsed fair-share answer

    def _share_left(self, domain: str, held: int) -> float:
        """Seconds for which this worker, holding ``held`` leases on ``domain``, need not ask:
        Redis answered "fair share" when it held as many, under half an asker window ago (the
        answer stays true while the others wait; asking again each half window keeps this
        worker counted among the waiting). A local release brings ``held`` under it: ask."""
        until, at = self._share.get(domain, (0.0, 0))
        left = until - time.monotonic()
        if left <= 0:
            self._share.pop(domain, None)
            return 0.0
        return left if held >= at else 0.0

    def _ask(self, domain: str, token: str, delay: float, held: int) -> Answer:
        returning = self._returning.pop(domain, [])
        try:
            answer = self.gate.try_acquire(domain, token, self.limit, delay, held, returning)
        except outage_errors() as exc:   # the returned leases lapse by themselves
            self.redis.failed(exc)        # one line per outage; requests wait, never go blind
            return Answer(DELAYED, REDIS_RETRY_SECONDS)
        self.redis.ok()
        return answer

    def release(self, token: str | None) -> None:
        """Give a lease back: with the next ask when a request of this process waits for the
        domain (it asks at once: one round trip for both), else now."""
        domain = self._held.get(token) if token else None
        if domain is None:
            return
        waiters = self._wakers.pop(domain, [])
        if waiters and self._reusable(domain, token):   # type: ignore[arg-type]
            self._spare.setdefault(domain, []).append(token)   # type: ignore[arg-type]
            from twisted.internet import reactor
            reactor.callLater(self.poll, self._return_spare, domain)   # if nobody took it
            _wake(waiters)
            return
        del self._held[token]   # type: ignore[arg-type]
        self._granted.pop(token, None)   # type: ignore[arg-type]
        self._local[domain] -= 1
        if not self._local[domain]:
            del self._local[domain]
        if waiters:
            self._returning.setdefault(domain, []).append(token)   # type: ignore[arg-type]
            from twisted.internet import reactor
            reactor.callLater(self.poll, self._return_now, domain)  # if nobody asked after all
        else:
            self._give_back(domain, [token])   # type: ignore[list-item]
        _wake(waiters)

    def _reusable(self, domain: str, token: str) -> bool:
        """Whether a released lease may go straight to this process's next request."""
        return (not self._stopping and self._delay_of(domain) <= 0
                and time.monotonic() - self._granted.get(token, 0.0) < REUSE_SECONDS)

    def _return_spare(self, domain: str) -> None:
        for token in self._spare.pop(domain, []):
            self.release(token)   # no waiter now (else it took the spare): straight back

    def _return_now(self, domain: str) -> None:
        tokens = self._returning.pop(domain, [])
        if tokens:
            self._give_back(domain, tokens)

    def _give_back(self, domain: str, tokens: list[str]) -> None:
        try:
            self.gate.release(domain, *tokens)
        except Exception as exc:  # noqa: BLE001 - Redis away: the lease lapses by itself
            logger.debug("lease on %s not returned (%s): it lapses by itself", domain, exc)

    def renew(self) -> None:
        """Keep this process's live leases from lapsing (a dead process stops renewing)."""
        if not self._held:
            return
        try:
            self.gate.renew((domain, token) for token, domain in self._held.items())
        except Exception as exc:  # noqa: BLE001 - a missed renewal is retried next tick
            logger.debug("lease renewal failed: %s", exc)

    async def _wait(self, domain: str, timeout: float | None) -> None:
        from twisted.internet import reactor
        waiter: Deferred = Deferred()
        self._wakers.setdefault(domain, []).append(waiter)
        timer = reactor.callLater(timeout, _fire, waiter) if timeout is not None else None
        try:
            await maybe_deferred_to_future(waiter)
        finally:
            if timer is not None and timer.active():
                timer.cancel()
            waiters = self._wakers.get(domain)
            if waiters and waiter in waiters:
                waiters.remove(waiter)

    def _delay_of(self, domain: str) -> float:
        """The delay Scrapy would keep between two starts on this domain in one process."""
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(domain)
        if slot is not None:
            return float(slot.delay)
        return float(getattr(downloader, "_delay",
                             self.crawler.settings.getfloat("DOWNLOAD_DELAY")))


_REACHABILITY: dict[str, Reachability] = {}


def _reachability(crawler: Crawler, url: str) -> Reachability:
    """The worker's own record of Redis being away when this crawler runs in one (its single
    line per outage covers politeness too), else one per process and URL."""
    worker = getattr(crawler, "chavder_worker", None)
    if worker is not None and isinstance(getattr(worker, "redis", None), Reachability):
        return worker.redis
    if url not in _REACHABILITY:
        _REACHABILITY[url] = Reachability(url, "sending requests (per-domain politeness is "
                                               "shared through Redis)")
    return _REACHABILITY[url]


def _wake(waiters: list[Deferred]) -> None:
    for waiter in waiters:
        _fire(waiter)


def _fire(waiter: Deferred) -> None:
    if not waiter.called:
        waiter.callback(None)

