"""The scale-out frontier in Redis: memory per queued article URL, and how fast URLs are queued.

    .venv/bin/python bench/frontier_memory.py [--urls 100000]

Starts a real redis-server (testsupport/redis_node.py), queues ``--urls`` article entries as a
worker's index crawl does (Arabic URL and headline, publication time, language: what a feed
item gives), in batches of 500 (one Lua call each), and reports Redis's ``used_memory`` growth
per URL and per million — the figure the README's scaling section extrapolates from.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.scaleout.frontier import Frontier  # noqa: E402
from testsupport.redis_node import RedisNode  # noqa: E402


def entry(k: int) -> tuple[str, dict]:
    url = f"https://www.example-news-outlet.com/ar/news/2017/06/{k}/مدينة-الرقة-تقرير-{k}.html"
    hint = {"url": url, "title": f"تطورات جديدة في الرقة: الخبر رقم {k}",
            "published_at": "2017-06-01T10:00:00+03:00", "language": "ar"}
    return f"example-news-outlet.com/ar/news/2017/06/{k}", {"url": url, "source": "bench",
                                                            "hint": hint}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=100_000)
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    node = RedisNode().start()
    try:
        frontier = Frontier.from_url(node.url)
        frontier.ensure_groups()
        base = int(frontier.r.info("memory")["used_memory"])
        _queued, job = frontier.submit("bench")
        started = time.perf_counter()
        for i in range(0, args.urls, 500):
            frontier.enqueue(job, [entry(k) for k in range(i, min(i + 500, args.urls))])
        seconds = time.perf_counter() - started
        used = int(frontier.r.info("memory")["used_memory"]) - base
        sizes = frontier.sizes()
    finally:
        node.close()
    result = {"urls": args.urls, "queued": sizes["articles"], "seconds": round(seconds, 2),
              "urls_per_second": round(args.urls / seconds),
              "bytes_per_url": round(used / args.urls),
              "gb_per_million": round(used / args.urls * 1e6 / 1e9, 2)}
    print(f"queued {sizes['articles']} URLs in {seconds:.1f} s ({result['urls_per_second']}/s "
          f"from one client); Redis memory +{used / 1e6:.1f} MB = {result['bytes_per_url']} "
          f"bytes per queued URL → {result['gb_per_million']} GB per million")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
