"""``render: browser``: `chavder crawl` (subprocess, real spiders, real headless Chromium) against
loopback fixture sites (tests/fixtures/browser): an article written by script, a JavaScript
cookie challenge, an infinite-scroll listing, and a page that tries to reach a loopback host
its source may not reach. Without ``render: browser`` the same pages are reported as needing
it. Chromium missing is a failure with the reason, never a skip.
"""
from __future__ import annotations

import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from testsupport.fixtureweb import FixtureWeb
from tests.conftest import ChavderEnv
from tests.fixtures.browser.build import probe_page

ROOT = Path(__file__).resolve().parent / "fixtures" / "browser"


class GuardedSite:
    """A site behind a JavaScript cookie challenge: every page is a 503 "Checking your
    browser" page that sets ``chv_clearance`` by script and reloads, until the cookie comes."""

    def __init__(self, redirects: dict[str, str]) -> None:
        root = ROOT / "guarded"
        self.requests: list[tuple[str, bool]] = []   # (path, had the cookie)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                path = urlsplit(self.path).path
                passed = "chv_clearance=ok" in (self.headers.get("Cookie") or "")
                site.requests.append((path, passed))
                file = root / path.lstrip("/")
                if path in redirects:   # not guarded: a plain redirect elsewhere
                    self.send_response(302)
                    self.send_header("Location", redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path == "/robots.txt" or not file.is_file():
                    status, body = 404, b"not found"
                elif passed:
                    status, body = 200, file.read_bytes()
                else:
                    status, body = 503, (root / "challenge.html").read_bytes()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "GuardedSite":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webs():
    web = FixtureWeb(ROOT / "web").start()
    internal = FixtureWeb(ROOT / "internal", host="127.0.0.2").start()
    guarded = GuardedSite({"/jump": internal.base("internal") + "/frame.html"}).start()
    web.publish("jsnews", "/probe/1.html", probe_page(internal.base("internal")))
    yield {"web": web, "internal": internal, "guarded": guarded}
    for server in (web, internal, guarded):
        server.stop()


def make_env(tmp: Path, entries: str, **settings: object) -> ChavderEnv:
    sources = tmp / "sources.yaml"
    sources.write_text("defaults: {interval: 15m, allow_private: true}\nsources:\n" + entries,
                       encoding="utf-8")
    return ChavderEnv.create(tmp, sources, download_timeout=10, browser_max_pages=2,
                             browser_page_timeout=30,
                             contact_url="https://example.org/chavder-tests", **settings)


def entry(sid: str, url: str, extra: str = "") -> str:
    return (f"  - id: {sid}\n    kind: listing\n    start_urls: ['{url}']\n"
            f"    selectors: {{article_links: a.story}}\n{extra}")


def stored(env: ChavderEnv) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(env.db_path)
    db.row_factory = sqlite3.Row
    try:
        return {urlsplit(r["url"]).path: r for r in db.execute("SELECT * FROM articles")}
    finally:
        db.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, webs):
    """One crawl of six render: browser sources."""
    web, guarded = webs["web"], webs["guarded"]
    js = web.base("jsnews")
    render = "    render: browser\n"
    env = make_env(tmp_path_factory.mktemp("rendered"),
                   entry("js", f"{js}/section/", render)
                   + entry("guarded", f"{guarded.base}/list.html", render)
                   + entry("scroll", f"{js}/scroll/", render + "    scrolls: 2\n")
                   + entry("probe", f"{js}/probe/", render)
                   + entry("app", f"{js}/app/", render)
                   + entry("jump", f"{guarded.base}/jump", render)
                   + entry("big", f"{js}/big/", render),
                   max_body_bytes=1048576)
    web.clear_log()
    webs["internal"].clear_log()
    result = env.crawl(timeout=300)
    return {"env": env, "result": result, "rows": stored(env),
            "paths": [path for _site, _m, path, _s in web.requests],
            "internal": list(webs["internal"].requests)}


@pytest.fixture(scope="module")
def plain(tmp_path_factory, webs):
    """The same JS article and challenge without render: browser."""
    env = make_env(tmp_path_factory.mktemp("plain"),
                   entry("js", f"{webs['web'].base('jsnews')}/section/")
                   + entry("app", f"{webs['web'].base('jsnews')}/app/")
                   + entry("guarded", f"{webs['guarded'].base}/list.html"))
    result = env.crawl(timeout=300)
    return {"env": env, "result": result, "rows": stored(env)}


def test_headless_chromium_is_installed():
    from crawler.browser import find_executable
    assert find_executable(), "install Debian's chromium package (make dev does)"


