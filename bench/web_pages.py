"""The web interface's pages over HTTP, timed end to end on the 100,000-article store of
``bench/web.py``: what an analyst waits for, not only the store calls.

    .venv/bin/python bench/web_pages.py                       # 100,000 articles (cached store)
    .venv/bin/python bench/web_pages.py --n 20000 --rounds 3
    .venv/bin/python bench/web_pages.py --json bench/results/web_pages.json

The server is the real one (``crawler.web.server``: uvicorn, FastAPI, Jinja2) in this process on
127.0.0.1; requests go through ``urllib`` one at a time. Timed, after one untimed pass:

* *search page*: ``GET /?q=…`` — the search, its total, the attention chart (per day by language;
  per hour for "last 7 days") and the rendered HTML of 20 story rows — for the queries of
  ``bench/web.py`` (date filters as from–to dates of its store, which ends on 2026-12-01);
* *attention API*: ``GET /api/attention`` per day, by language and by source;
* *search API*: ``GET /api/search``; the *sources page* (health table and sparklines) and two
  *source pages* (``/sources/ID``: health and the 20 newest articles).

Wall time and CPU time (of this process: the server's threads and the client) per request;
on a shared machine the CPU time is the steadier figure, and the load average is printed.

Goals (issue 19): search page p95 ≤ 150 ms, attention chart ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jsonout import write_json  # noqa: E402
from bench.search_latency import percentile  # noqa: E402
from bench.web import END, ensure_db  # noqa: E402

GOALS = {"search_page_p95_ms": 150.0, "attention_p95_ms": 300.0}
LAST_DAY = END.date().isoformat()


def pages() -> dict[str, list[tuple[str, dict[str, str]]]]:
    """(label, URL parameters) per timed group."""
    since_week = (END - timedelta(days=7)).date().isoformat()
    since_day = (END - timedelta(days=1)).date().isoformat()
    search = [
        ("الرقة", {"q": "الرقة"}), ("داعش", {"q": "داعش"}), ("ڕەققە", {"q": "ڕەققە"}),
        ("Reqa", {"q": "Reqa"}), ("phrase", {"q": '"قوات سوريا الديمقراطية"'}),
        ("OR", {"q": "كوباني OR عفرين"}), ("الرقة lang=ar", {"q": "الرقة", "lang": "ar"}),
        ("داعش source", {"q": "داعش", "source": "north-press-ar"}),
        ("الرقة last day", {"q": "الرقة", "since": since_day, "until": LAST_DAY}),
        ("داعش last 7 days", {"q": "داعش", "since": since_week, "until": LAST_DAY}),
        ("الرقة newest", {"q": "الرقة", "sort": "newest"}),
        ("داعش page 2", {"q": "داعش", "offset": "20"}),
        ("الرقة by source", {"q": "الرقة", "split": "source"}),
    ]
    attention = [
        ("الرقة per day", {"q": "الرقة", "split": "none", "interval": "day"}),
        ("الرقة by language", {"q": "الرقة", "split": "language", "interval": "day"}),
        ("داعش by source", {"q": "داعش", "split": "source", "interval": "day"}),
        ("الرقة per hour 7 days", {"q": "الرقة", "since": since_week, "interval": "hour"}),
    ]
    return {"search_page": [(k, v) for k, v in search],
            "search_api": [(k, v) for k, v in search[:6]],
            "attention_api": attention,
            "sources_page": [("sources", {})],
            "source_page": [("anf-kmr", {}), ("rudaw-ar", {})]}


PATHS = {"search_page": "/", "search_api": "/api/search", "attention_api": "/api/attention",
         "sources_page": "/sources", "source_page": "/sources/"}


def run(db: Path, rounds: int) -> dict:
    from crawler.config import Settings
    from crawler.web.server import start_thread
    settings = Settings()
    empty = Path(tempfile.mkdtemp(prefix="chavder-web-bench-"))
    settings.data_dir, settings.store = str(empty), f"sqlite:///{db}"
    settings.sources, settings.alerts = str(empty / "none.yaml"), str(empty / "none.yaml")
    web = start_thread(settings, "127.0.0.1", 0)
    base = web.url.rstrip("/")
    out: dict = {}
    try:
        for group, calls in pages().items():
            path = PATHS[group]
            urls = [(label, f"{base}{path}{label if path.endswith('/') and path != '/' else ''}"
                            f"?{urlencode(params)}") for label, params in calls]
            sizes = {}
            for label, url in urls:                   # untimed: warm caches, check answers
                with urllib.request.urlopen(url, timeout=60) as r:
                    assert r.status == 200, (url, r.status)
                    sizes[label] = len(r.read())
            times: dict[str, list[float]] = {label: [] for label, _ in urls}
            cpu: list[float] = []
            for _ in range(rounds):
                for label, url in urls:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    with urllib.request.urlopen(url, timeout=60) as r:
                        r.read()
                    times[label].append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)   # server and client threads
            every = [t for v in times.values() for t in v]
            ms = lambda v: round(1000 * v, 1)  # noqa: E731
            out[group] = {"timed": len(every), "p50_ms": ms(percentile(every, 0.5)),
                          "p95_ms": ms(percentile(every, 0.95)), "max_ms": ms(max(every)),
                          "cpu_p50_ms": ms(percentile(cpu, 0.5)),
                          "cpu_p95_ms": ms(percentile(cpu, 0.95)),
                          "by_page": {k: {"p50_ms": ms(percentile(v, 0.5)),
                                          "p95_ms": ms(percentile(v, 0.95)),
                                          "kb": round(sizes[k] / 1024, 1)}
                                      for k, v in times.items()}}
    finally:
        web.stop()
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles in the store")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    path, meta = ensure_db(args.n, args.workers, False)
    load_before = [round(x, 2) for x in os.getloadavg()]
    result = run(path, args.rounds)
    result.update(n=args.n, rounds=args.rounds, goals=GOALS, loadavg_before=load_before,
                  loadavg_after=[round(x, 2) for x in os.getloadavg()],
                  met={"search_page": result["search_page"]["p95_ms"]
                       <= GOALS["search_page_p95_ms"],
                       "attention": result["attention_api"]["p95_ms"]
                       <= GOALS["attention_p95_ms"]})
    print(f"{args.n:,}-article store ({'cached' if meta.get('cached') else 'just built'}), "
          f"{args.rounds} rounds, over HTTP on 127.0.0.1")
    for group in ("search_page", "search_api", "attention_api", "sources_page", "source_page"):
        s = result[group]
        print(f"{group:<14} {s['timed']:>4} timed: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
              f"max {s['max_ms']} ms; CPU (this process) p50 {s['cpu_p50_ms']} ms, p95 "
              f"{s['cpu_p95_ms']} ms")
        for label, v in s["by_page"].items():
            print(f"  {label:<24} p50 {v['p50_ms']:>7} ms  p95 {v['p95_ms']:>7} ms  "
                  f"{v['kb']:>6} KB")
    print(f"goals: search page p95 ≤ {GOALS['search_page_p95_ms']:g} ms: "
          f"{'met' if result['met']['search_page'] else 'NOT met'}; attention p95 ≤ "
          f"{GOALS['attention_p95_ms']:g} ms: {'met' if result['met']['attention'] else 'NOT met'}"
          f"; load average before / after: {result['loadavg_before']} / "
          f"{result['loadavg_after']} ({os.cpu_count()} CPUs)")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
