"""Hostile network, round two (issue 13: items 1, 2, 10, 14, 15, 16, 17 and the address policy).

Each test runs `chavder` as a subprocess against loopback servers. Host names ending in
``.test`` resolve to 127.0.0.1 inside the child only, through a resolver hook (``PRELUDE``,
run before chavder starts) — the way the issue's reproductions used ``/etc/hosts`` names
(``vm``, ``runsc``) that point at an "internal" server. ``outlet.test`` is the outlet a source
may reach (``allow_private`` for it alone); ``internal.test`` is an internal server that must
never see a request.
"""
from __future__ import annotations

import json
import re
import textwrap
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from testsupport.config import write_config as write_chavder_yaml
from testsupport.processes import Finished, run_chavder
from testsupport.pages import article_page

# Names under .test (reserved, RFC 2606) resolve to 127.0.0.1 in the child; nothing else changes.
PRELUDE = textwrap.dedent("""\
    import socket
    _gethostbyname, _getaddrinfo = socket.gethostbyname, socket.getaddrinfo
    def _mapped(host):
        name = host.decode() if isinstance(host, bytes) else (host or "")
        return "127.0.0.1" if name.lower().rstrip(".").endswith(".test") else None
    socket.gethostbyname = lambda host: _mapped(host) or _gethostbyname(host)
    socket.getaddrinfo = lambda host, *a, **k: _getaddrinfo(_mapped(host) or host, *a, **k)
    """)
# The child's own peak RSS (VmHWM of its address space). wait4's ru_maxrss also counts the
# parent's pages at fork/exec, i.e. pytest's size, which grows over a full run.
PEAK_PRELUDE = PRELUDE + textwrap.dedent("""\
    import atexit, sys
    def _peak():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                print("chavder-test-peak-kb:", line.split()[1], file=sys.stderr)
    atexit.register(_peak)
    """)
_WARNING = re.compile(r"^\S+ (WARNING|ERROR|CRITICAL)\s+(.*)$")
_PROBLEM = re.compile(r"source=(\S+) url=(\S+) reason=(.*)$")
ARTICLE_TEXT = [
    "قالت مصادر محلية إن اشتباكات اندلعت صباح اليوم في ريف الرقة الشمالي بين قوات محلية "
    "ومجموعة مسلحة، واستمرت نحو ساعتين قبل أن تهدأ في محيط القرى الواقعة شرق المدينة.",
    "وأضافت المصادر أن عدداً من العائلات نزحت من القرى القريبة باتجاه مدينة الرقة خوفاً من "
    "تجدد الاشتباكات خلال الليل، فيما أغلقت المدارس أبوابها حتى إشعار آخر.",
]

Route = Callable[["_Handler", dict[str, list[str]]], None]


@dataclass
class Web:
    """A loopback HTTP server: ``routes`` maps a path to (status, headers, body) or a callable;
    every request is recorded as (Host header, path)."""

    bind: str = "127.0.0.1"
    routes: dict[str, tuple[int, dict[str, str], bytes] | Route] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        web = self

        class Handler(_Handler):
            owner = web

        self.server = _Server((self.bind, 0), Handler)
        self.port = self.server.server_address[1]

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    def __enter__(self) -> "Web":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass   # a client hanging up on a hostile answer is the point of some tests


class _Handler(BaseHTTPRequestHandler):
    owner: Web
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        self.owner.requests.append((self.headers.get("Host") or "", parts.path))
        route = self.owner.routes.get(parts.path)
        if route is None:
            self.answer(404, {"Content-Type": "text/plain"}, b"not found")
        elif callable(route):
            route(self, parse_qs(parts.query))
        else:
            self.answer(*route)

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def redirect(handler: _Handler, query: dict[str, list[str]]) -> None:
    """``/r/302?to=URL``, as in the issue's reproduction."""
    handler.answer(302, {"Location": query["to"][0]}, b"")


