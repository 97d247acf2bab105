"""Per-domain politeness shared by every worker process: a concurrency semaphore and a delay
gate kept in Redis (no Scrapy here; ``crawler.scaleout.politeness`` is the Scrapy adapter).

Per domain, three keys:

* ``<prefix>:polite:<domain>:leases`` — a sorted set of lease tokens scored by the time (Redis's
  own clock, milliseconds) the lease lapses. A request may go out while fewer than ``limit``
  leases are live. Holders renew their leases every few seconds, so a worker killed with
  ``kill -9`` frees its slots by itself ``lease`` seconds later; nothing has to clean up after it.
* ``<prefix>:polite:<domain>:next`` — the earliest time the next request may start (the last
  start + the delay), expiring with it.
* ``<prefix>:polite:<domain>:askers`` — the workers refused a slot in the last half second:
  while some wait, the others may hold at most their fair share.

Acquiring is one Lua script (atomic: drop lapsed leases, count, check the delay, add the lease,
push the next-allowed time), releasing one ``ZREM``, renewing all of a worker's leases one
script. Times come from Redis's ``TIME``, so workers on machines with skewed clocks agree.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable

#: acquire: KEYS leases, next, askers; ARGV token, limit, delay_ms, lease_ms, asker id, leases
#: that asker holds already, asker_ms, then leases it gives back first (a release and the next
#: request's acquire in one round trip). Returns {0, 0} (acquired), {1, ms} (no slot for this
#: asker: all taken; ask again within ms), {2, ms} (a slot, but the domain's delay has ms to
#: run) or {3, ms} (this asker holds its fair share while others ask too: only its own release,
#: or ms passing, changes that).
#: Fair share: while other workers wait for the domain (they were refused in the last
#: asker_ms), a worker holds at most ceil(limit / (waiting others + 1)), so the worker that frees
#: a slot (and learns it first) cannot keep every slot to itself. Uncontended, an acquire writes
#: only the lease.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, asker_ms = tonumber(ARGV[2]), tonumber(ARGV[7])
for i = 8, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local function waits(code, ms)
  redis.call('ZADD', KEYS[3], now + asker_ms, ARGV[5])
  redis.call('PEXPIRE', KEYS[3], asker_ms)
  return {code, ms}
end
local others = redis.call('ZCOUNT', KEYS[3], now, '+inf')
if others > 0 then
  local mine = redis.call('ZSCORE', KEYS[3], ARGV[5])
  if mine and tonumber(mine) >= now then others = others - 1 end
end
if others > 0 and tonumber(ARGV[6]) >= math.ceil(limit / (others + 1)) then
  return waits(3, asker_ms)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return waits(1, math.max(1, tonumber(soonest[2]) - now))
end
local delay = tonumber(ARGV[3])
if delay > 0 then
  local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
  if now < nxt then return {2, nxt - now} end
end
local lease = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay) end
return {0, 0}
"""

#: renew: KEYS the leases sets, ARGV lease_ms then one token per key (same order). Tokens that
#: have lapsed meanwhile are not brought back (ZADD XX): their slot may be someone else's now.
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local kept = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  kept = kept + redis.call('ZADD', key, 'XX', 'CH', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return kept
"""

ACQUIRED, FULL, DELAYED, SHARE = 0, 1, 2, 3


@dataclass(frozen=True)
class Answer:
    """What the gate said: ``acquired``, else how long to wait before asking again."""

    status: int
    wait: float = 0.0        # seconds

    @property
    def acquired(self) -> bool:
        return self.status == ACQUIRED


class DomainGate:
    """The Redis side of cross-worker politeness for one worker (one client connection).

    Blocking redis-py calls: on loopback or a LAN they take 0.1–1 ms, less than handing each
    one to a thread would cost; callers catch ``connection.outage_errors()``.
    """

    def __init__(self, client: Any, prefix: str = "chavder", lease_seconds: float = 10.0,
                 asker_seconds: float = 0.5):
        self.client = client
        self.prefix = prefix
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.asker_ms = max(1, int(asker_seconds * 1000))
        self.asker = uuid.uuid4().hex           # this worker, for the fair share
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)

    @classmethod
    def from_url(cls, url: str, **kw: Any) -> "DomainGate":
        from crawler.scaleout.connection import connect
        return cls(connect(url), **kw)

    def leases_key(self, domain: str) -> str:
        return f"{self.prefix}:polite:{domain}:leases"

    def next_key(self, domain: str) -> str:
        return f"{self.prefix}:polite:{domain}:next"

    def askers_key(self, domain: str) -> str:
        return f"{self.prefix}:polite:{domain}:askers"

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex

    def try_acquire(self, domain: str, token: str, limit: int, delay: float,
                    held: int = 0, returning: Iterable[str] = ()) -> Answer:
        """One attempt: take a slot on ``domain`` for ``token`` if one is free, ``held`` (this
        worker's leases there) is under its fair share and the domain's delay has passed
        (``delay`` seconds are then set before the next start). ``returning``: this worker's
        leases on ``domain`` to give back first."""
        status, wait_ms = self._acquire(
            keys=[self.leases_key(domain), self.next_key(domain), self.askers_key(domain)],
            args=[token, max(1, limit), max(0, int(delay * 1000)), self.lease_ms, self.asker,
                  max(0, held), self.asker_ms, *returning])
        return Answer(int(status), int(wait_ms) / 1000.0)

    def release(self, domain: str, *tokens: str) -> None:
        if tokens:
            self.client.zrem(self.leases_key(domain), *tokens)

    def renew(self, held: Iterable[tuple[str, str]]) -> int:
        """Push back the lapse time of every ``(domain, token)`` still live; returns how many."""
        pairs = list(held)
        if not pairs:
            return 0
        return int(self._renew(keys=[self.leases_key(d) for d, _ in pairs],
                               args=[self.lease_ms, *(t for _, t in pairs)]))

    def in_flight(self, domain: str) -> int:
        """Live leases on ``domain`` across all workers (for tests and ``doctor``-style checks)."""
        seconds, micros = self.client.time()
        return int(self.client.zcount(self.leases_key(domain), seconds * 1000 + micros // 1000,
                                      "+inf"))
