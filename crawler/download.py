"""HTTP(S) download handler that enforces the address policy where connections are made.

Checking URL text cannot stop a host *name* that resolves to an internal address (a DNS entry
pointing at 127.0.0.1, 10.x or the cloud metadata service), nor DNS rebinding between a check
and the connect. So every connection — index pages, articles, robots.txt, redirects, sitemap
children alike — is made here as: resolve the name, judge every address with
:func:`crawler.addresses.is_private_ip`, connect to an address that passed (never re-resolving
the name). A source may reach private addresses only with ``allow_private: true`` and only on
the hosts of its ``allowed_domains``; anything else fails with :class:`RefusedAddress` before a
single byte is sent. Pooled connections are keyed by that permission too, so a connection
opened for a source that may reach a private host is never reused for one that may not.

TLS is verified (``DOWNLOAD_VERIFY_CERTIFICATES``, on in ``crawler/settings.py``) against the
system's trust store, or a source's own ``ca_bundle:`` (an internal CA), and switched off only for
a source with ``tls_verify: false``; handshake failures are reported as what they are. When the
process cannot use TLS at all — pyOpenSSL needs writable+executable memory for its callbacks, so
``MemoryDenyWriteExecute`` or ``PR_SET_MDWE`` forbid it — every https request fails at once with
that reason instead of hanging until the download timeout.

Also here: a bound on response headers (Twisted has only a per-line limit, and reports it as a
bare ``ConnectionDone``), reported as one clear reason and not retried.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import (HTTP11DownloadHandler, _ScrapyAgent,
                                                    _LenientHTTP11ClientFactory,
                                                    _LenientHTTP11ClientProtocol,
                                                    _LenientHTTPClientParser)
from scrapy.exceptions import DownloadFailedError, IgnoreRequest, ResponseDataLossError
from scrapy.http import Response
from scrapy.utils._download_handlers import (get_dataloss_msg, normalize_bind_address,
                                             wrap_twisted_exceptions)
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.error import ConnectionDone, ConnectionLost, DNSLookupError
from twisted.internet.interfaces import (IHostResolution, IResolutionReceiver,
                                         IStreamClientEndpoint)
from twisted.web.client import Agent, ResponseFailed, ResponseNeverReceived, URI
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer, provider

from crawler.addresses import PrivateAddress, host_in_domains, pick_address
from crawler.browser import PageRefused
from crawler.rendering import RENDER_META, BrowserFetcher
from crawler.tls import (SourceTLSPolicy, TLSUnavailable, policy_for_source, tls_failure_reason,
                         tls_unavailable)

logger = logging.getLogger("scrapy.core.downloader.handlers.http11")

MAX_HEADER_LINE = 64 * 1024          # one header line (Twisted's default is 16 KiB)
MAX_HEADER_BYTES = 256 * 1024        # all response headers together (as Chrome)


class RefusedAddress(IgnoreRequest):
    """A connection to a private/loopback/link-local/… address the source does not allow."""


class ResponseHeadersTooLarge(Exception):
    """The server sent more header bytes than any sane response has; not worth a retry."""


def _source_of(spider: Any, request: Request) -> Any:
    sources = getattr(spider, "sources_by_id", {}) or {}
    return sources.get(request.meta.get("source"))


def may_reach_private(spider: Any, request: Request) -> bool:
    """True when the request's source allows private addresses for this host."""
    source = _source_of(spider, request)
    host = urlparse_cached(request).hostname or ""
    return bool(source is not None and source.allow_private and source.allowed_domains
                and host_in_domains(host, source.allowed_domains))


# --------------------------------------------------------------------------- resolution

