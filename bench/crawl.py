"""End-to-end crawl benchmark: N generated articles served on loopback → full Chavder crawl.

Prints articles/s end to end, time per stage and peak RSS. Example:
    .venv/bin/python bench/crawl.py --articles 2000
The generated outlet has realistic 60–150 KB pages (Arabic, Sorani, Kurmanji) listed in a
sitemap. Politeness limits are lifted for the local server (AutoThrottle off, 8 requests per
domain); a real crawl keeps them.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jsonout import write_json  # noqa: E402
from bench.sitegen import generate_site  # noqa: E402
from crawler.app import Chavder  # noqa: E402
from crawler.config import Settings, SourceConfig  # noqa: E402
from crawler.crawl import run_crawl  # noqa: E402
from testsupport.fixtureweb import FixtureWebProcess  # noqa: E402
from crawler.logs import setup_logging  # noqa: E402
from crawler.text import detect  # noqa: E402




def _cpu() -> float:
    """CPU seconds (user + system) of this process: the crawler's (the server is another)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--per-domain", type=int, default=8)
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="chavder-bench-") as tmp:
        root = Path(tmp) / "web"
        t0 = time.perf_counter()
        site = generate_site(root, args.articles)
        sizes = [p.stat().st_size for p in site.rglob("index.html")]
        print(f"generated {len(sizes)} pages in {time.perf_counter() - t0:.1f} s "
              f"(mean {sum(sizes) / len(sizes) / 1024:.0f} KB, "
              f"min {min(sizes) / 1024:.0f} KB, max {max(sizes) / 1024:.0f} KB)")
        with FixtureWebProcess(root) as web:
            source = SourceConfig(id="bench", name="Bench", kind="sitemap",
                                  start_urls=[web.base("bench") + "/sitemap.xml"],
                                  timezone="Asia/Baghdad", max_articles=args.articles + 10,
                                  allow_private=True, allowed_domains=["127.0.0.1"])
            settings = Settings(store=f"sqlite:///{tmp}/bench.db",
                                concurrent_per_domain=args.per_domain, download_timeout=30)
            with Chavder.from_config(settings=settings, sources=[source]) as app:
                app.store   # noqa: B018 - opened before the clock starts
                started = time.perf_counter()
                cpu_started = _cpu()
                summary = run_crawl(app, [source], {
                    "AUTOTHROTTLE_ENABLED": False, "CHAVDER_PROGRESS_INTERVAL": 0,
                    "CONCURRENT_REQUESTS": 32})
                wall = time.perf_counter() - started
                cpu = _cpu() - cpu_started
                stored = app.store.count_articles()
                bodies = [r["title"] + "\n" + r["body"] for r in app.store.iter_articles()]
    stats = summary.per_source["bench"]
    lang_started = time.perf_counter()
    for text in bodies:
        detect(text)
    lang_seconds = time.perf_counter() - lang_started
    timings = summary.timings.get("bench", {})
    result = {
        "articles": args.articles, "stored": stored, "new": stats["new"],
        "errors": stats["errors"], "wall_seconds": round(wall, 2),
        "articles_per_second": round(stored / wall, 1) if wall else 0,
        "cpu_seconds": round(cpu, 2),
        "articles_per_cpu_second": round(stored / cpu, 1) if cpu else 0,
        "extract_seconds": round(timings.get("extract", 0.0), 2),
        "language_seconds_within_extract": round(lang_seconds, 2),
        "store_seconds": round(timings.get("store", 0.0), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    rest = wall - result["extract_seconds"] - result["store_seconds"]
    result["fetch_and_scrapy_seconds"] = round(rest, 2)
    print(f"crawled {stored}/{args.articles} articles in {wall:.1f} s → "
          f"{result['articles_per_second']} articles/s end to end")
    print(f"  crawler CPU: {cpu:.1f} s → {result['articles_per_cpu_second']} articles per "
          "CPU-second (steadier than wall time on a busy machine)")
    print(f"  extract (incl. language, dates): {result['extract_seconds']:.1f} s "
          f"({1000 * result['extract_seconds'] / max(stored, 1):.1f} ms/article; language "
          f"alone {1000 * lang_seconds / max(stored, 1):.2f} ms/article)")
    print(f"  store (SQLite + FTS5):           {result['store_seconds']:.1f} s "
          f"({1000 * result['store_seconds'] / max(stored, 1):.1f} ms/article)")
    print(f"  fetch + Scrapy (rest of wall):   {rest:.1f} s")
    print(f"  peak RSS: {result['peak_rss_mb']} MB (crawler process; the server runs in its own process)")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
