"""The Redis connection of the frontier: the client, and the one-line log of an outage and of
its end (no crash loop, no line per retry). The ``redis_url`` check is
:mod:`crawler.redisurl`."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

log = logging.getLogger("chavder.scaleout")

T = TypeVar("T")


def shown(url: str) -> str:
    """The URL without its password, for logs and messages."""
    from crawler.redact import redact_url
    return redact_url(url)


def connect(url: str) -> Any:
    """A redis-py client with short timeouts: an outage is noticed in seconds, and a call never
    holds the crawl's reactor long."""
    try:
        import redis
    except ImportError:  # pragma: no cover - the extra is missing
        raise SystemExit("redis_url is set but the Redis client is not installed: "
                         "pip install 'chavder[scale]'") from None
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3,
                                health_check_interval=10)


def outage_errors() -> tuple[type[BaseException], ...]:
    """What a call raises while Redis is away (refused, reset, timed out, still loading)."""
    import redis
    return (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


class Reachability:
    """Whether Redis answered the last call; logs one line when it stops and one when it is
    back, with how long it was away. A blip — a call that fails and the next one, less than
    ``grace`` seconds later, that succeeds (a connection dropped while Redis shuts down, say)
    — is logged at debug level only, so an outage is one line each way, not a flapping pair."""

    def __init__(self, url: str, what: str, clock: Callable[[], float] = time.monotonic,
                 grace: float = 0.5):
        self.url, self.what, self.clock, self.grace = url, what, clock, grace
        self.down_since: float | None = None
        self._said = False

    @property
    def up(self) -> bool:
        return self.down_since is None

    def failed(self, exc: BaseException) -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            log.debug("Redis at %s: %s (%s)", shown(self.url), _short(exc), self.what)
        if not self._said and (now - self.down_since >= self.grace or self.grace <= 0):
            self._said = True
            log.warning("Redis at %s is unreachable (%s); %s waits and resumes when it "
                        "answers", shown(self.url), _short(exc), self.what)

    def ok(self) -> None:
        if self.down_since is not None:
            if self._said:
                log.warning("Redis at %s answers again after %.1f s; %s resumes",
                            shown(self.url), self.clock() - self.down_since, self.what)
            self.down_since = None
            self._said = False

    def call(self, fn: Callable[[], T]) -> T | None:
        """``fn()``, or None (logged once per outage) while Redis is away."""
        try:
            result = fn()
        except outage_errors() as exc:
            self.failed(exc)
            return None
        self.ok()
        return result


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]
