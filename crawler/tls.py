"""TLS for crawls: verified by default, a source's own CA when it has one, clear failures.

Scrapy verifies nothing unless told; every monitored outlet is HTTPS, so Chavder turns
verification on (``DOWNLOAD_VERIFY_CERTIFICATES``) and trusts the system's store, or certifi's
bundle on a machine that has none. A source may add its own CA (``ca_bundle:``, e.g. an internal
mirror) or, as a last resort, switch verification off (``tls_verify: false``). Pooled connections
are keyed by that choice (``pool_key``), so a connection verified one way is never reused for a
request that needs another.
"""
from __future__ import annotations

import functools
import os
import ssl
from typing import Any

from OpenSSL import SSL
from scrapy.core.downloader.contextfactory import _ScrapyClientContextFactory
from scrapy.exceptions import IgnoreRequest
from service_identity import VerificationError
from twisted.internet import ssl as twisted_ssl

UNAVAILABLE = ("TLS is unavailable in this process: pyOpenSSL cannot allocate write+execute "
               "memory for its callbacks ({error}) — the service runs with "
               "MemoryDenyWriteExecute=yes (systemd) or PR_SET_MDWE; remove that restriction "
               "(deploy/systemd/chavder.service explains why it is not set)")


class TLSUnavailable(IgnoreRequest):
    """HTTPS cannot work in this process at all; retrying would fail the same way."""


@functools.lru_cache(maxsize=1)
def tls_unavailable() -> str | None:
    """Why this process cannot make TLS connections, or None when it can (checked once).

    Twisted sets pyOpenSSL callbacks on every TLS connection; under a W^X policy creating one
    raises ``MemoryError`` inside the reactor, and the download would hang until its timeout.
    """
    try:
        SSL.Context(SSL.TLS_METHOD).set_info_callback(lambda *args: None)
    except MemoryError as exc:
        return UNAVAILABLE.format(error=str(exc).split(". ")[0])
    return None


def _pem_certificates(path: str) -> list[twisted_ssl.Certificate]:
    text = open(path, encoding="ascii", errors="replace").read()
    end = "-----END CERTIFICATE-----"
    blocks = [part + end for part in text.split(end) if "-----BEGIN CERTIFICATE-----" in part]
    return [twisted_ssl.Certificate.loadPEM(block) for block in blocks]


@functools.lru_cache(maxsize=64)
def _bundle_trust(path: str) -> Any:
    return twisted_ssl.trustRootFromCertificates(_pem_certificates(path))


@functools.lru_cache(maxsize=1)
def default_trust() -> Any:
    """The system's CA store; certifi's bundle where the system has none (slim images)."""
    paths = ssl.get_default_verify_paths()
    if (paths.cafile and os.path.isfile(paths.cafile)) or (
            paths.capath and os.path.isdir(paths.capath) and os.listdir(paths.capath)):
        return twisted_ssl.platformTrust()
    import certifi
    return _bundle_trust(certifi.where())


class SourceTLSPolicy(_ScrapyClientContextFactory):
    """``DOWNLOADER_CLIENTCONTEXTFACTORY``: Scrapy's factory (ciphers, TLS versions from
    settings) with verification against :func:`default_trust`."""

    pool_key: Any = None
    trust: Any = None         # None: default_trust()

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:  # noqa: N802
        if not self._verify_certificates:
            return super().creatorForNetloc(hostname, port)  # Scrapy's non-verifying options
        return twisted_ssl.optionsForClientTLS(
            hostname=hostname.decode("ascii"), trustRoot=self.trust or default_trust(),
            extraCertificateOptions=self._get_cert_options_kwargs())


@functools.lru_cache(maxsize=256)
def _variant(base: SourceTLSPolicy, ca_bundle: str | None, verify: bool) -> SourceTLSPolicy:
    policy = object.__new__(type(base))
    policy.__dict__.update(base.__dict__)
    policy._verify_certificates = verify and base._verify_certificates
    policy.trust = _bundle_trust(ca_bundle) if (ca_bundle and verify) else None
    policy.pool_key = ("tls", ca_bundle, verify)
    return policy


def policy_for_source(base: Any, source: Any) -> Any:
    """The TLS policy for a request of ``source``: the crawl's own, or the source's variant."""
    ca_bundle = getattr(source, "ca_bundle", None)
    verify = getattr(source, "tls_verify", True)
    if not isinstance(base, SourceTLSPolicy) or (ca_bundle is None and verify):
        return base
    return _variant(base, ca_bundle, verify)


def tls_failure_reason(error: Any) -> str | None:
    """One readable line for a TLS-layer failure of a download, or None if it is not one."""
    if isinstance(error, VerificationError):
        return ("TLS certificate is not valid for this host name "
                f"({_first_line(error)}) — the outlet serves another site's certificate")
    if isinstance(error, SSL.Error):
        detail = "; ".join(str(part[2]) for part in (error.args[0] if error.args else [])
                           if isinstance(part, tuple) and len(part) == 3) or str(error)
        if "certificate verify failed" in detail:
            return ("TLS certificate verification failed (" + detail + ": expired, "
                    "self-signed or from an unknown CA) — if the outlet uses a private CA, "
                    "give the source 'ca_bundle: PATH'")
        return f"TLS handshake failed ({detail})"
    return None


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
