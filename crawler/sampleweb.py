"""A small static multi-site web server on 127.0.0.1: what ``chavder demo`` serves its sample
outlets with, so a fresh user sees the whole pipeline run with no network.

Each sub-directory of the web root is one site with its own port. Conventions:

* ``http://<site>.fixture`` anywhere in a served file becomes that site's real base URL
  (``.gz`` files are substituted inside the compressed text);
* ``/a/`` serves ``a/index.html`` (or ``a/index.xml``); percent-encoded UTF-8 paths are decoded;
* ``<site>/_routes.yaml`` may give a path its own ``content_type`` (a legacy outlet serving
  windows-1256 pages without a charset) and extra ``headers``;
* strong ETags and Last-Modified with 304 answers, as a real site's static files have.

The test suite's fixture web (``testsupport.fixtureweb``, not shipped) extends this server with
fault injection (statuses, redirects, delays, huge bodies, header checks), run-time publishing
and a request log.
"""
from __future__ import annotations

import hashlib
import mimetypes
import ssl
import sys
import threading
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
    ".gz": "application/gzip", ".pdf": "application/pdf", ".jpg": "image/jpeg",
    ".png": "image/png", ".txt": "text/plain; charset=utf-8", ".json": "application/json",
}
NOT_FOUND = b"<html><body><h1>404 Not Found</h1></body></html>"


