"""A throw-away certificate authority for HTTPS fixtures, made at test time.

Real outlets are HTTPS, so the fixture web must be too: a CA and a server certificate for
``127.0.0.1``/``localhost`` (and any names asked for) are generated with ``cryptography`` into a
folder, and :func:`serve_tls` wraps a running fixture server's socket in TLS. Crawls then run with
certificate verification on, trusting the CA through a source's ``ca_bundle:``.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class FixtureCA:
    folder: Path
    ca_pem: Path        # the CA certificate: what a source's ca_bundle points at
    cert_pem: Path      # the server certificate (leaf + nothing else)
    key_pem: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_pem, self.key_pem)
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, names: tuple[str, ...] = ("localhost",),
            addresses: tuple[str, ...] = ("127.0.0.1",), *, expired: bool = False) -> FixtureCA:
    """A CA and a server certificate it signed, for ``names`` and ``addresses``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name("Chavder test CA"))
               .issuer_name(_name("Chavder test CA")).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                            False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    valid_until = now - dt.timedelta(hours=1) if expired else now + dt.timedelta(days=30)
    alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a))
                                              for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(_name(names[0] if names else addresses[0]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(valid_until)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca = FixtureCA(folder, folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.ca_pem.write_bytes(ca_cert.public_bytes(pem))
    ca.cert_pem.write_bytes(cert.public_bytes(pem))
    ca.key_pem.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return ca


def serve_tls(server: Any, ca: FixtureCA) -> None:
    """Make a started ``socketserver`` answer HTTPS: each accepted connection is wrapped.

    The handshake runs in the connection's own handler thread (``do_handshake_on_connect``
    happens on first read), so one client failing verification never blocks the others.
    """
    context = ca.server_context()

    def get_request() -> tuple[Any, Any]:
        conn, addr = server.socket.accept()
        return context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr

    server.get_request = get_request   # what socketserver calls for each new connection
