"""The process-wide cache of parsed robots.txt, per host, with a time-to-live and a size bound.

The service starts a new Scrapy crawler every poll and Scrapy keeps parsed robots.txt per
crawler; this cache, owned by the application (``Chavder.robots``) and read by the robots
middleware (``crawler/robots.py``), keeps an unchanged source at one request per cycle.
Framework-free: it holds whatever parser object it is given.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from crawler import defaults


class RobotsCache:
    """Parsed robots.txt per netloc with a time-to-live; shared by every crawler of a process.

    At most ``max_hosts`` entries and ``max_bytes`` of robots.txt text behind them."""

    def __init__(self, ttl_seconds: float = defaults.ROBOTS_TTL_SECONDS, max_hosts: int = 512,
                 max_bytes: int = 4 * 1024 * 1024):
        self.ttl, self.max_hosts, self.max_bytes = ttl_seconds, max_hosts, max_bytes
        self._entries: OrderedDict[str, tuple[Any, float, int]] = OrderedDict()
        self._bytes = 0

    def get(self, netloc: str) -> Any:
        entry = self._entries.get(netloc)
        if entry is None:
            return None
        if time.monotonic() - entry[1] > self.ttl:
            self._drop(netloc)
            return None
        self._entries.move_to_end(netloc)
        return entry[0]

    def put(self, netloc: str, parser: Any, size: int = 0) -> None:
        if netloc in self._entries:
            self._drop(netloc)
        self._entries[netloc] = (parser, time.monotonic(), size)
        self._bytes += size
        while self._entries and (len(self._entries) > self.max_hosts
                                 or self._bytes > self.max_bytes):
            self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def _drop(self, netloc: str) -> None:
        self._bytes -= self._entries.pop(netloc)[2]
