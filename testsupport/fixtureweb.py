"""The test suite's fixture web: Chavder's sample-outlet server (``crawler.sampleweb``) plus what
tests and benchmarks need from a misbehaving web, on 127.0.0.1.

Adds to the static server:

* ``<site>/_routes.yaml`` faults for exact paths (``/api/list?page=2`` matches that query
  first, then the bare path): ``status``, ``redirect``, ``sleep``, ``generate_bytes``,
  ``file``, and ``require_headers`` (request headers that must contain the given text, else
  ``unless_status`` — 406 — like a site refusing plain clients);
* ``publish()`` / ``unpublish()`` change content at run time (new or edited articles mid-run);
* every request is logged in ``requests`` (site, method, path, status) for assertions, and its
  headers in ``request_headers`` (site, path with query, headers);
* ``tls=`` a ``testsupport.tls.FixtureCA``: every site over HTTPS with that test CA;
* ``FixtureWebProcess``: the same web in a child process (benchmarks: the server must not
  share the measured process's GIL).
"""
from __future__ import annotations

import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.sampleweb import TYPES, Reply, Request, Resource, SampleWeb, Site, default_root, \
    guess_type

if TYPE_CHECKING:
    from testsupport.tls import FixtureCA

REPO = Path(__file__).resolve().parent.parent   # testsupport/ is not installed: run from here
NOT_ACCEPTABLE = b"<html><body><h1>Not Acceptable</h1></body></html>"


class FixtureWeb(SampleWeb):
    """Serve every site directory under ``root`` on its own loopback port, with faults."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1",
                 ports: dict[str, int] | None = None, tls: "FixtureCA | None" = None):
        super().__init__(root, host, ports)
        self._tls = tls
        self.requests: list[tuple[str, str, str, int]] = []
        self.request_headers: list[tuple[str, str, dict[str, str]]] = []
        self._overlay: dict[tuple[str, str], Resource | None] = {}

    def start(self) -> "FixtureWeb":
        super().start()
        return self

    def __enter__(self) -> "FixtureWeb":
        return self.start()

    def listen(self, server: ThreadingHTTPServer) -> str:
        if self._tls is None:
            return "http"
        from testsupport.tls import serve_tls   # cryptography only for the HTTPS tests
        serve_tls(server, self._tls)
        return "https"

    # ------------------------------------------------------------------ helpers for tests
    def publish(self, site: str, path: str, body: bytes | str,
                content_type: str | None = None) -> None:
        """Add or replace a resource at run time (placeholders are substituted when served)."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        ctype = content_type or guess_type(path)
        with self._lock:
            self._overlay[site, path] = Resource(self.substitute(raw), ctype, time.time())

    def unpublish(self, site: str, path: str) -> None:
        with self._lock:
            self._overlay[site, path] = None

    def request_count(self, site: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for s, _m, p, _st in self.requests
                       if (site is None or s == site) and (path is None or p == path))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()

    # ------------------------------------------------------------------ answering
    def respond(self, site: Site, request: Request) -> Reply:
        with self._lock:
            self.request_headers.append((site.name, request.full, dict(request.headers.items())))
        route = site.route(request)
        for name, needle in (route.get("require_headers") or {}).items():
            if str(needle).lower() not in (request.headers.get(name) or "").lower():
                return Reply(int(route.get("unless_status", 406)),
                             {"Content-Type": TYPES[".html"]}, NOT_ACCEPTABLE)
        if route.get("sleep"):
            time.sleep(float(route["sleep"]))
        if "redirect" in route:
            return Reply(302, {"Location": self.substitute(str(route["redirect"]))})
        if "generate_bytes" in route:
            size = int(route["generate_bytes"])
            chunk = b"<p>" + "حشو ".encode("utf-8") * 50 + b"</p>\n"
            body = (b"<html><body>" + chunk * (size // len(chunk) + 1))[:size]
            return Reply(int(route.get("status", 200)),
                         {"Content-Type": route.get("content_type", TYPES[".html"])}, body)
        resource = self.lookup(site, "/" + str(route["file"]).lstrip("/")
                               if "file" in route else request.path)
        status = int(route.get("status", 200 if resource else 404))
        return self.file_reply(resource, route, request, status)

    def served(self, site: Site, request: Request, status: int) -> None:
        with self._lock:
            self.requests.append((site.name, request.method, request.path, status))

    def lookup(self, site: Site, path: str) -> Resource | None:
        with self._lock:
            if (site.name, path) in self._overlay:
                return self._overlay[site.name, path]
        return super().lookup(site, path)


class FixtureWebProcess:
    """The fixture web in a child process (``python -m testsupport.fixtureweb ROOT``)."""

    def __init__(self, root: str | Path, ports: dict[str, int] | None = None):
        self.root = Path(root)
        self.ports = ports or {}
        self.proc: Any = None
        self.bases: dict[str, str] = {}

    def __enter__(self) -> "FixtureWebProcess":
        import json
        import subprocess
        import sys
        ports = [f"{site}={port}" for site, port in self.ports.items()]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "testsupport.fixtureweb", str(self.root), *ports],
            cwd=REPO, stdout=subprocess.PIPE, text=True)
        self.bases = json.loads(self.proc.stdout.readline())
        return self

    def base(self, site: str) -> str:
        return self.bases[site]

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """``python -m testsupport.fixtureweb ROOT [SITE=PORT ...]``: serve, print {site: base URL}
    as JSON, run until terminated. Ports that cannot be bound (80 without the privilege) give
    way to free ones; the printed base URLs say which."""
    import json
    import signal
    import sys
    import threading
    args = sys.argv[1:] if argv is None else argv
    ports = {site: int(port) for site, _, port in (a.partition("=") for a in args[1:])}
    root = args[0] if args else default_root()
    try:
        web = FixtureWeb(root, ports=ports).start()
    except OSError:
        web = FixtureWeb(root).start()
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
