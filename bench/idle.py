"""Idle cycle cost: 500 unchanged sources on a local fixture server, one full poll cycle.

    .venv/bin/python bench/idle.py [--sources 500]

A warm-up cycle fetches every feed and article; the measured cycle then finds every feed
unchanged. Goal: ≤ 1 request per source (the conditional GET of its feed), 0 extractions,
≤ 2 s CPU for the whole cycle.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sitegen import article_page  # noqa: E402
from crawler.app import Chavder  # noqa: E402
from crawler.config import Settings, SourceConfig  # noqa: E402
from crawler.crawl import run_cycles  # noqa: E402
from testsupport.fixtureweb import FixtureWebProcess  # noqa: E402
from crawler.logs import setup_logging  # noqa: E402


def build(root: Path, n: int) -> None:
    import random
    rng = random.Random(3)
    site = root / "idle"
    for i in range(n):
        path, html, published = article_page(i, ["ar", "ckb", "kmr"][i % 3], "http://idle.fixture",
                                             rng)
        target = site / path.strip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        feed = site / "feeds" / f"{i}.xml"
        feed.parent.mkdir(parents=True, exist_ok=True)
        feed.write_text(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                        f"<title>{i}</title><item><title>a{i}</title>"
                        f"<link>http://idle.fixture{path}</link></item></channel></rss>",
                        encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="idle poll cycle cost")
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="chavder-idle-") as tmp:
        build(Path(tmp) / "web", args.sources)
        with FixtureWebProcess(Path(tmp) / "web") as web:
            base = web.base("idle")
            sources = [SourceConfig(id=f"s{i}", name=f"S{i}", kind="feed",
                                    start_urls=[f"{base}/feeds/{i}.xml"], allow_private=True,
                                    allowed_domains=["127.0.0.1"]) for i in range(args.sources)]
            settings = Settings(store=f"sqlite:///{tmp}/idle.db", alerts=f"{tmp}/none.yaml")
            with Chavder.from_config(settings=settings, sources=sources) as app:
                cycles = run_cycles(app, sources, 2, concurrency=16,
                                    overrides={"AUTOTHROTTLE_ENABLED": False})
    warm, idle = cycles
    result = {"sources": args.sources, "warmup": warm,
              "requests_per_source": round(idle["requests"] / args.sources, 3),
              "extractions": idle["extracted"], "cpu_seconds": round(idle["cpu_seconds"], 2),
              "wall_seconds": round(idle["wall_seconds"], 2),
              "not_modified": idle["not_modified"]}
    print(f"warm-up cycle: {warm['requests']} requests, {warm['extracted']} extractions, "
          f"{warm['cpu_seconds']:.1f} s CPU")
    print(f"idle cycle over {args.sources} unchanged sources: "
          f"{result['requests_per_source']} requests/source, {result['extractions']} "
          f"extractions, {result['cpu_seconds']} s CPU ({result['wall_seconds']} s wall), "
          f"{result['not_modified']} answered 304")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
