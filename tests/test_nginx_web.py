"""The benchmarks' real web server (testsupport/nginx_web.py): Debian's nginx serving a generated
outlet with real URLs and validators, and an in-flight count that never under-reports."""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.sitegen import generate_site
from testsupport.nginx_web import NginxWeb, peak_overlap


def test_overlap_counts_requests_whose_millisecond_intervals_meet() -> None:
    lines = ["1000.010 0.010 200 a:1 /x",      # [1000.000, 1000.011)
             "1000.015 0.010 200 a:1 /y",      # [1000.005, 1000.016): overlaps /x
             "1000.030 0.000 200 a:1 /z",      # [1000.030, 1000.031): alone
             "1000.012 0.012 200 b:2 /x",      # another host: counted apart
             "garbage"]
    assert peak_overlap(lines) == {"a:1": 2, "b:2": 1}
    assert peak_overlap(lines, since=1000.020) == {"a:1": 1}


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("nginx-web")
    site = generate_site(root, 6)
    (site / "big.txt").write_bytes(b"x" * (24 << 20))
    with NginxWeb(root) as web:
        yield web


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers.items()), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_serves_the_generated_outlet_with_real_urls_and_validators(nginx: NginxWeb) -> None:
    base = nginx.base("bench")
    status, headers, body = _get(base + "/sitemap.xml")
    assert status == 200
    assert b".fixture" not in body and body.count(base.encode()) == 6
    article = body.split(b"<loc>")[1].split(b"</loc>")[0].decode()
    status, headers, page = _get(article)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<html" in page and b".fixture" not in page
    status, _, _ = _get(article, **{"If-None-Match": headers["ETag"]})
    assert status == 304
    assert _get(base + "/no/such/page/")[0] == 404
    with pytest.raises(KeyError, match="only the site 'bench'"):
        nginx.base("other")


def test_in_flight_peak_sees_overlapping_answers_and_not_sequential_ones(nginx: NginxWeb) -> None:
    base = nginx.base("bench")
    nginx.peak_in_flight(reset=True)
    time.sleep(0.01)

    def slow_reader() -> None:       # 24 MB read slowly: nginx is busy answering for ~1 s
        with urllib.request.urlopen(base + "/big.txt", timeout=30) as reply:
            while reply.read(1 << 20):
                time.sleep(0.04)

    readers = [threading.Thread(target=slow_reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    host = base.removeprefix("http://")
    assert nginx.peak_in_flight(reset=True)[host] >= 3
    time.sleep(0.01)
    for _ in range(4):
        assert _get(base + "/robots.txt")[0] == 200
        time.sleep(0.02)
    assert nginx.peak_in_flight() == {host: 1}


def test_a_missing_site_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no site folder .*nowhere/bench"):
        with NginxWeb(tmp_path / "nowhere"):
            pass
