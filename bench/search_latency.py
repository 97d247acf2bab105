"""Search latency over N generated articles (default 1,000,000) in the SQLite store.

    .venv/bin/python bench/search_latency.py                    # 1 M articles (first run builds)
    .venv/bin/python bench/search_latency.py --n 50000 --json out.json
    .venv/bin/python bench/search_latency.py --n 2000 --verify  # bulk path == upsert path?

Articles are news items of 120–350 words in Arabic, Sorani and Kurmanji, built from the
templates and vocabularies of ``bench/alerts.py`` (places with Zipf-like frequency, villages,
three-word person names, organisations, topics, ~6 % unseen words), spread over two years and
12 sources; every 10th article is another outlet's copy of the previous story.

**How the database is built (the "bulk path").** The schema is created by ``SQLiteStore``
itself (its migrations), then rows go in with the columns ``SQLiteStore._insert`` writes
(``article_columns``, one ``stories`` row per story, representative set) and the FTS5 rows
``SQLiteStore._index`` writes (``index_terms(title)``, ``index_terms(body)`` — the production
analyser), in transactions of 5,000 rows, analysis spread over ``--workers`` processes. The
only difference from ``upsert`` is batching: the same schema, same rows, same FTS index.
``--verify`` builds a small database both ways and compares every article row (except the
wall-clock ``first_seen``), every story and every FTS row; the real upsert rate is also timed
on a sample, so the build time through ``upsert`` can be estimated.

Queries go through ``SQLiteStore.search(SearchQuery(...))``, exactly what ``chavder search``
calls, limit 20: common, medium and rare words, quoted phrases, AND, OR, and language / source /
date filters. One untimed warm-up pass, then ``--rounds`` timed passes; p50/p95/p99 overall
and per kind. The generated database is cached under ``bench/.cache/`` keyed by N and the
generator version (``--rebuild`` forces a new one).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.alerts import (ORGS, PLACES, SENTENCES, TITLES, TOPICS, VILLAGES,  # noqa: E402
                          _person, _rare_word)

GEN_VERSION = 1
LANGS = ("ar", "ckb", "kmr")
LANG_INDEX = {"ar": 0, "ckb": 1, "kmr": 2}
SOURCES = ("rudaw-ar", "rudaw-ckb", "rudaw-kmr", "anha-ar", "anha-kmr", "rok-online", "k24-ckb",
           "enab-baladi", "north-press-ar", "kurdistan24-ar", "hawar-kmr", "anf-kmr")
SOURCE_LANG = {s: ("ckb" if "ckb" in s else "kmr" if "kmr" in s else "ar") for s in SOURCES}
START = datetime(2023, 1, 1, tzinfo=timezone(timedelta(hours=3)))
SPAN_MINUTES = 2 * 365 * 24 * 60
CHUNK = 5000
CACHE = Path(__file__).resolve().parent / ".cache"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------------- generation
_PLACE_WEIGHTS = [1.0 / (k + 1) ** 0.8 for k in range(len(PLACES))]     # Zipf-like


def make_article(i: int, n: int, rng: random.Random) -> dict:
    """Article ``i`` of ``n`` (deterministic given the chunk's rng)."""
    from crawler.models import Article
    copy_of = i - 1 if i % 10 == 9 else None        # another outlet's copy of the previous story
    source = SOURCES[(i * 7 + (3 if copy_of is not None else 0)) % len(SOURCES)]
    lang = SOURCE_LANG[source]
    li = LANG_INDEX[lang]
    places = [p[li] for p in rng.choices(PLACES, weights=_PLACE_WEIGHTS,
                                         k=rng.choice((1, 2, 2, 3)))]
    if rng.random() < 0.5:
        places.append(rng.choice(VILLAGES)[li])
    people = [_person(rng, rng.choice((2, 2, 3)))[0 if lang in ("ar", "ckb") else 1]
              for _ in range(rng.randint(1, 3))]
    orgs = [o[li] for o in rng.sample(ORGS, rng.randint(1, 2))]
    topics = [t[li] for t in rng.sample(TOPICS, rng.randint(1, 2))]

    def fill(template: str) -> str:
        text = template.format(p=rng.choice(places), p2=rng.choice(places), o=rng.choice(orgs),
                               n=rng.choice(people), t=rng.choice(topics), d=rng.randint(2, 950))
        if rng.random() < 0.9:
            words = text.split(" ")
            for _ in range(rng.randint(1, 2)):
                words.insert(rng.randrange(len(words)), _rare_word(rng, lang))
            text = " ".join(words)
        return text

    title = fill(rng.choice(TITLES[lang]))
    paragraphs = [" ".join(fill(rng.choice(SENTENCES[lang])) for _ in range(rng.randint(2, 4)))
                  for _ in range(rng.randint(3, 6))]
    minute = int(SPAN_MINUTES * i / max(n, 1)) + rng.randint(0, 59)
    published = (START + timedelta(minutes=minute)).isoformat()
    url = f"https://{source}.example/news/{i}"
    return {"article": Article(source=source, url=url, canonical_url=url, title=title,
                               body="\n\n".join(paragraphs), language=lang,
                               published_at=published, authors=["Desk"],
                               fetched_at=published, content_hash=f"h{i:08x}"),
            "url_key": f"{source}.example/news/{i}", "copy_of": copy_of}


def make_chunk(args: tuple[int, int]) -> list[tuple]:
    """Rows for articles [start, start + CHUNK): (columns dict, fts title, fts body, copy_of)."""
    start, n = args
    from crawler.store.sqlite.articles import article_columns
    from crawler.text import index_terms
    rng = random.Random(1000 + start // CHUNK)
    out = []
    for i in range(start, min(start + CHUNK, n)):
        item = make_article(i, n, rng)
        a = item["article"]
        out.append((i, item["url_key"], article_columns(a), index_terms(a.title, a.language),
                    index_terms(a.body, a.language), item["copy_of"]))
    return out


def build_bulk(path: Path, n: int, workers: int, progress: bool = True) -> dict:
    """Create the schema with SQLiteStore, then insert rows + FTS rows in large transactions."""
    from crawler.store import SQLiteStore
    if path.exists():
        path.unlink()
    SQLiteStore(path).close()                         # schema exactly as the store makes it
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    first_seen = "2025-01-01T00:00:00+00:00"
    started = time.perf_counter()
    tasks = [(s, n) for s in range(0, n, CHUNK)]
    done = 0
    story_of: dict[int, int] = {}
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        chunks = pool.imap(make_chunk, tasks) if pool else map(make_chunk, tasks)
        for rows in chunks:
            db.execute("BEGIN")
            for i, key, cols, fts_title, fts_body, copy_of in rows:
                article_id = i + 1
                if copy_of is not None and copy_of + 1 in story_of:
                    story_id = story_of[copy_of + 1]
                    db.execute("UPDATE stories SET last_seen=? WHERE id=?", (first_seen, story_id))
                else:
                    story_id = db.execute(
                        "INSERT INTO stories(representative_id, first_seen, last_seen, "
                        "representative_ts) VALUES (?, ?, ?, NULL)",
                        (article_id, first_seen, first_seen)).lastrowid
                story_of[article_id] = story_id
                columns = list(cols) + ["id", "url_key", "first_seen", "index_updated_at",
                                        "story_id"]
                values = {**cols, "id": article_id, "url_key": key, "first_seen": first_seen,
                          "index_updated_at": None, "story_id": story_id}
                db.execute(f"INSERT INTO articles({', '.join(columns)}) VALUES "
                           f"({', '.join(':' + c for c in columns)})", values)
                db.execute("INSERT INTO articles_fts(rowid, title, body) VALUES (?, ?, ?)",
                           (article_id, fts_title, fts_body))
            db.execute("COMMIT")
            story_of = {k: v for k, v in story_of.items() if k > rows[-1][0] - 2}
            done += len(rows)
            if progress and (done % 50_000 < CHUNK or done == n):
                rate = done / (time.perf_counter() - started)
                print(f"  built {done:,}/{n:,} articles ({rate:,.0f}/s, "
                      f"eta {(n - done) / rate:,.0f} s)", flush=True)
    finally:
        if pool:
            pool.close()
            pool.join()
    db.execute("PRAGMA optimize")
    db.close()
    # the store's own connection settings (WAL) and close() (PRAGMA optimize)
    SQLiteStore(path).close()
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def build_upsert(path: Path, n: int) -> float:
    """The same articles through the real ``SQLiteStore.upsert`` path; returns seconds."""
    from crawler.store import SQLiteStore
    if path.exists():
        path.unlink()
    store = SQLiteStore(path)
    started = time.perf_counter()
    story_of: dict[int, int] = {}
    for start in range(0, n, CHUNK):
        rng = random.Random(1000 + start // CHUNK)
        for i in range(start, min(start + CHUNK, n)):
            item = make_article(i, n, rng)
            join = story_of.get(item["copy_of"] + 1) if item["copy_of"] is not None else None
            result = store.upsert(item["article"], item["url_key"], story_id=join)
            story_of[result.article_id] = result.story_id
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def verify(n: int, workdir: Path) -> dict:
    """Build ``n`` articles both ways and compare rows, stories and FTS contents."""
    a, b = workdir / "bulk.db", workdir / "upsert.db"
    bulk = build_bulk(a, n, workers=1, progress=False)
    upsert_seconds = build_upsert(b, n)
    da, db = sqlite3.connect(str(a)), sqlite3.connect(str(b))
    skip = {"first_seen"}
    cols = [r[1] for r in da.execute("PRAGMA table_info(articles)") if r[1] not in skip]
    q_articles = f"SELECT {', '.join(cols)} FROM articles ORDER BY id"
    q_stories = "SELECT id, representative_id FROM stories ORDER BY id"
    q_fts = "SELECT rowid, title, body FROM articles_fts ORDER BY rowid"
    q_schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    same = {name: da.execute(q).fetchall() == db.execute(q).fetchall()
            for name, q in (("articles", q_articles), ("stories", q_stories), ("fts", q_fts),
                            ("schema", q_schema))}
    same["user_version"] = (da.execute("PRAGMA user_version").fetchone()
                            == db.execute("PRAGMA user_version").fetchone())
    da.close()
    db.close()
    return {"n": n, "identical": all(same.values()), "checks": same,
            "bulk_seconds": bulk["build_seconds"], "upsert_seconds": round(upsert_seconds, 2),
            "upsert_per_second": round(n / upsert_seconds, 1),
            "bulk_per_second_one_worker": round(n / max(bulk["build_seconds"], 1e-9), 1)}


def ensure_db(n: int, workers: int, rebuild: bool) -> tuple[Path, dict]:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"search-{n}-v{GEN_VERSION}.db"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and not rebuild:
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        return path, meta
    for stale in CACHE.glob(f"search-{n}-v*.db*"):
        stale.unlink()
    print(f"building {n:,} articles into {path} ({workers} worker(s)) …", flush=True)
    building = path.with_suffix(".building")
    meta = build_bulk(building, n, workers)
    for suffix in ("-wal", "-shm"):
        extra = Path(str(building) + suffix)
        if extra.exists():
            extra.unlink()
    shutil.move(str(building), str(path))
    meta.update(n=n, generator_version=GEN_VERSION, workers=workers,
                built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["cached"] = False
    return path, meta


# ---------------------------------------------------------------------- queries
def query_set(n: int) -> list[tuple[str, dict]]:
    """(kind, SearchQuery kwargs). Rare words are taken from the generated articles."""
    rng = random.Random(1000)
    sample = [make_article(i, n, rng) for i in range(min(n, 300))]
    rare: list[str] = []
    people: list[str] = []
    for item in sample:
        a = item["article"]
        for word in a.body.split():
            w = word.strip(".,،")
            if w and all(ch.isalpha() for ch in w) and len(w) >= 5 and w not in rare \
                    and sum(1 for s in sample if w in s["article"].body) == 1:
                rare.append(w)
                break
    for item in sample[:40]:
        a = item["article"]
        if a.language == "kmr":
            for first in ("Ahmed", "Mohammed", "Ali", "Hassan", "Leyla", "Azad", "Dilan"):
                pos = a.body.find(first + " ")
                if pos >= 0:
                    people.append(" ".join(a.body[pos:].split()[:2]))
                    break
    mid = START + timedelta(minutes=SPAN_MINUTES // 2)
    month = (mid, mid + timedelta(days=30))
    q: list[tuple[str, dict]] = [
        ("common word", {"text": "الرقة"}),
        ("common word", {"text": "ڕەققە"}),
        ("common word", {"text": "Reqa"}),
        ("common word", {"text": "داعش"}),
        ("common + lang", {"text": "الرقة", "language": "ar"}),
        ("common + source", {"text": "Reqa", "source": "anf-kmr"}),
        ("common + month", {"text": "الحسكة", "since": month[0], "until": month[1]}),
        ("two words AND", {"text": "الرقة المياه"}),
        ("two words AND", {"text": "هەولێر ئاوارە"}),
        ("phrase", {"text": '"قوات سوريا الديمقراطية"'}),
        ("phrase", {"text": '"Hêzên Sûriya Demokratîk"'}),
        ("OR", {"text": "كوباني OR عفرين"}),
        ("medium (village)", {"text": '"تل الحمام"'}),
        ("medium (village)", {"text": '"Girê al-Zaytun"'}),
        ("medium + lang + month", {"text": "منبج", "language": "ar", "since": month[0],
                                   "until": month[1]}),
        ("no hit", {"text": "كلمةغيرموجودة"}),
    ]
    q += [("rare word", {"text": w}) for w in rare[:8]]
    q += [("person (phrase)", {"text": f'"{p}"'}) for p in people[:3]]
    return q


def run_queries(path: Path, queries: list[tuple[str, dict]], rounds: int) -> dict:
    from crawler.store import SearchQuery, SQLiteStore
    store = SQLiteStore(path)
    try:
        warm: list[float] = []
        hits: dict[str, int] = {}
        for kind, kw in queries:
            started = time.perf_counter()
            result = store.search(SearchQuery(limit=20, **kw))
            warm.append(time.perf_counter() - started)
            hits[kw["text"]] = len(result)
        times: list[float] = []
        by_kind: dict[str, list[float]] = {}
        slowest: tuple[float, str] = (0.0, "")
        for _ in range(rounds):
            for kind, kw in queries:
                started = time.perf_counter()
                store.search(SearchQuery(limit=20, **kw))
                elapsed = time.perf_counter() - started
                times.append(elapsed)
                by_kind.setdefault(kind, []).append(elapsed)
                if elapsed > slowest[0]:
                    slowest = (elapsed, f"{kind}: {kw['text']}")
    finally:
        store.close()
    ms = lambda v: round(1000 * v, 2)  # noqa: E731
    return {
        "queries": len(queries), "rounds": rounds, "timed": len(times),
        "p50_ms": ms(percentile(times, 0.5)), "p95_ms": ms(percentile(times, 0.95)),
        "p99_ms": ms(percentile(times, 0.99)), "max_ms": ms(max(times)),
        "mean_ms": ms(statistics.mean(times)),
        "first_pass_max_ms": ms(max(warm)), "first_pass_p50_ms": ms(percentile(warm, 0.5)),
        "slowest": slowest[1],
        "by_kind": {k: {"p50_ms": ms(percentile(v, 0.5)), "p95_ms": ms(percentile(v, 0.95)),
                        "n": len(v)} for k, v in by_kind.items()},
        "hits": hits,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="articles in the database")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the query set")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes analysing text while building")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cached database")
    parser.add_argument("--verify", action="store_true",
                        help="check bulk path == upsert path on a small sample, then exit")
    parser.add_argument("--verify-n", type=int, default=2000)
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    if args.verify:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="chavder-search-verify-") as tmp:
            result = verify(args.verify_n, Path(tmp))
        print(f"bulk path vs SQLiteStore.upsert on {result['n']:,} articles: "
              f"{'IDENTICAL' if result['identical'] else 'DIFFERENT'} {result['checks']}; "
              f"upsert {result['upsert_per_second']:,}/s, bulk (1 worker) "
              f"{result['bulk_per_second_one_worker']:,}/s")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        return result
    path, meta = ensure_db(args.n, args.workers, args.rebuild)
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    count = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    db.close()
    queries = query_set(args.n)
    result = run_queries(path, queries, args.rounds)
    result.update(n=args.n, articles=count, db_mb=round(size / 2**20, 1),
                  build_seconds=meta["build_seconds"], build_workers=meta.get("workers"),
                  cached=meta["cached"], path="bulk (see docstring)")
    print(f"{count:,} articles, DB {result['db_mb']:,} MB, built in {meta['build_seconds']} s "
          f"({'cached' if meta['cached'] else 'just built'})")
    print(f"{result['timed']} timed searches ({result['queries']} queries × {args.rounds}): "
          f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms; first pass max {result['first_pass_max_ms']} ms")
    for kind, v in result["by_kind"].items():
        print(f"  {kind:<24} p50 {v['p50_ms']:>8} ms  p95 {v['p95_ms']:>8} ms")
    print(f"  slowest: {result['slowest']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
