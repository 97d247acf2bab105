"""The doctor's requests: one at a time, politely (a pause between them, a size cap, at most
:data:`MAX_REQUESTS`), under the crawl's address rule — private and loopback addresses only for
a source with ``allow_private: true`` (or ``--allow-private`` for a URL) — and robots.txt as
read so far.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from crawler.addresses import host_in_domains, is_private_host, is_private_ip, parse_ip
from crawler.config import Settings, SourceConfig

MAX_REQUESTS = 16
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


class Fetcher:
    """One request at a time, politely, under the crawl's address rule."""

    def __init__(self, settings: Settings, source: SourceConfig | None, allow_private: bool,
                 delay: float = 1.0, timeout: float | None = None):
        self.source = source
        self.allow_private = allow_private
        self.delay = delay
        self.timeout = timeout or min(settings.download_timeout, 30.0)
        agent = source.user_agent if source and source.user_agent else settings.user_agent
        self.headers = {"User-Agent": agent.replace("{contact_url}", settings.contact_url),
                        "Accept-Encoding": "gzip, deflate",
                        **(source.headers if source else {})}
        self.requests = 0
        self._last = 0.0
        self.robots: dict[str, RobotFileParser] = {}    # netloc → rules read
        self.last_body = b""

    def disallowed(self, url: str) -> bool:
        rules = self.robots.get(urlsplit(url).netloc)
        return rules is not None and not rules.can_fetch(self.headers["User-Agent"], url)

    def _refusal(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        if self.source is not None:
            allowed = self.source.allow_private and host_in_domains(
                host, self.source.allowed_domains)
        else:
            allowed = self.allow_private
        if allowed:
            return None
        if is_private_host(host):
            return f"refused: {host} is a private address (allow_private: true or " \
                   "--allow-private for your own network)"
        try:
            infos = socket.getaddrinfo(host, urlsplit(url).port or 80, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            return f"DNS lookup failed ({exc.strerror or exc})"
        for info in infos:
            ip = parse_ip(str(info[4][0]))
            if ip is not None and is_private_ip(ip):
                return f"refused: {host} resolves to private address {ip}"
        return None

    def get(self, url: str) -> Fetched:
        import requests
        if self.requests >= MAX_REQUESTS:
            return Fetched(url, 0, {}, b"", 0.0, error=f"not fetched: the doctor stops at "
                                                      f"{MAX_REQUESTS} requests")
        for _hop in range(6):
            refusal = self._refusal(url)
            if refusal:
                return Fetched(url, 0, {}, b"", 0.0, error=refusal)
            wait = self._last + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.requests += 1
            started = time.monotonic()
            try:
                with requests.get(url, headers=self.headers, timeout=self.timeout, stream=True,
                                  allow_redirects=False) as resp:
                    chunks, size = [], 0
                    for chunk in resp.iter_content(65536):
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > MAX_BYTES:
                            break
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    status = resp.status_code
            except requests.RequestException as exc:
                self._last = time.monotonic()
                return Fetched(url, 0, {}, b"", 0.0, error=" ".join(str(exc).split())[:200])
            self._last = time.monotonic()
            if status in (301, 302, 303, 307, 308) and headers.get("location"):
                url = urljoin(url, headers["location"])
                continue
            self.last_body = b"".join(chunks)[:MAX_BYTES]
            return Fetched(url, status, headers, self.last_body, self._last - started)
        return Fetched(url, 0, {}, b"", 0.0, error="too many redirects")
