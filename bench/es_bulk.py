"""Search engines for real: bulk indexing, crawl throughput and search latency on real nodes.

    .venv/bin/python bench/es_bulk.py                          # Elasticsearch 8, default sizes
    .venv/bin/python bench/es_bulk.py --engine opensearch --json out.json
    .venv/bin/python bench/es_bulk.py --reindex-n 2000 --crawl-n 300 --search-n 20000  # quick

One node per engine is started from ``build/engines/`` (``testsupport/engine_node.py``: the
same node as the test suite, 512 MB heap), on this machine, in the same run as the SQLite
figures it is compared with:

1. **Bulk indexing** — ``chavder es reindex --from sqlite:///…`` (the real command, a
   subprocess) on ``--reindex-n`` generated articles (``bench/search_latency.py``'s generator
   and bulk path): documents/s.
2. **Crawl into the engine vs into SQLite** — the same generated outlet (``bench/sitegen.py``,
   ``--crawl-n`` pages) crawled once into SQLite and once into the engine store (sidecar +
   spool + background bulk replay), articles/s end to end; for the engine also the time until
   the spool is drained, i.e. whether indexing ever holds the crawl back.
3. **Search latency** — ``--search-n`` generated articles in SQLite (FTS5) and reindexed into
   the engine; ``bench/search_latency.py``'s query set through ``SQLiteStore.search`` and
   ``ElasticsearchStore.search`` (what ``chavder search`` calls), one warm-up pass, then
   ``--rounds`` timed passes: p50/p95 for each backend.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_latency import ensure_db, percentile, query_set  # noqa: E402
from testsupport.engine_node import EngineNode  # noqa: E402


def _chavder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=3600,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if proc.returncode != 0:
        raise RuntimeError(f"chavder {' '.join(args)}: exit {proc.returncode}\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def document_rate(db: Path, limit: int = 2000) -> float:
    """Documents/s of building bulk documents alone (Chavder's own analysis of title and
    body, ``article_document``), no network: the client-side share of the bulk figure."""
    import sqlite3
    from crawler.store.elasticsearch import article_document
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM articles LIMIT ?", (limit,))]
    con.close()
    started = time.perf_counter()
    for row in rows:
        article_document(row)
    return round(len(rows) / (time.perf_counter() - started), 1)


def reindex(node: EngineNode, db: Path, alias: str, work: Path) -> dict:
    url = (f"{node.store_url}/?alias={alias}&alerts_alias={alias}-alerts"
           f"&sidecar={work / f'{alias}-side.db'}&spool={work / f'{alias}-spool.db'}")
    started = time.perf_counter()
    out = _chavder("es", "reindex", "--store", url, "--from", f"sqlite:///{db}", "--json",
                   "--progress-interval", "30", cwd=work)
    wall = time.perf_counter() - started
    summary = json.loads(out.stdout)
    node.request("POST", f"/{alias}/_refresh")
    count = node.request("GET", f"/{alias}/_count")["count"]
    return {"articles": summary["articles"], "failed": summary["failed"], "indexed": count,
            "seconds": round(wall, 2), "docs_per_second": round(summary["articles"] / wall, 1)}


def crawl_once(url: str, sitemap: str, data: Path, n: int) -> dict:
    """One crawl of the generated outlet into ``url`` (run in its own process: Twisted's
    reactor cannot be restarted)."""
    from crawler.app import Chavder
    from crawler.config import Settings, SourceConfig
    from crawler.crawl import run_crawl
    from crawler.logs import setup_logging
    setup_logging("WARNING")
    source = SourceConfig(id="bench", name="Bench", kind="sitemap", start_urls=[sitemap],
                          timezone="Asia/Baghdad", max_articles=n + 10, allow_private=True,
                          allowed_domains=["127.0.0.1"])
    settings = Settings(store=url, data_dir=str(data), concurrent_per_domain=8,
                        download_timeout=30)
    app = Chavder.from_config(settings=settings, sources=[source])
    store = app.store
    started = time.perf_counter()
    run_crawl(app, [source], {"AUTOTHROTTLE_ENABLED": False, "CHAVDER_PROGRESS_INTERVAL": 0,
                              "CONCURRENT_REQUESTS": 32})
    crawled = time.perf_counter() - started
    stored = store.count_articles()
    row = {"stored": stored, "crawl_seconds": round(crawled, 2),
           "articles_per_second": round(stored / crawled, 1)}
    if hasattr(store, "spool_size"):
        row["spool_left_when_crawl_ended"] = store.spool_size()
        deadline = time.monotonic() + 600
        while store.spool_size() and time.monotonic() < deadline:
            if not store.flush().ok:
                time.sleep(0.5)
        row["spool_left"] = store.spool_size()
        drained = time.perf_counter() - started
        row["seconds_until_indexed"] = round(drained, 2)
        row["articles_per_second_until_indexed"] = round(stored / drained, 1)
    app.close()
    return row


def crawl_compare(node: EngineNode, n: int, work: Path) -> dict:
    from bench.sitegen import generate_site
    from testsupport.fixtureweb import FixtureWebProcess
    root = work / "web"
    generate_site(root, n)
    out: dict[str, dict] = {}
    with FixtureWebProcess(root) as web:
        for backend in ("sqlite", node.engine):
            data = work / f"crawl-{backend}"
            data.mkdir()
            url = (f"sqlite:///{data}/chavder.db" if backend == "sqlite" else
                   f"{node.store_url}/?alias=bench-crawl&alerts_alias=bench-crawl-alerts"
                   "&flush_interval=0.5")
            proc = subprocess.run([sys.executable, __file__, "--crawl-one", url,
                                   web.base("bench") + "/sitemap.xml", str(data), str(n)],
                                  capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise RuntimeError(f"crawl into {backend} failed:\n{proc.stderr[-3000:]}")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            if backend != "sqlite":
                node.request("POST", "/bench-crawl/_refresh")
                row["indexed"] = node.request("GET", "/bench-crawl/_count")["count"]
            out[backend] = row
    return out


def latency(node: EngineNode, db: Path, n: int, alias: str, work: Path, rounds: int) -> dict:
    from crawler.store import SearchQuery, SQLiteStore
    from crawler.store.elasticsearch import ElasticsearchStore, EsConfig
    queries = query_set(n)
    sqlite = SQLiteStore(db)
    cfg = EsConfig.from_url(f"{node.store_url}/?alias={alias}&alerts_alias={alias}-alerts",
                            work)
    engine = ElasticsearchStore(cfg, sidecar=SQLiteStore(work / "latency-side.db"),
                                spool=work / "latency-spool.db", background=False)
    results: dict[str, dict] = {}
    try:
        for name, store in (("sqlite", sqlite), (node.engine, engine)):
            hits = {}
            for _, kw in queries:                                      # warm-up
                hits[kw["text"]] = len(store.search(SearchQuery(limit=20, **kw)))
            times: list[float] = []
            for _ in range(rounds):
                for _, kw in queries:
                    t = time.perf_counter()
                    store.search(SearchQuery(limit=20, **kw))
                    times.append(time.perf_counter() - t)
            if name != "sqlite":
                assert store.last_search_backend == node.engine, "fell back to SQLite"
            results[name] = {"p50_ms": round(1000 * percentile(times, 0.5), 2),
                             "p95_ms": round(1000 * percentile(times, 0.95), 2),
                             "timed": len(times),
                             "queries_with_hits": sum(1 for v in hits.values() if v)}
    finally:
        sqlite.close()
        engine.close(timeout=0)
    return {"articles": n, "queries": len(queries), "rounds": rounds, **results}


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--crawl-one"]:
        url, sitemap, data, n = argv[1:5]
        print(json.dumps(crawl_once(url, sitemap, Path(data), int(n))))
        return {}
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("elasticsearch", "opensearch"),
                        default="elasticsearch")
    parser.add_argument("--reindex-n", type=int, default=10_000)
    parser.add_argument("--crawl-n", type=int, default=1000)
    parser.add_argument("--search-n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    result: dict = {"engine": args.engine}
    with tempfile.TemporaryDirectory(prefix="chavder-es-bench-") as tmp:
        work = Path(tmp)
        node = EngineNode(args.engine, home=work / "node")
        try:
            node.start()
            result["node_startup_seconds"] = round(node.startup_seconds[-1], 1)
            info = node.request("GET", "/")
            result["server_version"] = info["version"]["number"]
            print(f"{args.engine} {result['server_version']} up in "
                  f"{result['node_startup_seconds']} s at {node.url}", flush=True)
            db, _ = ensure_db(args.reindex_n, args.workers, False)
            result["bulk"] = reindex(node, db, "bench-bulk", work)
            result["bulk"]["documents_built_per_second_alone"] = document_rate(db)
            print(f"bulk: {result['bulk']}", flush=True)
            if args.crawl_n:
                result["crawl"] = crawl_compare(node, args.crawl_n, work)
                print(f"crawl: {result['crawl']}", flush=True)
            if args.search_n:
                big, _ = ensure_db(args.search_n, args.workers, False)
                result["search_reindex"] = reindex(node, big, "bench-search", work)
                print(f"reindex {args.search_n}: {result['search_reindex']}", flush=True)
                result["search"] = latency(node, big, args.search_n, "bench-search", work,
                                           args.rounds)
                print(f"search: {result['search']}", flush=True)
        finally:
            node.close()
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
