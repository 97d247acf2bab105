"""The fixture web server that tests, the demo and benchmarks rely on."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from testsupport.fixtureweb import FixtureWeb


@pytest.fixture
def web(tmp_path):
    site = tmp_path / "news"
    (site / "a").mkdir(parents=True)
    (site / "a" / "index.html").write_text('<a href="http://news.fixture/b.html">خبر</a>',
                                           encoding="utf-8")
    (site / "خبر.html").write_text("<p>الرقة</p>", encoding="utf-8")
    (site / "_routes.yaml").write_text(
        "/gone: {status: 410}\n/loop: {redirect: /loop}\n"
        "/legacy.html: {file: /a/, content_type: 'text/html'}\n", encoding="utf-8")
    with FixtureWeb(tmp_path) as server:
        yield server


def get(url: str, headers: dict | None = None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_placeholders_index_and_encoded_paths(web):
    base = web.base("news")
    status, headers, body = get(base + "/a/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.decode() == f'<a href="{base}/b.html">خبر</a>'
    status, _, body = get(base + "/%D8%AE%D8%A8%D8%B1.html")
    assert (status, body.decode()) == (200, "<p>الرقة</p>")


def test_conditional_get_routes_and_publish(web):
    base = web.base("news")
    _, headers, _ = get(base + "/a/")
    assert get(base + "/a/", {"If-None-Match": headers["ETag"]})[0] == 304
    assert get(base + "/a/", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert get(base + "/gone")[0] == 410
    assert get(base + "/missing")[0] == 404
    status, headers, _ = get(base + "/legacy.html")
    assert status == 200 and headers["Content-Type"] == "text/html"
    web.publish("news", "/new.html", "<p>جديد http://news.fixture/</p>")
    assert get(base + "/new.html")[2].decode() == f"<p>جديد {base}/</p>"
    web.unpublish("news", "/new.html")
    assert get(base + "/new.html")[0] == 404
    assert web.request_count("news", "/gone") == 1


def test_demo_sample_web_is_shipped_and_the_fault_web_is_not(tmp_path):
    """`chavder demo` serves its sample outlets with ``crawler.sampleweb`` (static files, the
    outlet's own content types, validators); the fault-injecting fixture web is test support,
    outside the wheel; nothing shipped imports test code, and benchmarks import
    ``testsupport``, never ``tests``."""
    import ast
    import tomllib
    from pathlib import Path

    from setuptools import find_packages

    from crawler.sampleweb import SampleWeb

    site = tmp_path / "outlet"
    site.mkdir()
    (site / "index.html").write_text('<a href="http://outlet.fixture/x.html">الرقة</a>', "utf-8")
    (site / "old.html").write_bytes("<p>الرقة</p>".encode("cp1256"))
    (site / "_routes.yaml").write_text("/old.html: {content_type: text/html}\n", "utf-8")
    with SampleWeb(tmp_path) as sample:
        base = sample.base("outlet")
        status, headers, body = get(base + "/")
        assert (status, body.decode()) == (200, f'<a href="{base}/x.html">الرقة</a>')
        assert get(base + "/", {"If-None-Match": headers["ETag"]})[0] == 304
        assert get(base + "/old.html")[1]["Content-Type"] == "text/html"
        assert get(base + "/x.html")[0] == 404

    repo = Path(__file__).resolve().parent.parent
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = find_packages(str(repo), **project["tool"]["setuptools"]["packages"]["find"])
    assert "crawler" in shipped and not [p for p in shipped if p.split(".")[0] in
                                         ("testsupport", "tests", "bench")]
    assert not (repo / "crawler" / "fixtureweb.py").exists()
    test_imports = []
    for package, forbidden in (("crawler", ("testsupport", "tests", "bench")),
                               ("scheduler", ("testsupport", "tests", "bench")),
                               ("bench", ("tests",))):
        for module in (repo / package).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                test_imports += [f"{module.relative_to(repo)}: {n}" for n in names
                                 if n.split(".")[0] in forbidden]
    assert test_imports == []


def test_concurrency_is_recorded_per_host_and_latency_makes_it_observable(web):
    """Overlapping requests are counted per Host header and per host name; ``latency`` holds
    answers back so that they overlap; the peaks are also served as JSON (child processes)."""
    from concurrent.futures import ThreadPoolExecutor
    base = web.base("news")
    host = base.split("//")[1]
    web.latency = 0.3
    try:
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: get(base + "/a/")[0], range(4)))
    finally:
        web.latency = 0.0
    assert statuses == [200] * 4
    assert web.max_in_flight(host) == 4 and web.max_in_flight("127.0.0.1") == 4
    assert web.in_flight[host] == 0                        # every answer was counted out
    web.reset_concurrency()
    for _ in range(3):
        assert get(base + "/a/")[0] == 200                 # one after another: never two
    assert web.max_in_flight() == 1
    status, _, body = get(base + "/_fixtureweb/concurrency")
    assert status == 200 and json.loads(body) == {host: 1, "127.0.0.1": 1}
