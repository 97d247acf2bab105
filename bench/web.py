"""What the web interface asks of the store, timed on a generated 100,000-article SQLite store.

    .venv/bin/python bench/web.py                          # 100,000 articles (first run builds)
    .venv/bin/python bench/web.py --n 20000 --rounds 3     # the --quick size of run_all.py
    .venv/bin/python bench/web.py --json bench/results/web.json

**The store.** Articles are the news items of ``bench/search_latency.py`` (Arabic, Sorani and
Kurmanji text from the templates and vocabularies of ``bench/alerts.py``: Zipf-like places,
villages, people, organisations, topics, unseen words) grouped into stories the way outlets
carry them: 55 % of stories have one copy, 25 % two, 12 % three, 8 % four, each copy from
another outlet of the same language 10 minutes to 10 hours after the first; 3 % of copies
carry no publication date (their first-seen time counts); 90 days of news ending
``END``, first seen 5–60 minutes after publication. It is written in bulk exactly as
search_latency.py's bulk path writes (schema from ``SQLiteStore``'s migrations, the columns
``article_columns`` makes, one ``stories`` row per story, FTS5 rows of production
``index_terms``, analysis spread over ``--workers`` processes), cached under
``bench/.cache/`` by N and generator version.

**What is timed**, through the library calls the web pages make, after one untimed pass:

* *search page*: ``search(q)`` + ``search_total(q)`` (a result page and its "N stories"), for
  common words (الرقة, داعش, ڕەققە, Reqa), a phrase, OR, language and source filters, "last
  24 h" / "last 7 days", newest-first, and page 2 (``offset`` 20);
* *attention*: ``attention(q)`` per day over the 90 days, split by language and by source, per
  hour over the last 7 days; and ``source_activity(30, END)`` (the sources page's sparklines);
* *HTTP* (when the web interface, ``crawler.web``, is installed; ``--no-http`` skips it): the
  same store served by ``chavder web`` in a child process, pages fetched from loopback — the
  search page with its attention chart, page 2, newest, filters, the JSON API, the sources page.

Goals (issue 19): search page p95 ≤ 150 ms, attention ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jsonout import write_json  # noqa: E402
from bench.search_latency import SOURCE_LANG, SOURCES, make_article, percentile  # noqa: E402

GEN_VERSION = 1
END = datetime(2026, 12, 1, tzinfo=timezone.utc)
DAYS = 90
CHUNK = 5000
CACHE = Path(__file__).resolve().parent / ".cache"
GOALS = {"search_p95_ms": 150.0, "attention_p95_ms": 300.0}
_SAME_LANG = {lang: [s for s in SOURCES if SOURCE_LANG[s] == lang] for lang in ("ar", "ckb", "kmr")}

#: (leader index, minutes after the story's first copy) of each article; set before the worker
#: processes fork, so every worker sees the same plan.
PLAN: list[tuple[int, int, int]] = []


def make_plan(n: int) -> list[tuple[int, int, int]]:
    """(leader, story start minute, delay minutes) for articles 0…n-1: contiguous groups."""
    rng = random.Random(19)
    sizes = [1] * 55 + [2] * 25 + [3] * 12 + [4] * 8
    plan: list[tuple[int, int, int]] = []
    span = DAYS * 24 * 60
    while len(plan) < n:
        leader = len(plan)
        start = rng.randrange(span)
        for copy in range(min(rng.choice(sizes), n - leader)):
            plan.append((leader, start, 0 if copy == 0 else rng.randint(10, 600)))
    return plan


def web_article(i: int, n: int) -> tuple[Any, str, str]:
    """Article ``i``: its leader's text (regenerated from the leader's seed), this copy's
    outlet, time and URL. Returns (Article, url_key, first_seen)."""
    leader, start, delay = PLAN[i]
    item = make_article(leader, n, random.Random(7000 + leader))
    a = item["article"]
    source = a.source
    if i != leader:     # another outlet of the same language
        peers = [s for s in _SAME_LANG[a.language] if s != a.source] or [a.source]
        source = peers[(i - leader - 1) % len(peers)]
    when = END - timedelta(days=DAYS) + timedelta(minutes=start + delay)
    local = when.astimezone(timezone(timedelta(hours=3)))
    rng = random.Random(i)
    published = None if rng.random() < 0.03 else local.isoformat()
    seen = (when + timedelta(minutes=rng.randint(5, 60))).replace(microsecond=0)
    url = f"https://{source}.example/news/{i}"
    title = a.title if i == leader or rng.random() < 0.5 else f"{a.title} ({source})"
    a = a.__class__(**{**a.to_dict(), "source": source, "url": url, "canonical_url": url,
                       "title": title, "published_at": published,
                       "fetched_at": seen.isoformat(), "content_hash": f"w{i:08x}"})
    return a, f"{source}.example/news/{i}", seen.isoformat()


def make_chunk(args: tuple[int, int]) -> list[tuple]:
    """Rows for articles [start, start + CHUNK): (i, url_key, columns, first_seen, fts title,
    fts body, leader)."""
    from crawler.store.sqlite.articles import article_columns
    from crawler.text import index_terms
    start, n = args
    out = []
    for i in range(start, min(start + CHUNK, n)):
        a, key, seen = web_article(i, n)
        out.append((i, key, article_columns(a), seen, index_terms(a.title, a.language),
                    index_terms(a.body, a.language), PLAN[i][0]))
    return out


def build(path: Path, n: int, workers: int) -> dict:
    """The store, schema by ``SQLiteStore``, rows in transactions of CHUNK articles."""
    global PLAN
    from crawler.store import SQLiteStore
    if path.exists():
        path.unlink()
    SQLiteStore(path).close()
    PLAN = make_plan(n)
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    tasks = [(s, n) for s in range(0, n, CHUNK)]
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    done = 0
    try:
        for rows in (pool.imap(make_chunk, tasks) if pool else map(make_chunk, tasks)):
            db.execute("BEGIN")
            for i, key, cols, seen, fts_title, fts_body, leader in rows:
                article_id, story_id = i + 1, leader + 1
                if i == leader:
                    db.execute("INSERT INTO stories(id, representative_id, first_seen, "
                               "last_seen, representative_ts) VALUES (?, ?, ?, ?, NULL)",
                               (story_id, article_id, seen, seen))
                else:
                    db.execute("UPDATE stories SET last_seen=MAX(last_seen, ?) WHERE id=?",
                               (seen, story_id))
                values = {**cols, "id": article_id, "url_key": key, "first_seen": seen,
                          "index_updated_at": None, "story_id": story_id,
                          "change_seq": article_id}
                db.execute(f"INSERT INTO articles({', '.join(values)}) VALUES "
                           f"({', '.join(':' + c for c in values)})", values)
                db.execute("INSERT INTO articles_fts(rowid, title, body) VALUES (?, ?, ?)",
                           (article_id, fts_title, fts_body))
            db.execute("COMMIT")
            done += len(rows)
            if done % 20_000 < CHUNK or done == n:
                rate = done / (time.perf_counter() - started)
                print(f"  built {done:,}/{n:,} articles ({rate:,.0f}/s)", flush=True)
    finally:
        if pool:
            pool.close()
            pool.join()
    db.execute("ANALYZE")
    db.close()
    SQLiteStore(path).close()        # the store's own WAL mode and PRAGMA optimize
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def ensure_db(n: int, workers: int, rebuild: bool) -> tuple[Path, dict]:
    CACHE.mkdir(parents=True, exist_ok=True)
    from crawler.store.sqlite import MIGRATIONS
    path = CACHE / f"web-{n}-v{GEN_VERSION}-s{len(MIGRATIONS)}.db"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and not rebuild:
        return path, {**json.loads(meta_path.read_text()), "cached": True}
    print(f"building {n:,} articles into {path} ({workers} worker(s)) …", flush=True)
    building = path.with_suffix(".building")
    meta = build(building, n, workers)
    for suffix in ("-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    shutil.move(str(building), str(path))
    meta.update(n=n, generator_version=GEN_VERSION, workers=workers)
    meta_path.write_text(json.dumps(meta, indent=2))
    return path, {**meta, "cached": False}


def search_queries() -> list[tuple[str, dict]]:
    """(label, SearchQuery arguments) of the search page."""
    return [
        ("الرقة", {"text": "الرقة"}),
        ("داعش", {"text": "داعش"}),
        ("ڕەققە", {"text": "ڕەققە"}),
        ("Reqa", {"text": "Reqa"}),
        ("phrase", {"text": '"قوات سوريا الديمقراطية"'}),
        ("OR", {"text": "كوباني OR عفرين"}),
        ("الرقة lang=ar", {"text": "الرقة", "language": "ar"}),
        ("داعش source", {"text": "داعش", "source": "north-press-ar"}),
        ("الرقة last 24 h", {"text": "الرقة", "since": END - timedelta(hours=24)}),
        ("داعش last 7 days", {"text": "داعش", "since": END - timedelta(days=7)}),
        ("الرقة newest", {"text": "الرقة", "sort": "newest"}),
        ("داعش page 2", {"text": "داعش", "offset": 20}),
        ("الرقة newest page 2", {"text": "الرقة", "sort": "newest", "offset": 20}),
        ("Reqa page 2 lang=kmr", {"text": "Reqa", "language": "kmr", "offset": 20}),
    ]


def attention_calls() -> list[tuple[str, Callable[[Any], Any]]]:
    from crawler.store import SearchQuery as Q
    week = END - timedelta(days=7)
    return [
        ("الرقة per day", lambda s: s.attention(Q("الرقة"))),
        ("داعش per day", lambda s: s.attention(Q("داعش"))),
        ("الرقة by language", lambda s: s.attention(Q("الرقة"), split="language")),
        ("داعش by source", lambda s: s.attention(Q("داعش"), split="source")),
        ("Reqa per day", lambda s: s.attention(Q("Reqa"))),
        ("الرقة per hour, 7 days", lambda s: s.attention(Q("الرقة", since=week),
                                                         interval="hour")),
        ("داعش lang=ar by source", lambda s: s.attention(Q("داعش", language="ar"),
                                                         split="source")),
        ("source activity 30 days", lambda s: s.source_activity(30, END)),
    ]


def timed(calls: list[tuple[str, Callable[[], Any]]], rounds: int
          ) -> tuple[dict, dict, dict]:
    """One untimed pass, then ``rounds`` timed ones: (wall seconds per label, CPU seconds per
    label, first results). CPU time is this process's: on a machine others load, it shows
    what a call costs when wall time shows what it waited."""
    first = {label: call() for label, call in calls}
    wall: dict[str, list[float]] = {label: [] for label, _ in calls}
    cpu: dict[str, list[float]] = {label: [] for label, _ in calls}
    for _ in range(rounds):
        for label, call in calls:
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            wall[label].append(time.perf_counter() - started)
            cpu[label].append(time.process_time() - cpu_started)
    return wall, cpu, first


def summary(times: dict[str, list[float]], cpu: dict[str, list[float]]) -> dict:
    ms = lambda v: round(1000 * v, 2)  # noqa: E731
    every = [t for v in times.values() for t in v]
    every_cpu = [t for v in cpu.values() for t in v]
    return {"timed": len(every), "p50_ms": ms(percentile(every, 0.5)),
            "p95_ms": ms(percentile(every, 0.95)), "max_ms": ms(max(every)),
            "mean_ms": ms(statistics.mean(every)),
            "cpu_p50_ms": ms(percentile(every_cpu, 0.5)),
            "cpu_p95_ms": ms(percentile(every_cpu, 0.95)),
            "by_query": {k: {"p50_ms": ms(percentile(v, 0.5)), "p95_ms": ms(percentile(v, 0.95)),
                             "cpu_p50_ms": ms(percentile(cpu[k], 0.5))}
                         for k, v in times.items()}}


def run(path: Path, rounds: int) -> dict:
    from crawler.store import SearchQuery, SQLiteStore
    store = SQLiteStore(path, write=False)
    schema = store.schema_version
    try:
        queries = [(label, SearchQuery(limit=20, **kw)) for label, kw in search_queries()]
        page_calls = [(label, lambda q=q: (store.search(q), store.search_total(q)))
                      for label, q in queries]
        page = timed(page_calls, rounds)
        search = timed([(label, lambda q=q: store.search(q)) for label, q in queries], rounds)
        total = timed([(label, lambda q=q: store.search_total(q)) for label, q in queries],
                      rounds)
        att_calls = [(label, lambda f=f: f(store)) for label, f in attention_calls()]
        att = timed(att_calls, rounds)
    finally:
        store.close()
    return {
        "search_page": summary(*page[:2]), "search_only": summary(*search[:2]),
        "search_total_only": summary(*total[:2]), "attention": summary(*att[:2]),
        "results": {label: {"hits": len(hits), "total": count}
                    for label, (hits, count) in page[2].items()},
        "schema_version": schema,
        "charts": {label: (len(v) if isinstance(v, (list, dict)) else v)
                   for label, v in att[2].items()},
    }


HTTP_PAGES = [
    ("search الرقة (results + chart)", "/?q=الرقة"),
    ("search داعش page 2", "/?q=داعش&offset=20"),
    ("search الرقة newest", "/?q=الرقة&sort=newest"),
    ("search الرقة lang=ar", "/?q=الرقة&lang=ar"),
    ("search Reqa by source", "/?q=Reqa&split=source"),
    ("search ڕەققە", "/?q=ڕەققە"),
    ("API search داعش", "/api/search?q=داعش"),
    ("API attention الرقة", "/api/attention?q=الرقة"),
    ("sources page", "/sources"),
]


def run_http(path: Path, rounds: int) -> dict | None:
    """The same store through ``chavder web`` (crawler/web, when installed): each page's
    HTTP response time from a client on loopback. None when there is no web interface."""
    import importlib.util
    import re
    import subprocess
    import tempfile
    import urllib.parse
    import urllib.request
    if importlib.util.find_spec("crawler.web") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="chavder-web-bench-") as tmp:
        env = {**os.environ, "CHAVDER_CONFIG": str(Path(tmp) / "none.yaml")}
        (Path(tmp) / "none.yaml").write_text(f"data_dir: {tmp}\nstore: sqlite:///{path}\n")
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "web", "--host",
                                 "127.0.0.1", "--port", "0"], cwd=tmp, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            base = None
            deadline = time.monotonic() + 60
            assert proc.stdout is not None
            while base is None and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
                base = found.group(1) if found else None
            if base is None:
                raise RuntimeError("chavder web did not start")

            server_cpu: dict[str, list[float]] = {label: [] for label, _ in HTTP_PAGES}

            def get(label: str, url: str) -> Callable[[], int]:
                quoted = base + urllib.parse.quote(url, safe="/?=&")

                def call() -> int:
                    before = _process_cpu(proc.pid)
                    with urllib.request.urlopen(quoted, timeout=30) as resp:
                        resp.read()
                        status = resp.status
                    server_cpu[label].append(_process_cpu(proc.pid) - before)
                    return status
                return call

            calls = [(label, get(label, url)) for label, url in HTTP_PAGES]
            wall, _cpu, first = timed(calls, rounds)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    ms = lambda v: round(1000 * v, 2)  # noqa: E731
    every = [t for v in wall.values() for t in v]
    search = [t for k, v in wall.items() if k.startswith("search") for t in v]
    search_cpu = [t for k, v in server_cpu.items() if k.startswith("search") for t in v[1:]]
    return {"statuses": first, "timed": len(every),
            "p50_ms": ms(percentile(every, 0.5)), "p95_ms": ms(percentile(every, 0.95)),
            "search_pages_p50_ms": ms(percentile(search, 0.5)),
            "search_pages_p95_ms": ms(percentile(search, 0.95)),
            "search_pages_server_cpu_p50_ms": ms(percentile(search_cpu, 0.5)),
            "search_pages_server_cpu_p95_ms": ms(percentile(search_cpu, 0.95)),
            "by_page": {k: {"p50_ms": ms(percentile(v, 0.5)), "p95_ms": ms(percentile(v, 0.95)),
                            "server_cpu_p50_ms": ms(percentile(server_cpu[k][1:], 0.5))}
                        for k, v in wall.items()}}


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; 0 elsewhere), at
    the kernel's clock-tick resolution (10 ms): medians over several requests are meaningful."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles in the store")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached store")
    parser.add_argument("--no-http", action="store_true",
                        help="skip timing the pages through chavder web")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    path, meta = ensure_db(args.n, args.workers, args.rebuild)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    articles, stories = db.execute("SELECT COUNT(*), COUNT(DISTINCT story_id) FROM articles"
                                   ).fetchone()
    db.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    load_before = _loadavg()
    result = run(path, args.rounds)
    result["http"] = None if args.no_http else run_http(path, args.rounds)
    result.update(loadavg_before=load_before, loadavg_after=_loadavg(),
                  n=args.n, articles=articles, stories=stories, rounds=args.rounds,
                  db_mb=round(size / 2**20, 1), build_seconds=meta["build_seconds"],
                  cached=meta["cached"], goals=GOALS,
                  met={"search": result["search_page"]["p95_ms"] <= GOALS["search_p95_ms"],
                       "attention": result["attention"]["p95_ms"] <= GOALS["attention_p95_ms"]})
    print(f"{articles:,} articles in {stories:,} stories over {DAYS} days, DB {result['db_mb']} MB"
          f", built in {meta['build_seconds']} s ({'cached' if meta['cached'] else 'just built'})")
    for name, goal in (("search_page", GOALS["search_p95_ms"]), ("search_only", None),
                       ("search_total_only", None), ("attention", GOALS["attention_p95_ms"])):
        s = result[name]
        target = f" (goal p95 ≤ {goal:g} ms)" if goal else ""
        print(f"{name:<18} {s['timed']:>4} timed: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
              f"max {s['max_ms']} ms{target}; CPU p50 {s['cpu_p50_ms']} ms, "
              f"p95 {s['cpu_p95_ms']} ms")
    for name in ("search_page", "attention"):
        for label, v in result[name]["by_query"].items():
            extra = result["results"].get(label) if name == "search_page" else None
            more = f"  ({extra['hits']} rows of {extra['total']:,} stories)" if extra else ""
            print(f"  {label:<28} p50 {v['p50_ms']:>8} ms  p95 {v['p95_ms']:>8} ms  "
                  f"CPU p50 {v['cpu_p50_ms']:>7} ms{more}")
    http = result["http"]
    if http is None:
        print("HTTP: not timed (no crawler.web here, or --no-http)")
    else:
        print(f"HTTP via chavder web, {http['timed']} requests: p50 {http['p50_ms']} ms, p95 "
              f"{http['p95_ms']} ms; search pages (results + attention chart) p50 "
              f"{http['search_pages_p50_ms']} ms, p95 {http['search_pages_p95_ms']} ms; "
              f"server CPU p50 {http['search_pages_server_cpu_p50_ms']} ms, p95 "
              f"{http['search_pages_server_cpu_p95_ms']} ms")
        for label, v in http["by_page"].items():
            print(f"  {label:<32} p50 {v['p50_ms']:>8} ms  p95 {v['p95_ms']:>8} ms  "
                  f"server CPU p50 {v['server_cpu_p50_ms']:>6} ms (HTTP {http['statuses'][label]})")
    print(f"load average before / after: {result['loadavg_before']} / {result['loadavg_after']}"
          f" ({os.cpu_count()} CPUs)")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