def xml(body: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/xml"}, body.encode()


def html(title: str) -> tuple[int, dict[str, str], bytes]:
    page = article_page(title, [p + f" ({title})" for p in ARTICLE_TEXT], "",
                        "2026-11-30T10:00:00+03:00")
    return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode("utf-8")


def rss(*links: str) -> tuple[int, dict[str, str], bytes]:
    items = "".join(f"<item><title>item {n}</title><link>{link}</link></item>"
                    for n, link in enumerate(links))
    return 200, {"Content-Type": "application/rss+xml"}, (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
        "</channel></rss>").encode()


def urlset(*locs: str, raw: str = "") -> tuple[int, dict[str, str], bytes]:
    urls = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return xml('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/'
               f'0.9">{urls}{raw}</urlset>')


def sitemapindex(*locs: str) -> tuple[int, dict[str, str], bytes]:
    maps = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return xml('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
               f'sitemap/0.9">{maps}</sitemapindex>')


@dataclass
class Crawl:
    run: Finished
    rows: list[dict]
    fetch_errors: list[dict]

    @property
    def problems(self) -> list[tuple[str, str, str]]:
        """(source, url, reason) of every WARNING/ERROR problem line."""
        return [(p[1], p[2], p[3]) for line in self.run.stderr.splitlines()
                if (m := _WARNING.match(line)) and (p := _PROBLEM.search(m[2]))]

    @property
    def warnings(self) -> list[str]:
        return [m[2] for line in self.run.stderr.splitlines() if (m := _WARNING.match(line))]

    def totals(self) -> dict[str, int]:
        return json.loads(self.run.stdout)["totals"]

    def titles(self) -> set[str]:
        return {r["title"] for r in self.rows}


def write_config(tmp: Path, sources: str) -> Path:
    (tmp / "sources.yaml").write_text(textwrap.dedent(sources), encoding="utf-8")
    return write_chavder_yaml(tmp, store=f"sqlite:///{tmp / 'data' / 'c.db'}",
                              sources=tmp / "sources.yaml", download_timeout=5)


def crawl(tmp: Path, sources: str, prelude: str = PRELUDE) -> Crawl:
    config = write_config(tmp, sources)
    run = run_chavder(config, "crawl", "--json", "--progress-interval", "0",
                      python_prelude=prelude, timeout=180)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.output[-4000:]
    from crawler.store import open_store
    store = open_store(f"sqlite:///{tmp / 'data' / 'c.db'}")
    try:
        rows = [dict(r) for r in store.iter_articles()]
        errors = store.fetch_errors()
    finally:
        store.close()
    return Crawl(run, rows, errors)


def outlet_source(sid: str, kind: str, port: int, *start: str) -> str:
    urls = ", ".join(f'"http://outlet.test:{port}{path}"' if path.startswith("/") else f'"{path}"'
                     for path in start)
    return (f"  - {{id: {sid}, kind: {kind}, start_urls: [{urls}], allow_private: true, "
            f"allowed_domains: [outlet.test], languages: [ar]}}\n")


# --------------------------------------------------------------------------- 1

def test_sitemap_index_children_obey_allowed_domains(tmp_path):
    """Item 1 (SSRF): a sitemap index on the outlet lists a file on an internal host. It must
    not be fetched — nor that host's robots.txt — and its content must appear nowhere."""
    with Web() as internal, Web() as outlet:
        internal.routes["/creds.txt"] = (200, {"Content-Type": "text/plain"},
                                         b"root-password: hunter2-SECRET\n")
        creds = f"http://internal.test:{internal.port}/creds.txt"
        news = f"http://outlet.test:{outlet.port}/news-sitemap.xml"
        outlet.routes.update({
            "/sitemap-index.xml": sitemapindex(creds, news),
            "/news-sitemap.xml": urlset(f"http://outlet.test:{outlet.port}/good.html"),
            "/good.html": html("خبر سليم من الموقع"),
        })
        result = crawl(tmp_path, "sources:\n" + outlet_source("outa", "sitemap", outlet.port,
                                                              "/sitemap-index.xml"))
    assert internal.requests == [], f"the internal host was reached: {internal.requests}"
    assert "خبر سليم من الموقع" in result.titles(), result.run.stderr[-3000:]
    assert result.problems == [("outa", creds, result.problems[0][2])], result.warnings
    assert re.search(r"refused: internal\.test is not in the source's allowed_domains",
                     result.problems[0][2]), result.problems
    assert "hunter2" not in result.run.output
    assert not any("hunter2" in json.dumps(row) for row in result.fetch_errors)


# --------------------------------------------------------------------------- 2

def test_index_redirect_to_another_site_is_not_followed(tmp_path):
    """Item 2: the start URL redirects to another site's feed. The log says "not followed" —
    and now it is true: that site sees no request and none of its articles is stored."""
    with Web() as internal, Web() as outlet:
        internal.routes.update({
            "/feed.xml": rss(f"http://internal.test:{internal.port}/story.html"),
            "/story.html": html("خبر من موقع آخر"),
        })
        target = f"http://internal.test:{internal.port}/feed.xml"
        start = f"http://outlet.test:{outlet.port}/r/302?to={target}"
        outlet.routes.update({"/r/302": redirect,
                              "/feed.xml": rss(f"http://outlet.test:{outlet.port}/good.html"),
                              "/good.html": html("خبر سليم من الموقع")})
        result = crawl(tmp_path, "sources:\n" + outlet_source("outa", "feed", outlet.port,
                                                              start, "/feed.xml"))
    assert internal.requests == [], f"the redirect was followed: {internal.requests}"
    assert result.titles() == {"خبر سليم من الموقع"}, result.titles()
    assert len(result.problems) == 1, result.warnings
    sid, url, reason = result.problems[0]
    assert (sid, url) == ("outa", start)
    assert re.match(r"redirect to another site \(internal\.test\) not followed", reason), reason


# --------------------------------------------------------------------------- 14

def test_refused_index_redirect_is_one_line_and_one_error(tmp_path):
    """Item 14: an index page redirecting to a private address is one WARNING line and one
    error, as the README promises — not two."""
    with Web(bind="127.0.0.2") as canary, Web() as outlet:
        start = f"http://outlet.test:{outlet.port}/r/302?to=http://127.0.0.2:{canary.port}/f.xml"
        outlet.routes.update({"/r/302": redirect,
                              "/feed.xml": rss(f"http://outlet.test:{outlet.port}/good.html"),
                              "/good.html": html("خبر سليم من الموقع")})
        result = crawl(tmp_path, "sources:\n" + outlet_source("outa", "feed", outlet.port,
                                                              start, "/feed.xml"))
    assert canary.requests == []
    assert len(result.warnings) == 1, result.warnings
    sid, url, reason = result.problems[0]
    assert (sid, url) == ("outa", start)
    assert reason.startswith("refused: redirect to private address 127.0.0.2"), reason
    assert result.totals()["errors"] == 1, result.totals()
    assert result.titles() == {"خبر سليم من الموقع"}


# --------------------------------------------------------------------------- 15 + mechanism

PRIVATE_SPELLINGS = ["１２７.０.０.２", "127。0.0.1", "[::127.0.0.1]", "[::ffff:0:127.0.0.1]",
                     "[64:ff9b::7f00:1]", "[64:ff9b::a00:1]", "[2002:7f00:1::]",
                     "[2002:a9fe:a9fe::]", "100.64.0.1", "[ff02::1]"]


def test_every_spelling_of_a_private_address_is_refused_at_config_time(tmp_path):
    """Item 15: full-width digits, an ideographic full stop, IPv4-compatible and -translated
    IPv6, NAT64, 6to4, CGNAT and multicast forms are private addresses too."""
    with Web(bind="127.0.0.2") as canary:
        urls = [f"http://{host}:{canary.port}/feed.xml" for host in PRIVATE_SPELLINGS]
        config = write_config(tmp_path, "sources:\n" + "".join(
            f'  - {{id: sneaky-{n}, kind: feed, start_urls: ["{url}"]}}\n'
            for n, url in enumerate(urls)))
        check = run_chavder(config, "sources", "check", python_prelude=PRELUDE)
        crawled = run_chavder(config, "crawl", "--progress-interval", "0",
                              python_prelude=PRELUDE)
    sources = tmp_path / "sources.yaml"
    accepted = [url for n, url in enumerate(urls)
                if not any(f"{sources}:{n + 2}:" in line and "private or loopback" in line
                           for line in check.stderr.splitlines())]
    assert accepted == [], f"accepted although private: {accepted}\n{check.output[-2000:]}"
    assert check.returncode == 2 and crawled.returncode == 2, (check.output, crawled.output)
    assert canary.requests == []


def test_a_name_resolving_to_a_private_address_is_refused_at_connect_time(tmp_path):
    """The mechanism behind 1, 2 and 15: a host *name* passes every text check, but it
    resolves to 127.0.0.1. Without ``allow_private`` nothing is sent to it — not the feed, not
    robots.txt — and one line says why; the other source of the same crawl goes on."""
    with Web() as internal, Web() as outlet:
        internal.routes["/feed.xml"] = rss(f"http://intranet.test:{internal.port}/x.html")
        outlet.routes.update({"/feed.xml": rss(f"http://outlet.test:{outlet.port}/good.html"),
                              "/good.html": html("خبر سليم من الموقع")})
        feed = f"http://intranet.test:{internal.port}/feed.xml"
        sources = ("sources:\n" + outlet_source("outa", "feed", outlet.port, "/feed.xml")
                   + f'  - {{id: intra, kind: feed, start_urls: ["{feed}"]}}\n')
        check = run_chavder(write_config(tmp_path, sources), "sources", "check",
                            python_prelude=PRELUDE)
        result = crawl(tmp_path, sources)
    assert check.returncode == 0, check.output   # text checks cannot see it: a name
    assert internal.requests == [], f"reached the internal server: {internal.requests}"
    assert result.problems == [("intra", feed, "refused: intranet.test resolves to private "
                                               "address 127.0.0.1")], result.warnings
    assert result.titles() == {"خبر سليم من الموقع"}


# --------------------------------------------------------------------------- 10

def test_a_huge_robots_txt_is_read_up_to_500_kib(tmp_path):
    """Item 10: a 9.9 MB robots.txt of 300,000 rules. Only its first 500 KiB count (Google's
    limit): a rule there is obeyed, one after it is not, one line says so, memory stays low."""
    head = "User-agent: *\nDisallow: /early/\n"
    filler = "".join(f"Disallow: /archive/{n:06d}/*.php$\n" for n in range(300_000))
    robots = (head + filler + "Disallow: /late/\n").encode()
    assert len(robots) > 9_500_000
    with Web() as outlet:
        base = f"http://outlet.test:{outlet.port}"
        outlet.routes.update({
            "/robots.txt": (200, {"Content-Type": "text/plain"}, robots),
            "/feed.xml": rss(f"{base}/good.html", f"{base}/early/a.html", f"{base}/late/b.html"),
            "/good.html": html("خبر سليم من الموقع"),
            "/early/a.html": html("خبر ممنوع"),
            "/late/b.html": html("خبر بعد الحد"),
        })
        result = crawl(tmp_path, "sources:\n" + outlet_source("outa", "feed", outlet.port,
                                                              "/feed.xml"), PEAK_PRELUDE)
        paths = outlet.paths()
    assert "/early/a.html" not in paths, "a rule in the first 500 KiB was not obeyed"
    assert result.titles() == {"خبر سليم من الموقع", "خبر بعد الحد"}, result.titles()
    assert paths.count("/robots.txt") == 1
    assert len(result.problems) == 1, result.warnings
    sid, url, reason = result.problems[0]
    assert (sid, url) == ("outa", f"{base}/robots.txt")
    assert "robots.txt larger than 500 KiB" in reason, reason
    peak = re.search(r"chavder-test-peak-kb: (\d+)", result.run.stderr)
    assert peak, "the child did not report its peak RSS"
    assert int(peak[1]) / 1024 < 250, f"peak RSS {int(peak[1]) / 1024:.0f} MB"


# --------------------------------------------------------------------------- 16

def test_a_megabyte_of_response_headers_is_one_clear_reason_and_no_retry(tmp_path):
    """Item 16: a 1 MB response header. One line with a reason a person can read, one
    request (no retries), and the rest of the crawl goes on."""
    def big_header(handler: _Handler, query: dict[str, list[str]]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("X-Padding", "A" * (1 << 20))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with Web() as outlet:
        base = f"http://outlet.test:{outlet.port}"
        outlet.routes.update({"/feed.xml": rss(f"{base}/good.html", f"{base}/big.html"),
                              "/big.html": big_header,
                              "/good.html": html("خبر سليم من الموقع")})
        result = crawl(tmp_path, "sources:\n" + outlet_source("outa", "feed", outlet.port,
                                                              "/feed.xml"))
        paths = outlet.paths()
    assert paths.count("/big.html") == 1, f"retried: {paths}"
    assert len(result.warnings) == 1, result.warnings
    sid, url, reason = result.problems[0]
    assert (sid, url) == ("outa", f"{base}/big.html")
    assert re.match(r"response headers too large", reason), reason
    assert "Failure" not in result.run.stderr and "ConnectionDone" not in result.run.stderr
    assert result.titles() == {"خبر سليم من الموقع"}


# --------------------------------------------------------------------------- 17

def test_an_entry_nested_300_deep_does_not_drop_the_rest_of_a_sitemap(tmp_path):
    """Item 17: libxml2 stops at depth 256; the entries after the deep one are read anyway
    (each entry re-read on its own, as the feed parser already did)."""
    with Web() as outlet:
        base = f"http://outlet.test:{outlet.port}"
        deep = (f"<url><loc>{base}/deep.html</loc>" + "<x>" * 300 + "y" + "</x>" * 300
                + "</url>")
        before = [f"{base}/a{n}.html" for n in range(3)]
        after = [f"{base}/b{n}.html" for n in range(3)]
        outlet.routes["/sitemap.xml"] = urlset(*before, raw=deep + "".join(
            f"<url><loc>{u}</loc></url>" for u in after))
        outlet.routes["/deep.html"] = html("خبر عميق")
        for n in range(3):
            outlet.routes[f"/a{n}.html"] = html(f"خبر قبل {n}")
            outlet.routes[f"/b{n}.html"] = html(f"خبر بعد {n}")
        result = crawl(tmp_path, "sources:\n" + outlet_source("outa", "sitemap", outlet.port,
                                                              "/sitemap.xml"))
    titles = result.titles()
    assert {f"خبر بعد {n}" for n in range(3)} <= titles, f"later entries dropped: {titles}"
    assert {f"خبر قبل {n}" for n in range(3)} <= titles
    assert len(result.problems) == 1, result.warnings
    assert "sitemap problem" in result.problems[0][2] and "depth" in result.problems[0][2]