def test_article_written_by_script_is_stored_with_render_browser(rendered):
    row = rendered["rows"].get("/news/1.html")
    assert row is not None, rendered["result"].stderr[-3000:]
    assert row["title"] == "مجلس المحافظة يقر خطة لإصلاح شبكة المياه في الأحياء الجنوبية"
    assert "صهاريج المياه ستصل إلى الأحياء المتضررة" in row["body"]
    assert row["source"] == "js"
    # the browser ran the page's scripts and fetched no image or font
    assert "/static/app.js" in rendered["paths"]
    assert "/img/photo.jpg" not in rendered["paths"]
    assert "/fonts/n.woff2" not in rendered["paths"]


def test_article_written_by_script_needs_render_browser_without_it(plain):
    assert "/news/1.html" not in plain["rows"]
    line = next(ln for ln in plain["result"].stderr.splitlines()
                if "source=js " in ln and "/news/1.html" in ln and "reason=" in ln)
    assert "needs render: browser" in line
    status = plain["env"].run("status").stdout
    assert "needs render: browser" in status


def test_listing_written_by_script_is_read_with_render_browser_and_reported_without(
        rendered, plain):
    assert rendered["rows"]["/scroll/a4.html"]["source"] == "app"   # only app links to it
    assert not [p for p in plain["rows"] if p.startswith("/scroll/")]
    line = next(ln for ln in plain["result"].stderr.splitlines()
                if "source=app " in ln and "reason=" in ln)
    assert "/app/" in line and "matched no link" in line and "written by JavaScript" in line
    assert "needs render: browser" in line


def test_javascript_cookie_challenge_passed_with_render_browser(rendered, webs):
    row = rendered["rows"].get("/story/1.html")
    assert row is not None, rendered["result"].stderr[-3000:]
    assert row["title"] == "الدفاع المدني يخمد حريقا في سوق الخضار المركزي"
    assert "إخماد حريق اندلع فجر اليوم" in row["body"]
    # the challenge was answered first, then the reload carried the cookie
    seen = webs["guarded"].requests
    assert ("/list.html", False) in seen and ("/list.html", True) in seen


def test_javascript_cookie_challenge_reported_without_render_browser(plain):
    assert "/story/1.html" not in plain["rows"] and "/list.html" not in plain["rows"]
    line = next(ln for ln in plain["result"].stderr.splitlines()
                if "source=guarded " in ln and "reason=" in ln)
    assert "blocked by an anti-bot challenge" in line
    assert "needs render: browser" in line


def test_infinite_scroll_reads_as_many_screens_as_scrolls_says(rendered):
    rows = rendered["rows"]
    assert {p for p, row in rows.items() if row["source"] == "scroll"} == {
        "/scroll/a1.html", "/scroll/a2.html", "/scroll/a3.html"}
    assert "/scroll/more-2.json" in rendered["paths"]
    assert "/scroll/more-3.json" not in rendered["paths"]   # scrolls: 2 — bounded


def test_page_cannot_reach_a_loopback_host_its_source_may_not(rendered):
    # the article itself is stored; what it tried to load from 127.0.0.2 never left
    assert "/probe/1.html" in rendered["rows"]
    assert rendered["internal"] == []
    refused = [ln for ln in rendered["result"].stderr.splitlines()
               if "source=probe " in ln and "127.0.0.2" in ln]
    assert any("secret.json" in ln and "refused: 127.0.0.2 is a private address" in ln
               for ln in refused), refused
    assert any("frame.html" in ln and "refused" in ln for ln in refused), refused
    assert "secret" not in rendered["rows"]["/probe/1.html"]["body"]
    # and the browser itself called nowhere: every request its proxy saw was the fixtures'
    proxied = [ln for ln in rendered["result"].stderr.splitlines()
               if "(a request of the rendered page)" in ln]
    assert proxied and all("url=http://127.0.0.2:" in ln for ln in proxied), proxied


def test_redirect_to_a_loopback_host_the_source_may_not_reach_is_refused(rendered):
    assert rendered["internal"] == []
    line = next(ln for ln in rendered["result"].stderr.splitlines()
                if "source=jump " in ln and "reason=" in ln and "/jump" in ln)
    assert "refused: 127.0.0.2 is a private address" in line and "redirect to" in line


def test_rendered_page_over_max_body_bytes_is_not_read_further(rendered):
    lines = [ln for ln in rendered["result"].stderr.splitlines() if "source=big " in ln]
    assert any("/big/" in ln and "over max_body_bytes" in ln for ln in lines), lines
    assert "/big/" not in rendered["rows"]
