"""The address policy for headless Chromium, enforced where connections are made: a small
forward proxy on 127.0.0.1 (asyncio, one per source's browser context) through which the
browser sends every request — documents, scripts, XHR, iframes, redirects, WebSockets.

Why a proxy and not Playwright's request routing: routing sees a request's URL, not where it
connects — Chromium resolves the name itself afterwards (a DNS answer can change in between),
and redirects are followed without a second look. Here, as in the plain fetcher
(crawler/download.py), the proxy resolves the name, judges every address with
:func:`crawler.addresses.is_private_ip`, and connects to an address that passed, never
re-resolving. A source's pages may reach private addresses only with ``allow_private: true``
and only on the hosts of its ``allowed_domains``.

Also bounded here: request heads (64 KiB) and the bytes one upstream connection may send back
(``max_body_bytes`` and room for headers; plain-HTTP requests are sent with ``Connection: close`` so that is one
response; an HTTPS tunnel carries all of one host's responses). TLS is end to end between
Chromium and the site (CONNECT): Chromium verifies certificates against the system's store.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any, Callable
from urllib.parse import urlsplit

from crawler.addresses import PrivateAddress, host_in_domains, pick_address
from crawler.urls import display_url

logger = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
_CHUNK = 64 * 1024
#: Header of the proxy's own refusal answers (the renderer tells them from a site's 403).
REFUSED_HEADER = "X-Chavder-Refused"


class AddressProxy:
    """A forward proxy that refuses what ``source``'s policy does not allow. ``on_refused``
    is called with (url, reason) for each refused request."""

    def __init__(self, source: str, *, allow_private: bool, allowed_domains: tuple[str, ...],
                 max_bytes: int, on_refused: Callable[[str, str], None] | None = None):
        self.source = source
        self.allow_private = allow_private
        self.allowed_domains = list(allowed_domains)
        self.max_bytes = max_bytes
        self.on_refused = on_refused
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> "AddressProxy":
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0,
                                                 limit=MAX_HEAD)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -------------------------------------------------------------- the policy
    async def choose(self, host: str, port: int) -> tuple[str | None, str | None]:
        """(address to connect to, None) or (None, why not)."""
        exempt = bool(self.allow_private and self.allowed_domains
                      and host_in_domains(host, self.allowed_domains))
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                return None, f"DNS lookup failed for {host}: {exc}"
            addresses = [ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos]
        if not addresses:
            return None, f"no address for {host}"
        try:
            return str(pick_address(host, addresses, exempt)), None
        except PrivateAddress as exc:
            return None, str(exc)

    # -------------------------------------------------------------- connections
    async def _client(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        try:
            await self._serve(head, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    async def _serve(self, head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await self._answer(writer, 400, "bad request line")
            return
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            port, url = int(port_text or 443), f"https://{target}/"
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                await self._answer(writer, 400, f"not a proxy request: {target[:100]}")
                return
            host, port, url = parts.hostname, parts.port or 80, target
        address, reason = await self.choose(host.strip("[]"), port)
        if address is None:
            logger.warning("source=%s url=%s reason=%s (a request of the rendered page)",
                           self.source, display_url(url), reason)
            if self.on_refused is not None:
                self.on_refused(url, str(reason))
            await self._answer(writer, 403, str(reason), refused=True)
            return
        up_reader, up_writer = await asyncio.open_connection(address, port, limit=_CHUNK)
        try:
            if method.upper() == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
            else:
                parts = urlsplit(target)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                kept = [ln for ln in lines[1:] if ln and not ln.lower().startswith(
                    ("proxy-", "connection:", "keep-alive:"))]
                up_writer.write(("\r\n".join([f"{method} {path} {version}", *kept,
                                              "Connection: close"]) + "\r\n\r\n")
                                .encode("latin-1"))
            await asyncio.gather(self._pipe(reader, up_writer, None),
                                 self._pipe(up_reader, writer, url))
        finally:
            up_writer.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    url: str | None) -> None:
        """Copy until EOF; the upstream direction (``url`` given) at most ``max_bytes``."""
        sent = 0
        try:
            while chunk := await src.read(_CHUNK):
                sent += len(chunk)
                if url is not None and sent > self.max_bytes:
                    logger.warning("source=%s url=%s reason=response over max_body_bytes "
                                   "(%s bytes) — not read further", self.source,
                                   display_url(url), f"{self.max_bytes:,}")
                    if self.on_refused is not None:
                        self.on_refused(url, "over max_body_bytes")
                    dst.transport.abort()   # a reset: the browser must not wait for the rest
                    break
                dst.write(chunk)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                dst.close()
            except Exception:  # noqa: BLE001 - already closed
                pass

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, reason: str, *,
                      refused: bool = False) -> None:
        body = reason.encode("utf-8")
        extra = f"{REFUSED_HEADER}: 1\r\n" if refused else ""
        writer.write(f"HTTP/1.1 {status} Refused\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     f"{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                     .encode("latin-1") + body)
        await writer.drain()


def proxy_settings(proxy: AddressProxy) -> dict[str, Any]:
    """Playwright's ``proxy=`` for a browser context using ``proxy``. Playwright adds
    ``<-loopback>`` to Chromium's bypass rules, so loopback goes through the proxy too."""
    return {"server": proxy.url}
