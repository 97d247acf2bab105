"""A small multi-site web server for fixture outlets on 127.0.0.1.

Used by the test suite, ``chavder demo`` and the benchmarks so the whole pipeline can run with no
network. Each sub-directory of the web root is one site with its own port. Conventions:

* ``http://<site>.fixture`` anywhere in a served file becomes that site's real base URL;
* ``/a/`` serves ``a/index.html`` (or ``a/index.xml``); percent-encoded UTF-8 paths are decoded;
* ``<site>/_routes.yaml`` overrides exact paths (``/api/list?page=2`` matches that query
  first, then the bare path): ``status``, ``content_type``, ``redirect``, ``sleep``,
  ``headers``, ``generate_bytes``, ``file``, and ``require_headers`` (request headers that
  must contain the given text, else ``unless_status`` — 406 — like a site refusing plain
  clients);
* strong ETags and Last-Modified with 304 answers, so conditional GET can be tested;
* ``publish()`` / ``unpublish()`` change content at run time (new or edited articles mid-run).

Every request is logged in ``requests`` (site, method, path, status) for assertions, and its
headers in ``request_headers`` (site, path with query, headers).
"""
from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
    ".gz": "application/gzip", ".pdf": "application/pdf", ".jpg": "image/jpeg",
    ".png": "image/png", ".txt": "text/plain; charset=utf-8", ".json": "application/json",
}


@dataclass
class _Resource:
    body: bytes          # placeholders already substituted
    content_type: str
    mtime: float

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class _Site:
    def __init__(self, name: str, root: Path):
        self.name = name
        self.root = root
        self.routes: dict[str, dict[str, Any]] = {}
        routes_file = root / "_routes.yaml"
        if routes_file.exists():
            self.routes = yaml.safe_load(routes_file.read_text(encoding="utf-8")) or {}
        self.overlay: dict[str, _Resource | None] = {}
        self.server: ThreadingHTTPServer | None = None
        self.base = ""


