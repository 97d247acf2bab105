"""The hostile web: serves ``tests/fixtures/hostile/cases.yaml`` on 127.0.0.1, plus a canary.

Why not ``testsupport.fixtureweb``: some cases are about *how* bytes arrive (a body that never
ends, one byte per second, a Content-Length that lies), which needs a handler of its own.

* ``http://127.0.0.1:P/c/<case>/…``: each case's resources (see the header of cases.yaml);
  ``/index.xml`` (generated feed: the case's targets + ``/good.html``), ``/good-index.xml``
  (generated feed or sitemap → ``/good.html``) and ``/good.html`` exist for every case.
* ``http://127.0.0.2:C/``: the canary. Chavder must never send it a request (it is a private
  address no source allows); every request it gets is recorded as a violation.

Every request is logged as (case, path, status) for assertions.
"""
from __future__ import annotations

import fnmatch
import posixpath
import importlib.util
import threading
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
GiB = 1 << 30


def load_generators() -> Any:
    """``tests/fixtures/hostile/generate.py`` (a script next to the corpus, not a package)."""
    spec = importlib.util.spec_from_file_location("hostile_generate", CORPUS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@dataclass
class Case:
    id: str
    role: str
    expect: str
    behaviour: str
    serve: dict[str, dict[str, Any]]
    start: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    reason: str | None = None
    line_url: str | None = None
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    stored_count: int | None = None
    max_articles: int | None = None
    fetched_once: list[str] = field(default_factory=list)
    never_fetched: list[str] = field(default_factory=list)
    max_fetches: dict[str, int] = field(default_factory=dict)
    mail: bool = False

    @property
    def source_id(self) -> str:
        return f"h-{self.id}"


def load_cases(path: Path = CORPUS / "cases.yaml") -> list[Case]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    return [Case(**{k.replace("-", "_"): v for k, v in entry.items()}) for entry in raw]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on endless/slow bodies is the point of those cases


class HostileWeb:
    """``with HostileWeb(cases, cache_dir) as web:`` — serve every case until the block ends."""

    def __init__(self, cases: list[Case], cache: Path):
        self.cases = {c.id: c for c in cases}
        self.cache = cache
        self.gen = load_generators()
        self.requests: list[tuple[str, str, int]] = []        # (case, path, status)
        self.canary_requests: list[tuple[str, str]] = []       # (method, path)
        self._bodies: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self._servers: list[_Server] = []
        self.stopping = threading.Event()
        self.port = 0
        self.canary_port = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "HostileWeb":
        main = _Server(("127.0.0.1", 0), _make_handler(self))
        canary = _Server(("127.0.0.2", 0), _make_canary(self))
        self.port, self.canary_port = main.server_address[1], canary.server_address[1]
        for server in (main, canary):
            self._servers.append(server)
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> "HostileWeb":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ URLs
    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def canary(self) -> str:
        return f"http://127.0.0.2:{self.canary_port}"

    def base(self, case_id: str) -> str:
        return f"{self.root}/c/{case_id}"

    def url(self, case: Case, path: str) -> str:
        """A case-relative path (or a ``{{…}}`` URL) as the absolute URL the crawler sees."""
        text = self.substitute(case.id, path)
        return text if "://" in text else self.base(case.id) + text

    def substitute(self, case_id: str, text: str) -> str:
        return text.replace("{{BASE}}", self.base(case_id)).replace("{{CANARY}}", self.canary)

    def start_urls(self, case: Case) -> list[str]:
        if case.role == "article":
            return [self.url(case, "/index.xml")]
        return [self.url(case, p) for p in case.start] + [self.url(case, "/good-index.xml")]

    def fetches(self, case_id: str, path: str) -> int:
        with self._lock:
            return sum(1 for c, p, _ in self.requests if c == case_id and p == path)

    def sources_yaml(self) -> str:
        """One source per case, loopback allowed only for 127.0.0.1 (the canary is not)."""
        lines = ["defaults: {allow_private: true, allowed_domains: [127.0.0.1], "
                 "timezone: Asia/Damascus, languages: [ar]}", "sources:"]
        for case in self.cases.values():
            kind = "sitemap" if case.role == "sitemap" else "feed"
            urls = ", ".join(f'"{u}"' for u in self.start_urls(case))
            extra = f", max_articles: {case.max_articles}" if case.max_articles else ""
            lines.append(f"  - {{id: {case.source_id}, name: 'Hostile {case.id}', kind: {kind}, "
                         f"start_urls: [{urls}]{extra}}}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ content
    def _log(self, case: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((case, path, status))

    def index_for(self, case: Case, good_only: bool) -> tuple[bytes, str]:
        links = [] if good_only else [self.url(case, t) for t in case.targets]
        links.append(self.url(case, "/good.html"))
        if good_only and case.role == "sitemap":
            urls = "".join(f"<url><loc>{escape(u)}</loc></url>" for u in links)
            return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
                    f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode(), \
                "application/xml"
        items = "".join(f"<item><title>link {n}</title><link>{escape(u)}</link></item>"
                        for n, u in enumerate(links))
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>{case.id}</title>{items}</channel></rss>").encode(), \
            "application/rss+xml"

    def spec_for(self, case: Case, path: str) -> dict[str, Any] | None:
        if path in case.serve:
            return case.serve[path]
        for pattern, spec in case.serve.items():
            if "*" in pattern and fnmatch.fnmatchcase(path, pattern):
                return spec
        return None

    def body_for(self, case: Case, path: str, spec: dict[str, Any]) -> bytes | None:
        key = (case.id, path)
        with self._lock:
            if key in self._bodies:
                return self._bodies[key]
        if "file" in spec:
            body = (CORPUS / spec["file"]).read_bytes()
        elif "generate" in spec and spec["generate"] in self.gen.PAGES:
            body = self.gen.PAGES[spec["generate"]](case.id, path)
        elif "generate" in spec:
            body = self.gen.build(spec["generate"], self.cache).read_bytes()
        elif "set" in spec:
            body = self.gen.RESOURCE_SETS[spec["set"]]().get(path)
            if body is None:
                return None
        else:
            return None
        if not spec.get("raw"):
            body = self.substitute(case.id, body.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape")
        with self._lock:
            self._bodies[key] = body
        return body


def _content_type(path: str) -> str:
    if path.endswith((".xml", ".xml.gz")):
        return "application/xml"
    return "text/html; charset=utf-8"


def _make_handler(web: HostileWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:
            path = posixpath.normpath(urlsplit(self.path).path)  # "/a/./b" is "/a/b"
            parts = path.split("/", 3)
            if len(parts) < 4 or parts[1] != "c" or parts[2] not in web.cases:
                self.reply(404, b"not found", "text/plain", case="", path=path)
                return
            case, rel = web.cases[parts[2]], "/" + parts[3]
            if rel in ("/index.xml", "/good-index.xml"):
                body, ctype = web.index_for(case, good_only=rel == "/good-index.xml")
                self.reply(200, body, ctype, case=case.id, path=rel)
                return
            if rel == "/good.html":
                self.reply(200, web.gen.good_article(case.id, rel), _content_type(rel),
                           case=case.id, path=rel)
                return
            spec = web.spec_for(case, rel)
            if spec is None:
                self.reply(404, b"<html><body>404</body></html>", _content_type(rel),
                           case=case.id, path=rel)
                return
            if "redirect" in spec:
                target = spec["redirect"]
                if target == "next-hop":  # /hop/N → /hop/N+1, for ever
                    target = f"{web.base(case.id)}/hop/{int(rel.rsplit('/', 1)[1]) + 1}"
                self.reply(302, b"", "text/html", case=case.id, path=rel,
                           headers={"Location": web.substitute(case.id, target)})
                return
            behaviour = spec.get("behaviour")
            if behaviour:
                web._log(case.id, rel, 200)
                getattr(self, "behave_" + behaviour.replace("-", "_"))()
                return
            body = web.body_for(case, rel, spec)
            if body is None:
                self.reply(404, b"<html><body>404</body></html>", _content_type(rel),
                           case=case.id, path=rel)
                return
            self.reply(int(spec.get("status", 200)), body,
                       spec.get("content_type", _content_type(rel)), case=case.id, path=rel,
                       headers=spec.get("headers"))

        def reply(self, status: int, body: bytes, ctype: str, *, case: str, path: str,
                  headers: dict[str, str] | None = None) -> None:
            web._log(case, path, status)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        # the three "how the bytes arrive" behaviours; each ends when the client hangs up
        def behave_drip(self) -> None:
            """Declares 5,000 bytes, sends one per second."""
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            page = (b"<html><head><title>slow</title></head><body>" + b"x" * 5000)[:5000]
            try:
                for byte in page:
                    if web.stopping.wait(1.0):
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True

        def behave_endless(self) -> None:
            """Chunked transfer encoding, 64 KiB chunks, never a last chunk (cap: 4 GiB)."""
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = ("<p>" + "بلا نهاية " * 6000 + "</p>").encode()[:65536]
            frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            sent = 0
            try:
                while sent < 4 * GiB and not web.stopping.is_set():
                    self.wfile.write(frame)
                    sent += len(chunk)
            except OSError:
                pass
            self.close_connection = True

        def behave_lying_length(self) -> None:
            """Content-Length: 1 GiB, then 200 bytes and a closed connection."""
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(GiB))
            self.end_headers()
            try:
                self.wfile.write((b"<html><body><p>" + b"short " * 40)[:200])
                self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True

    return Handler


def _make_canary(web: HostileWeb) -> type[BaseHTTPRequestHandler]:
    class Canary(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _record(self) -> None:
            with web._lock:
                web.canary_requests.append((self.command, self.path))
            body = b"secret: the crawler must never see this"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _record

    return Canary
