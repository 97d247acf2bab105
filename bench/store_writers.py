"""Story assignment and storing with several writer processes on one SQLite store.

Each writer stores its own copy of the same stories (outlets syndicating one wire), through
the path the crawl's StorePipeline takes (``StoryResolver.assign``: sketch outside the lock,
catch up + decide + upsert inside one ``BEGIN IMMEDIATE``). Prints per-article cost and the
number of stories, which must equal the number of distinct texts whatever the writer count:
    .venv/bin/python bench/store_writers.py --articles 2000 --writers 1 2 4
``--unshared`` takes the path of before (decide outside the transaction from this process's
own index, then upsert): the cost it saved, and the stories it split. ``--batch 1 8`` compares
one transaction per article with ``store_batch``'s one per 8 (the StorePipeline's default),
alternated in the same run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testsupport.articles import VOCABULARY  # noqa: E402


def _articles(count: int, outlet: str) -> list:
    from crawler.models import Article
    rng = random.Random(1)           # every outlet gets the same stories
    out = []
    for n in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(600)]
        if outlet != "w0":
            words = words[:450]          # shortened copy: a near duplicate, not exact
        body = " ".join(words)
        url = f"http://{outlet}.example/n/{n}"
        out.append(Article(source=outlet, url=url, canonical_url=url, title=f"{outlet} {n}",
                           body=body, language="ar", published_at=None,
                           content_hash=hashlib.sha1(body.encode()).hexdigest()))
    return out


def _writer(db: str, outlet: str, count: int, start_at: float, unshared: bool, batch: int,
            out: "multiprocessing.Queue") -> None:
    from crawler.dedup.stories import Candidate
    from crawler.urls import url_key
    from crawler.app import build_resolver
    from crawler.store import open_store
    from crawler.storing import StoreRequest, store_batch
    articles = _articles(count, outlet)
    store = open_store(f"sqlite:///{db}")
    resolver = build_resolver(store)
    time.sleep(max(0.0, start_at - time.time()))
    usage0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if unshared:   # the path of before: decided from this process's index, then written
        for article in articles:
            key, ts = url_key(article.canonical_url), time.time()
            decision = resolver.resolve(Candidate(key, article.body, "ar", ts, outlet,
                                                  article.content_hash))
            result = store.upsert(
                article, key, fingerprint=decision.fingerprint, signature=decision.signature,
                story_id=decision.story_id if decision.kind in ("duplicate", "join") else None,
                published_ts=ts)
            resolver.commit(decision, result.article_id, result.story_id, ts)
    else:          # the crawl's path: store_batch (store_article for a batch of one)
        requests = [StoreRequest(a, url_key(a.canonical_url), published_ts=time.time())
                    for a in articles]
        for start in range(0, len(requests), batch):
            outcomes, _lost = store_batch(store, resolver, requests[start:start + batch])
            assert all(isinstance(o, tuple) for o in outcomes), outcomes
    usage1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - wall0
    store.close()
    out.put((wall, usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime))


def run(articles: int, writers: int, unshared: bool = False, batch: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="chavder-writers-") as tmp:
        db = str(Path(tmp) / "c.db")
        from crawler.store import open_store
        open_store(f"sqlite:///{db}").close()
        per_writer = articles // writers
        queue: multiprocessing.Queue = multiprocessing.Queue()
        start_at = time.time() + 3.0
        procs = [multiprocessing.Process(target=_writer, args=(db, f"w{i}", per_writer,
                                                               start_at, unshared, batch,
                                                               queue))
                 for i in range(writers)]
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        con = sqlite3.connect(db)
        stored, stories = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT story_id) FROM articles").fetchone()
        con.close()
    wall = max(w for w, _cpu in results)
    cpu = sum(c for _w, c in results)
    return {"writers": writers, "batch": batch,
            "path": "unshared" if unshared else "assign",
            "articles": stored, "stories": stories,
            "expected_stories": per_writer, "articles_per_second": round(stored / wall, 1),
            "cpu_ms_per_article": round(1000 * cpu / stored, 2)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="in total, all writers")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--unshared", action="store_true",
                        help="also run the path of before (no shared transaction)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1],
                        help="articles per store transaction (crawler.storing.store_batch)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat, alternating")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    results = []
    for writers, _round, batch in ((w, r, b) for w in args.writers for r in range(args.rounds)
                                   for b in args.batch):
        for unshared in ([False, True] if args.unshared and batch == 1 else [False]):
            r = run(args.articles, writers, unshared, batch)
            results.append(r)
            print(f"{r['path']:>8}, {r['writers']} writer(s), {batch} a transaction: "
                  f"{r['articles']} articles in "
                  f"{r['stories']} stories (expected {r['expected_stories']}), "
                  f"{r['articles_per_second']} articles/s, {r['cpu_ms_per_article']} ms "
                  "CPU/article")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