@dataclass
class Resource:
    """One servable body (placeholders already substituted) with its validators."""

    body: bytes
    content_type: str
    mtime: float

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class Reply:
    """What to answer one request with; ``body_allowed=False`` for a 304."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    body_allowed: bool = True


@dataclass
class Request:
    """One request as the server sees it: decoded path, path with query, headers."""

    method: str
    path: str
    full: str
    headers: Message = field(repr=False)


class Site:
    """One site directory, its ``_routes.yaml`` and (once started) its server and base URL."""

    def __init__(self, name: str, root: Path):
        self.name = name
        self.root = root
        self.routes: dict[str, dict[str, Any]] = {}
        routes_file = root / "_routes.yaml"
        if routes_file.exists():
            self.routes = yaml.safe_load(routes_file.read_text(encoding="utf-8")) or {}
        self.server: ThreadingHTTPServer | None = None
        self.base = ""

    def route(self, request: Request) -> dict[str, Any]:
        """The route for a request: its path with query first, then the bare path."""
        return dict(self.routes.get(request.full) or self.routes.get(request.path) or {})


class SampleWeb:
    """Serve every site directory under ``root`` on its own loopback port."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1",
                 ports: dict[str, int] | None = None, extra_sites: list[Path] | None = None):
        self.root = Path(root)
        self.host = host
        self.sites: dict[str, Site] = {
            p.name: Site(p.name, p) for p in sorted(self.root.iterdir())
            if p.is_dir() and not p.name.startswith(("_", "."))
        }
        # site directories from elsewhere (the demo's wire outlet, written in its folder)
        self.sites.update({p.name: Site(p.name, p) for p in extra_sites or ()})
        self._ports = ports or {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._replacements: list[tuple[bytes, bytes]] = []
        self._files: dict[Path, Resource] = {}  # substituted file contents by path and mtime

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SampleWeb":
        for site in self.sites.values():
            server = _QuietServer((self.host, self._ports.get(site.name, 0)),
                                  _make_handler(self, site))
            server.daemon_threads = True
            site.server = server
            site.base = f"{self.listen(server)}://{self.host}:{server.server_address[1]}"
            thread = threading.Thread(target=server.serve_forever, name=f"sampleweb-{site.name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        self._replacements = [(f"http://{s.name}.fixture".encode(), s.base.encode())
                              for s in self.sites.values()]
        return self

    def stop(self) -> None:
        for site in self.sites.values():
            if site.server:
                site.server.shutdown()
                site.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "SampleWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def listen(self, server: ThreadingHTTPServer) -> str:
        """Prepare a site's bound server before it serves; return its URL scheme."""
        return "http"

    # ------------------------------------------------------------------ URLs
    def base(self, site: str) -> str:
        return self.sites[site].base

    def substitute(self, data: bytes | str) -> Any:
        """Replace ``http://<site>.fixture`` placeholders with real base URLs."""
        as_text = isinstance(data, str)
        raw = data.encode("utf-8") if as_text else data
        for placeholder, real in self._replacements:
            raw = raw.replace(placeholder, real)
        return raw.decode("utf-8") if as_text else raw

    def write_sources(self, target: str | Path, template: str | Path | None = None) -> Path:
        """Write a copy of the web's ``sources.yaml`` with real URLs; return its path."""
        template = Path(template or self.root / "sources.yaml")
        target = Path(target)
        target.write_text(self.substitute(template.read_text(encoding="utf-8")), encoding="utf-8")
        return target

    # ------------------------------------------------------------------ answering
    def respond(self, site: Site, request: Request) -> Reply:
        """The answer to one request (a subclass adds behaviour before the file lookup)."""
        return self.file_reply(self.lookup(site, request.path), site.route(request), request)

    def served(self, site: Site, request: Request, status: int) -> None:
        """Called just before each answer is written (a hook for request logs)."""

    def lookup(self, site: Site, path: str) -> Resource | None:
        rel = path.lstrip("/")
        candidates = [rel + "index.html", rel + "index.xml"] if path.endswith("/") else [rel]
        for candidate in candidates:
            file = (site.root / candidate).resolve()
            if site.root.resolve() not in file.parents or not file.is_file():
                continue
            mtime = file.stat().st_mtime
            cached = self._files.get(file)
            if cached is None or cached.mtime != mtime:
                raw = file.read_bytes()
                if file.suffix == ".gz":  # placeholders live inside the compressed text
                    import gzip
                    raw = gzip.compress(self.substitute(gzip.decompress(raw)), mtime=0)
                else:
                    raw = self.substitute(raw)
                cached = Resource(raw, guess_type(file.name), mtime)
                self._files[file] = cached
            return cached
        return None

    def file_reply(self, resource: Resource | None, route: dict[str, Any], request: Request,
                   status: int | None = None) -> Reply:
        """A found file (with validators, 304 when the client has it) or a 404 page."""
        if resource is None:
            return Reply(status or 404, {"Content-Type": TYPES[".html"]}, NOT_FOUND)
        status = status or 200
        last_modified = formatdate(int(resource.mtime), usegmt=True)
        headers = {"Content-Type": route.get("content_type", resource.content_type),
                   "ETag": resource.etag, "Last-Modified": last_modified,
                   **{str(k): self.substitute(str(v)) for k, v in
                      (route.get("headers") or {}).items()}}
        if status == 200 and _not_modified(request.headers, resource.etag, resource.mtime):
            return Reply(304, {"ETag": resource.etag, "Last-Modified": last_modified}, b"",
                         body_allowed=False)
        return Reply(status, headers, resource.body)


def default_root() -> Path:
    """The bundled sample outlets (``tests/fixtures/web`` in a source checkout)."""
    return Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "web"


def guess_type(name: str) -> str:
    if name.endswith("/"):
        return TYPES[".html"]
    suffix = Path(name).suffix.lower()
    return TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _not_modified(headers: Message, etag: str, mtime: float) -> bool:
    inm = headers.get("If-None-Match")
    if inm is not None:
        return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
    ims = headers.get("If-Modified-Since")
    if ims:
        try:
            return int(mtime) <= parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
    return False


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (size limits, timeouts, a refused certificate) are expected,
    not errors."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


def _make_handler(web: SampleWeb, site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ChavderFixture/1.0"
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path, encoding="utf-8", errors="replace")
            request = Request(self.command, path, path + ("?" + parts.query if parts.query else ""),
                              self.headers)
            reply = web.respond(site, request)
            web.served(site, request, reply.status)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if not head and reply.body_allowed and reply.body:
                try:
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

    return Handler
