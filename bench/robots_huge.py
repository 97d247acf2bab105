"""A 9.9 MB robots.txt (300,000 rules) against the real service (issue 13, item 10).

    .venv/bin/python bench/robots_huge.py [--rules 300000]

Runs `chavder run` as a subprocess against a loopback outlet whose robots.txt is huge, polls
``/healthz`` every 100 ms during the first crawl and reports the slowest answer (the reactor is
blocked while it waits), the crawl time and the service's peak RSS. Before the fix: /healthz
took 10.8 s, peak 625 MB. Goal: /healthz under the Docker health check's 5 s by a wide margin.
``--rules 0`` gives the baseline (a two-line robots.txt).
"""
from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testsupport.fixtureweb import FixtureWeb  # noqa: E402
from testsupport.processes import reap, spawn  # noqa: E402
from testsupport.pages import article_page, rss_feed  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=300_000)
    parser.add_argument("--json", help="also write the result to this JSON file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chavder-robots-"))
    site = tmp / "web" / "outlet"
    site.mkdir(parents=True)
    rules = "".join(f"Disallow: /archive/{n:06d}/*.php$\n" for n in range(args.rules))
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n" + rules, "utf-8")
    items = []
    for n in range(10):
        (site / f"a{n}.html").write_text(article_page(
            f"خبر {n}", [f"نص الخبر رقم {n} في ريف الرقة الشمالي " * 8], "",
            "2026-11-30T10:00:00+03:00"), "utf-8")
        items.append((f"خبر {n}", f"/a{n}.html"))
    (site / "feed.xml").write_text(rss_feed("outlet", items), "utf-8")
    health = free_port()
    with FixtureWeb(tmp / "web") as web:
        (tmp / "sources.yaml").write_text(web.substitute(textwrap.dedent("""\
            sources:
              - {id: outlet, kind: feed, start_urls: ["http://outlet.fixture/feed.xml"],
                 allow_private: true, allowed_domains: [127.0.0.1], interval: 1h}
            """)), "utf-8")
        config = tmp / "chavder.yaml"
        config.write_text(f"data_dir: {tmp / 'data'}\nstore: sqlite:///{tmp / 'data' / 'c.db'}\n"
                          f"sources: {tmp / 'sources.yaml'}\nhealth_port: {health}\n", "utf-8")
        log = open(tmp / "service.log", "wb")
        proc = spawn(config, "run", stdout=log, stderr=subprocess.STDOUT)
        slowest, started, done = 0.0, time.monotonic(), None
        while time.monotonic() - started < 180:   # the first run is jittered (up to ~60 s)
            t0 = time.monotonic()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{health}/healthz", timeout=60).read()
                slowest = max(slowest, time.monotonic() - t0)
            except OSError:
                pass   # not listening yet
            took = re.search(r"crawl done in ([0-9.]+)s",
                             (tmp / "service.log").read_text("utf-8", "replace"))
            if took:
                done = float(took[1])
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, rss, _ = reap(proc, 60)
        log.close()
    result = {"robots_bytes": (site / "robots.txt").stat().st_size,
              "healthz_slowest_s": round(slowest, 3), "crawl_s": done,
              "peak_rss_mb": round(rss)}
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