@provider(IResolutionReceiver)
class _Collect:
    """Collects the addresses a name resolves to; ``done`` fires with their host strings."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.done: defer.Deferred[list[str]] = defer.Deferred()

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        self.hosts.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        if not self.done.called:   # the download may have been cancelled (timeout) meanwhile
            self.done.callback(self.hosts)


@implementer(IStreamClientEndpoint)
class CheckedTCPEndpoint:
    """Resolve ``host``, refuse private addresses unless allowed, connect to a checked one."""

    def __init__(self, reactor: Any, host: str, port: int, *, timeout: float | None,
                 bind_address: Any, allow_private: bool):
        self._reactor, self._host, self._port = reactor, host, port
        self._timeout, self._bind, self._allow_private = timeout, bind_address, allow_private

    def connect(self, factory: Any) -> defer.Deferred:
        d = self._resolve()
        d.addCallback(self._choose)
        d.addCallback(lambda ip: self._endpoint(ip).connect(factory))
        return d

    def _resolve(self) -> defer.Deferred[list[str]]:
        try:
            return defer.succeed([str(ipaddress.ip_address(self._host))])
        except ValueError:
            pass
        receiver = _Collect()
        self._reactor.nameResolver.resolveHostName(receiver, self._host, self._port)
        return receiver.done

    def _choose(self, hosts: list[str]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        addresses = []
        for text in hosts:
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        if not addresses:
            raise DNSLookupError(f"no address for {self._host}")
        try:
            return pick_address(self._host, addresses, self._allow_private)
        except PrivateAddress as exc:
            raise RefusedAddress(str(exc)) from None

    def _endpoint(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
        kind = TCP6ClientEndpoint if ip.version == 6 else TCP4ClientEndpoint
        kwargs: dict[str, Any] = {"bindAddress": self._bind}
        if self._timeout is not None:
            kwargs["timeout"] = self._timeout
        return kind(self._reactor, str(ip), self._port, **kwargs)


@implementer(IAgentEndpointFactory)
class CheckedEndpointFactory:
    """Twisted's standard endpoints (TCP for http, TLS over TCP for https), address-checked."""

    def __init__(self, reactor: Any, tls_policy: Any, timeout: float | None, bind_address: Any,
                 allow_private: bool):
        self._reactor, self._tls_policy = reactor, tls_policy
        self._timeout, self._bind_address = timeout, bind_address
        self.allow_private = allow_private

    def endpointForURI(self, uri: URI) -> Any:  # noqa: N802
        host = uri.host.decode("ascii")
        endpoint = CheckedTCPEndpoint(self._reactor, host, uri.port, timeout=self._timeout,
                                      bind_address=self._bind_address,
                                      allow_private=self.allow_private)
        if uri.scheme == b"https":
            reason = tls_unavailable()
            if reason:
                return _FailingEndpoint(TLSUnavailable(reason))
            return wrapClientTLS(self._tls_policy.creatorForNetloc(uri.host, uri.port),
                                 endpoint)
        return endpoint


@implementer(IStreamClientEndpoint)
class _FailingEndpoint:
    """An endpoint that fails at once: for requests that cannot work in this process."""

    def __init__(self, error: Exception):
        self._error = error

    def connect(self, factory: Any) -> defer.Deferred:
        return defer.fail(self._error)


class _CheckedAgent(Agent):
    def _requestWithEndpoint(self, key: Any, endpoint: Any, *args: Any, **kwargs: Any) -> Any:
        factory = self._endpointFactory
        key = tuple(key) + (factory.allow_private, repr(factory._bind_address),
                            getattr(factory._tls_policy, "pool_key", None))
        return super()._requestWithEndpoint(key, endpoint, *args, **kwargs)