class FixtureWeb:
    """Serve every site directory under ``root`` on its own loopback port."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1",
                 ports: dict[str, int] | None = None, tls: Any = None):
        self.root = Path(root)
        self.host = host
        self.sites: dict[str, _Site] = {
            p.name: _Site(p.name, p) for p in sorted(self.root.iterdir())
            if p.is_dir() and not p.name.startswith(("_", "."))
        }
        self._ports = ports or {}
        self._tls = tls   # a tests.support.tls.FixtureCA: serve every site over HTTPS
        self.requests: list[tuple[str, str, str, int]] = []
        self.request_headers: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._replacements: list[tuple[bytes, bytes]] = []
        self._files: dict[Path, _Resource] = {}  # substituted file contents by path and mtime

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FixtureWeb":
        for site in self.sites.values():
            handler = _make_handler(self, site)
            server = _QuietServer((self.host, self._ports.get(site.name, 0)), handler)
            server.daemon_threads = True
            site.server = server
            scheme = "http"
            if self._tls is not None:
                from tests.support.tls import serve_tls
                serve_tls(server, self._tls)
                scheme = "https"
            site.base = f"{scheme}://{self.host}:{server.server_address[1]}"
            thread = threading.Thread(target=server.serve_forever, name=f"fixture-{site.name}",
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

    def __enter__(self) -> "FixtureWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ helpers for tests
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
        """Write a copy of the fixture ``sources.yaml`` with real URLs; return its path."""
        template = Path(template or self.root / "sources.yaml")
        target = Path(target)
        target.write_text(self.substitute(template.read_text(encoding="utf-8")), encoding="utf-8")
        return target

    def publish(self, site: str, path: str, body: bytes | str,
                content_type: str | None = None) -> None:
        """Add or replace a resource at run time (placeholders are substituted when served)."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        ctype = content_type or _guess_type(path)
        with self._lock:
            self.sites[site].overlay[path] = _Resource(self.substitute(raw), ctype, time.time())

    def unpublish(self, site: str, path: str) -> None:
        with self._lock:
            self.sites[site].overlay[path] = None

    def request_count(self, site: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for s, _m, p, _st in self.requests
                       if (site is None or s == site) and (path is None or p == path))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()

    def _log(self, site: str, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((site, method, path, status))

    def _lookup(self, site: _Site, path: str) -> _Resource | None:
        with self._lock:
            if path in site.overlay:
                return site.overlay[path]
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
                cached = _Resource(raw, _guess_type(file.name), mtime)
                self._files[file] = cached
            return cached
        return None


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (size limits, timeouts) are expected, not errors."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys
        import ssl
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


def _guess_type(name: str) -> str:
    if name.endswith("/"):
        return _TYPES[".html"]
    suffix = Path(name).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _make_handler(web: FixtureWeb, site: _Site) -> type[BaseHTTPRequestHandler]:
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

        def _send(self, status: int, headers: dict[str, str], body: bytes, head: bool,
                  path: str) -> None:
            web._log(site.name, self.command, path, status)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and body:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        def _serve(self, head: bool) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path, encoding="utf-8", errors="replace")
            full = path + ("?" + parts.query if parts.query else "")
            with web._lock:
                web.request_headers.append((site.name, full, dict(self.headers.items())))
            route = dict(site.routes.get(full) or site.routes.get(path) or {})
            for name, needle in (route.get("require_headers") or {}).items():
                if str(needle).lower() not in (self.headers.get(name) or "").lower():
                    self._send(int(route.get("unless_status", 406)),
                               {"Content-Type": _TYPES[".html"]},
                               b"<html><body><h1>Not Acceptable</h1></body></html>", head, path)
                    return
            if route.get("sleep"):
                time.sleep(float(route["sleep"]))
            if "redirect" in route:
                self._send(302, {"Location": web.substitute(str(route["redirect"]))}, b"", head,
                           path)
                return
            if "generate_bytes" in route:
                size = int(route["generate_bytes"])
                chunk = b"<p>" + "حشو ".encode("utf-8") * 50 + b"</p>\n"
                body = (b"<html><body>" + chunk * (size // len(chunk) + 1))[:size]
                self._send(int(route.get("status", 200)),
                           {"Content-Type": route.get("content_type", _TYPES[".html"])}, body,
                           head, path)
                return
            resource = web._lookup(site, "/" + str(route["file"]).lstrip("/")
                                   if "file" in route else path)
            status = int(route.get("status", 200 if resource else 404))
            if resource is None:
                body = b"<html><body><h1>404 Not Found</h1></body></html>"
                self._send(status, {"Content-Type": _TYPES[".html"]}, body, head, path)
                return
            body, etag = resource.body, resource.etag
            last_modified = formatdate(int(resource.mtime), usegmt=True)
            headers = {"Content-Type": route.get("content_type", resource.content_type),
                       "ETag": etag, "Last-Modified": last_modified,
                       **{str(k): web.substitute(str(v)) for k, v in
                          (route.get("headers") or {}).items()}}
            if status == 200 and self._not_modified(etag, resource.mtime):
                self._send(304, {"ETag": etag, "Last-Modified": last_modified}, b"", True, path)
                return
            self._send(status, headers, body, head, path)

        def _not_modified(self, etag: str, mtime: float) -> bool:
            inm = self.headers.get("If-None-Match")
            if inm is not None:
                return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    return int(mtime) <= parsedate_to_datetime(ims).timestamp()
                except (TypeError, ValueError):
                    return False
            return False

    return Handler


def default_root() -> Path:
    """The bundled fixture web (``tests/fixtures/web`` in a source checkout)."""
    return Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "web"


class FixtureWebProcess:
    """The fixture web in a child process (benchmarks: the server must not share our GIL)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.proc: Any = None
        self.bases: dict[str, str] = {}

    def __enter__(self) -> "FixtureWebProcess":
        import json
        import subprocess
        import sys
        self.proc = subprocess.Popen([sys.executable, "-m", "crawler.fixtureweb", str(self.root)],
                                     stdout=subprocess.PIPE, text=True)
        self.bases = json.loads(self.proc.stdout.readline())
        return self

    def base(self, site: str) -> str:
        return self.bases[site]

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.fixtureweb ROOT``: serve, print {site: base URL} as JSON, run until
    terminated."""
    import json
    import signal
    import sys
    args = sys.argv[1:] if argv is None else argv
    web = FixtureWeb(args[0] if args else default_root()).start()
    print(json.dumps({name: site.base for name, site in web.sites.items()}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
