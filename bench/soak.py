"""Soak: many poll cycles in ONE reactor (as `chavder run` does), RSS sampled every cycle.

    .venv/bin/python bench/soak.py [--cycles 500] [--sources 6]

Every 5th cycle a new article appears on one outlet (so extraction, dedup and the store stay in
the loop); the rest are idle conditional GETs. Prints RSS at the start (after warm-up), the end,
the max, and growth between the first and last tenth of the run. Goal: flat, growth ≤ 5 %.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sitegen import article_page  # noqa: E402
from crawler.config import Settings, SourceConfig  # noqa: E402
from crawler.app import Chavder  # noqa: E402
from crawler.crawl import run_cycles  # noqa: E402
from crawler.logs import setup_logging  # noqa: E402
from testsupport.fixtureweb import FixtureWebProcess  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def feed(base: str, paths: list[str]) -> str:
    items = "".join(f"<item><title>t</title><link>{base}{p}</link></item>" for p in paths)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>s</title>{items}</channel></rss>'


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="soak: RSS over many cycles")
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    rng = random.Random(5)
    samples: list[float] = []
    with tempfile.TemporaryDirectory(prefix="chavder-soak-") as tmp:
        root = Path(tmp) / "web"
        (root / "soak").mkdir(parents=True)
        (root / "soak" / "feeds").mkdir()
        # The server runs in its own process and content is published as files, so the RSS
        # measured here is the crawler's alone.
        with FixtureWebProcess(root) as web:
            base = web.base("soak")
            published: dict[int, list[str]] = {i: [] for i in range(args.sources)}

            def add_article(n: int) -> None:
                sid = n % args.sources
                path, html, _ = article_page(n, ["ar", "ckb", "kmr"][n % 3], base, rng)
                target = root / "soak" / path.strip("/") / "index.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(html, encoding="utf-8")
                published[sid].insert(0, path)
                (root / "soak" / "feeds" / f"{sid}.xml").write_text(
                    feed(base, published[sid][:20]), encoding="utf-8")

            for i in range(args.sources):
                add_article(i)
            sources = [SourceConfig(id=f"s{i}", name=f"S{i}", kind="feed",
                                    start_urls=[f"{base}/feeds/{i}.xml"], allow_private=True,
                                    allowed_domains=["127.0.0.1"]) for i in range(args.sources)]
            app = Chavder.from_config(settings=Settings(store=f"sqlite:///{tmp}/soak.db",
                                                        alerts=f"{tmp}/none.yaml"),
                                      sources=sources)

            def on_cycle(n: int, totals: dict) -> None:
                samples.append(rss_mb())
                if n % 5 == 0:
                    add_article(args.sources + n)
                if n % 50 == 0:
                    print(f"cycle {n}: RSS {samples[-1]:.1f} MB, {totals['requests']} requests",
                          flush=True)

            with app:
                cycles = run_cycles(app, sources, args.cycles,
                                    overrides={"AUTOTHROTTLE_ENABLED": False},
                                    on_cycle=on_cycle)
                articles = app.store.count_articles()
    tenth = max(1, len(samples) // 10)
    first, last = statistics.median(samples[:tenth]), statistics.median(samples[-tenth:])
    result = {"cycles": len(cycles), "sources": args.sources, "articles_stored": articles,
              "rss_first_tenth_mb": round(first, 1), "rss_last_tenth_mb": round(last, 1),
              "rss_max_mb": round(max(samples), 1),
              "growth_percent": round(100 * (last - first) / first, 2)}
    print(f"{result['cycles']} cycles, {articles} articles stored: RSS {first:.1f} MB (first "
          f"tenth, median) → {last:.1f} MB (last tenth), max {max(samples):.1f} MB, growth "
          f"{result['growth_percent']} % (goal ≤ 5 %)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
