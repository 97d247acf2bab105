"""The controller lease: one ``chavder run`` (controller) per frontier.

A controller holds ``P:controller`` — ``SET NX PX`` with a JSON record of who it is — and
renews it every third of ``CONTROLLER_LEASE_SECONDS`` with a compare-and-set (a Lua script:
only the holder may extend or drop it). A second controller is refused with one line naming
the holder, or waits (``--wait``) until the lease is free. A holder killed with ``kill -9``
on the same host is recognised at once (its pid is gone: :mod:`crawler.delivery.lease`), so a
restarted controller does not wait out the lease; a holder on another host is trusted until
its lease expires.

The lease keeps scheduling single; exactly-once delivery does not rest on it alone — the alert
and digest ledgers claim each row with their own compare-and-set (crawler/delivery/).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable

from crawler import defaults
from crawler.delivery.lease import owner_alive, process_owner
from crawler.scaleout.connection import outage_errors, shown

log = logging.getLogger("chavder.scaleout")

# KEYS lease; ARGV mine ttl_ms → 1 renewed, 0 not ours (gone or taken)
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1
end
return 0
"""
# KEYS lease; ARGV mine → 1 released
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""
# KEYS lease; ARGV old new ttl_ms → 1 taken over (the old holder is dead)
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1
end
return 0
"""


class LeaseRefused(Exception):
    """Another controller holds the frontier; the message is one line naming it."""


def holder_line(record: dict[str, Any]) -> str:
    """``pid 123 on host h since 2026-12-02 13:40:02 UTC``."""
    since = str(record.get("since", "?")).replace("T", " ").replace("+00:00", " UTC")
    return f"pid {record.get('pid', '?')} on host {record.get('host', '?')} since {since}"


class ControllerLease:
    """The lease on one frontier for this process."""

    def __init__(self, client: Any, url: str, prefix: str = defaults.FRONTIER_PREFIX, *,
                 seconds: float = defaults.CONTROLLER_LEASE_SECONDS):
        self.r, self.url = client, url
        self.key = f"{prefix}:controller"
        self.ttl_ms = int(seconds * 1000)
        self.record = json.dumps({
            "owner": process_owner(), "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._take_over = client.register_script(_TAKE_OVER)
        self.held = False

    @property
    def renew_every(self) -> float:
        return self.ttl_ms / 3000.0

    def holder(self) -> dict[str, Any] | None:
        raw = self.r.get(self.key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return {"owner": raw.decode(errors="replace") if isinstance(raw, bytes) else raw}

    def try_acquire(self) -> bool:
        """Take the lease if it is free, or held by a dead process on this host."""
        if self.r.set(self.key, self.record, nx=True, px=self.ttl_ms):
            self.held = True
            return True
        raw = self.r.get(self.key)
        record = self.holder() or {}
        if raw is not None and not owner_alive(record.get("owner")):
            if self._take_over(keys=[self.key], args=[raw, self.record, self.ttl_ms]):
                log.info("controller lease taken over from %s (that process is gone)",
                         holder_line(record))
                self.held = True
                return True
        return False

    def acquire(self, *, wait: bool = False, poll: float = 1.0,
                sleep: Callable[[float], None] = time.sleep) -> None:
        """Take the lease, or raise :class:`LeaseRefused` (``wait``: block until it is free,
        riding out a Redis outage too)."""
        said = False
        while True:
            try:
                if self.try_acquire():
                    return
                record = self.holder() or {}
            except outage_errors() as exc:
                if not wait:
                    raise LeaseRefused(f"cannot reach Redis at {shown(self.url)} ({exc}) — "
                                       "start Redis, or check redis_url in chavder.yaml") from None
                record = {"pid": "?", "host": "(Redis unreachable)"}
            if not wait:
                raise LeaseRefused(
                    f"another controller ({holder_line(record)}) already runs on the frontier "
                    f"{shown(self.url)} — stop it first, or start this one with --wait to "
                    "take over when it stops; more crawl capacity comes from `chavder worker`")
            if not said:
                log.info("waiting for the controller lease on %s, held by %s",
                         shown(self.url), holder_line(record))
                said = True
            sleep(poll)

    def renew(self) -> bool:
        """Extend the lease; if it expired meanwhile (a Redis outage) and nobody took it, take
        it again. False: another controller holds it now — this one must stop."""
        if self._renew(keys=[self.key], args=[self.record, self.ttl_ms]):
            return True
        if self.r.set(self.key, self.record, nx=True, px=self.ttl_ms):
            log.warning("controller lease had expired (Redis was away?); taken again")
            return True
        self.held = False
        return False

    def release(self) -> None:
        if self.held:
            self._release(keys=[self.key], args=[self.record])
            self.held = False