class _CheckedScrapyAgent(_ScrapyAgent):
    def __init__(self, *, allow_private: bool, tls_policy: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self._allow_private = allow_private
        self._tls_policy = tls_policy

    def _get_agent(self, request: Request, timeout: float) -> Agent:
        if request.meta.get("proxy"):
            # The operator's proxy resolves and connects; its own ACL is the policy there.
            return super()._get_agent(request, timeout)
        from twisted.internet import reactor
        bind = normalize_bind_address(request.meta.get("bindaddress") or self._bindAddress)
        factory = CheckedEndpointFactory(reactor, self._tls_policy, timeout, bind,
                                         self._allow_private)
        return _CheckedAgent.usingEndpointFactory(reactor, factory, pool=self._pool)


# --------------------------------------------------------------------------- header bounds

class _BoundedHTTPClientParser(_LenientHTTPClientParser):
    """Scrapy's lenient parser with a budget for the whole header block."""

    MAX_LENGTH = MAX_HEADER_LINE

    def lineReceived(self, line: bytes) -> None:  # noqa: N802
        self._header_bytes = getattr(self, "_header_bytes", 0) + len(line) + 1
        if self._header_bytes > MAX_HEADER_BYTES:
            raise ResponseHeadersTooLarge(f"response headers too large (over "
                                          f"{MAX_HEADER_BYTES // 1024} KiB)")
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:  # noqa: N802
        raise ResponseHeadersTooLarge(f"response headers too large (a header line over "
                                      f"{MAX_HEADER_LINE // 1024} KiB)")


class _BoundedHTTP11ClientProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: Any) -> defer.Deferred:
        d = super().request(request)
        self._parser.__class__ = _BoundedHTTPClientParser   # same trick as Scrapy's
        return d


class _BoundedHTTP11ClientFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: Any) -> _BoundedHTTP11ClientProtocol:  # noqa: N802
        return _BoundedHTTP11ClientProtocol(self._quiescentCallback)


def _clearer_failure(exc: DownloadFailedError) -> Exception:
    """Twisted's ``ResponseFailed([<Failure …ConnectionDone…>])`` as one readable reason."""
    cause = exc.__cause__
    reasons = (getattr(cause, "reasons", None)
               if isinstance(cause, (ResponseFailed, ResponseNeverReceived)) else None)
    if not reasons:
        return exc
    for reason in reasons:
        if reason.check(ResponseHeadersTooLarge):
            return ResponseHeadersTooLarge(f"{reason.value} — answer refused, not retried")
    for reason in reasons:
        tls = tls_failure_reason(reason.value)
        if tls:
            return DownloadFailedError(tls)
    if all(reason.check(ConnectionDone, ConnectionLost) for reason in reasons):
        return DownloadFailedError("connection closed by the server before the response "
                                   "headers were complete")
    return exc


class CheckedHTTPDownloadHandler(HTTP11DownloadHandler):
    """``DOWNLOAD_HANDLERS`` for http/https: Scrapy's HTTP/1.1 handler with connect-time
    address checks and bounded response headers."""

    def __init__(self, crawler: Any):
        super().__init__(crawler)
        self._pool._factory = _BoundedHTTP11ClientFactory
        self._contextFactory = SourceTLSPolicy.from_crawler(crawler)
        self._browser = BrowserFetcher(crawler)

    async def close(self) -> None:
        await super().close()
        await self._browser.close()

    async def download_request(self, request: Request) -> Response:
        if RENDER_META in request.meta:   # render: browser (crawler/rendering.py)
            source = _source_of(self._crawler.spider, request)
            if source is not None:
                try:
                    return await self._browser.fetch(request, source)
                except PageRefused as exc:
                    raise RefusedAddress(str(exc)) from None
        agent = _CheckedScrapyAgent(
            allow_private=may_reach_private(self._crawler.spider, request),
            tls_policy=policy_for_source(self._contextFactory,
                                         _source_of(self._crawler.spider, request)),
            contextFactory=self._contextFactory, bindAddress=self._bind_address,
            pool=self._pool, maxsize=self._default_maxsize, warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging)
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
        except RefusedAddress as exc:
            if request.meta.get("redirect_urls"):   # the line names the link; say where it went
                raise RefusedAddress(f"{exc} (redirect to {request.url})") from None
            raise
        except DownloadFailedError as exc:
            clearer = _clearer_failure(exc)
            if clearer is exc:
                raise
            raise clearer from exc
