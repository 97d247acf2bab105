"""Scale benchmark of the near-duplicate index: 1,000,000 synthetic stories by default.

    .venv/bin/python bench/dedup_scale.py                  # 1M stories (a few minutes)
    .venv/bin/python bench/dedup_scale.py --n 100000 --json /tmp/dedup-scale.json
    .venv/bin/python bench/dedup_scale.py --n 100000 --datasketch 100000   # compare

Signatures come from random text: documents of 120–600 words drawn from a 60,000-word
vocabulary, with 0–3 stock phrases from a shared pool so unrelated documents share some shingles
as news on one topic does. Word hashing, shingling and MinHash are the production functions,
batched (``sketch`` from a real article string is timed separately). Printed: insert rate,
lookup latency p50/p95 (fresh documents and near-duplicates of indexed ones), near-duplicate
recall at this size, eviction of half the window, rebuild of the index from a SQLite table of
``(article_id, story_id, signature, ts)`` rows, and peak RSS. Goals (issue 5): lookup ≤ 1 ms
median, peak RSS ≤ 2 GB.
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.dedup.index import DAY, NearDuplicateIndex  # noqa: E402
from crawler.urls import url_key  # noqa: E402
from crawler.dedup.minhash import (NUM_PERM, SHINGLE_SIZE, Sketch, minhash_of,  # noqa: E402
                                   shingles_from_word_hashes, sketch, word_hashes)

VOCAB = 60_000
PHRASES = 20_000
WINDOW_DAYS = 30.0
SAMPLE_TEXT = ("قالت وزارة الدفاع الروسية اليوم الخميس إنها ستقصف عناصر تنظيم الدولة الإسلامية "
               "خلال محاولتهم الفرار من مدينة الرقة السورية، مشيرة إلى أنها نفذت عمليتي قصف. ")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Corpus:
    """Random documents as word-hash arrays (what ``crawler.dedup.minhash`` hashes words to)."""

    def __init__(self, seed: int = 7):
        self.rng = np.random.default_rng(seed)
        words = [f"w{i:05d}ك" for i in range(VOCAB)]
        self.word_hashes = word_hashes(words)
        self.phrases = [self.rng.integers(0, VOCAB, self.rng.integers(8, 21))
                        for _ in range(PHRASES)]
        # Zipf-like word frequencies: a few very common words, a long tail
        weights = 1.0 / np.arange(1, VOCAB + 1) ** 0.9
        self.cdf = np.cumsum(weights / weights.sum())

    def document(self) -> np.ndarray:
        length = int(self.rng.integers(120, 601))
        ids = np.searchsorted(self.cdf, self.rng.random(length))
        ids = np.minimum(ids, VOCAB - 1)
        parts = [ids]
        for _ in range(int(self.rng.integers(0, 4))):
            phrase = self.phrases[int(self.rng.integers(0, PHRASES))]
            cut = int(self.rng.integers(0, length))
            parts = [ids[:cut], phrase, ids[cut:]]
            ids = np.concatenate(parts)
        return ids

    def shingles(self, ids: np.ndarray, k: int = SHINGLE_SIZE) -> np.ndarray:
        return shingles_from_word_hashes(self.word_hashes[ids], k)


def signature_of(shingles: np.ndarray) -> bytes:
    return Sketch(shingles, minhash_of(shingles, NUM_PERM), SHINGLE_SIZE).to_bytes()


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def url_key_rate(count: int = 200_000) -> float:
    """Distinct URLs per second through ``url_key`` (cold cache): tracking parameters, AMP and
    mobile variants, raw and percent-encoded Arabic slugs."""
    slug = "الرقة-قوات-سوريا-الديمقراطية"
    encoded = "%D8%A7%D9%84%D8%B1%D9%82%D8%A9-%D8%AF%D8%A7%D8%B9%D8%B4"
    shapes = ("https://www.rudaw.net/arabic/middleeast/syria/{i}?utm_source=fb&fbclid=x{i}",
              "https://npasyria.com/" + slug + "-{i}/",
              "https://m.kurdistan24.net/ckb/story/" + encoded + "/{i}",
              "https://anfkurdi.com/amp/rojane/sengal-{i}?amp=1#top")
    urls = [shapes[i % 4].format(i=i) for i in range(count)]
    started = time.perf_counter()
    for url in urls:
        url_key(url)
    return count / (time.perf_counter() - started)


def run(n: int, queries: int, seed: int) -> dict:
    result: dict = {"n": n, "num_perm": NUM_PERM, "shingle_size": SHINGLE_SIZE,
                    "url_key_per_s": round(url_key_rate())}
    corpus = Corpus(seed)
    index = NearDuplicateIndex(0.3, NUM_PERM, WINDOW_DAYS)
    result["bands_x_rows"] = f"{index.bands}x{index.rows}"
    t0 = 1_700_000_000.0
    span = WINDOW_DAYS * DAY
    keep_every = max(1, n // queries)
    kept: list[tuple[int, np.ndarray]] = []
    sig_seconds = add_seconds = 0.0
    db_dir = tempfile.TemporaryDirectory(prefix="chavder-dedup-")
    db = sqlite3.connect(str(Path(db_dir.name) / "sigs.db"))
    db.execute("CREATE TABLE sigs (article_id INTEGER PRIMARY KEY, story_id INTEGER, "
               "signature BLOB, ts REAL)")
    batch: list[tuple[int, int, bytes, float]] = []
    print(f"inserting {n:,} synthetic stories (num_perm={NUM_PERM}, k={SHINGLE_SIZE}, "
          f"bands x rows = {index.bands} x {index.rows}) …", flush=True)
    wall = time.perf_counter()
    for i in range(n):
        ids = corpus.document()
        started = time.perf_counter()
        sig = signature_of(corpus.shingles(ids))
        mid = time.perf_counter()
        ts = t0 + span * i / n
        index.add(i + 1, i + 1, sig, ts)
        add_seconds += time.perf_counter() - mid
        sig_seconds += mid - started
        batch.append((i + 1, i + 1, sig, ts))
        if len(batch) == 50_000:
            db.executemany("INSERT INTO sigs VALUES (?, ?, ?, ?)", batch)
            batch.clear()
        if i % keep_every == 0 and len(kept) < queries:
            kept.append((i + 1, ids))
        if (i + 1) % 200_000 == 0:
            print(f"  {i + 1:,} in {time.perf_counter() - wall:.0f} s, "
                  f"peak RSS {peak_rss_mb():.0f} MB", flush=True)
    if batch:
        db.executemany("INSERT INTO sigs VALUES (?, ?, ?, ?)", batch)
        batch.clear()
    db.commit()
    result["insert_per_s"] = round(n / add_seconds)
    result["signature_per_s_batched_words"] = round(n / sig_seconds)
    result["index_stats"] = index.stats()
    result["rss_after_insert_mb"] = round(peak_rss_mb())

    # -------- lookups: fresh documents and near-duplicates of indexed ones
    now = t0 + span
    fresh_sigs = [signature_of(corpus.shingles(corpus.document())) for _ in range(queries)]
    near_sigs = []
    for article_id, ids in kept:
        cut = ids[: max(SHINGLE_SIZE + 1, int(len(ids) * 0.6))]      # truncated copy …
        extra = corpus.rng.integers(0, VOCAB, 25)                      # … with other furniture
        near_sigs.append((article_id, signature_of(corpus.shingles(np.concatenate([cut, extra])))))
    fresh_times, near_times, candidates = [], [], []
    found = 0
    for sig in fresh_sigs:
        started = time.perf_counter()
        matches = index.query(sig, at=now)
        fresh_times.append(time.perf_counter() - started)
        candidates.append(len(matches))
    for article_id, sig in near_sigs:
        started = time.perf_counter()
        matches = index.query(sig, at=now)
        near_times.append(time.perf_counter() - started)
        found += any(m.article_id == article_id and m.containment >= 0.4 for m in matches)
    result["lookup_fresh_ms"] = {"p50": round(percentile_ms(fresh_times, 50), 4),
                                 "p95": round(percentile_ms(fresh_times, 95), 4),
                                 "max": round(percentile_ms(fresh_times, 100), 4)}
    result["lookup_near_dup_ms"] = {"p50": round(percentile_ms(near_times, 50), 4),
                                    "p95": round(percentile_ms(near_times, 95), 4)}
    result["fresh_candidates_mean"] = round(float(np.mean(candidates)), 3)
    result["near_dup_found"] = round(found / max(1, len(near_sigs)), 4)

    # -------- eviction of the older half of the window (with compaction)
    started = time.perf_counter()
    evicted = index.evict_older_than(t0 + span / 2)
    result["evict_half_s"] = round(time.perf_counter() - started, 3)
    result["evicted"] = evicted
    started = time.perf_counter()
    for sig in fresh_sigs[:1000]:
        index.query(sig, at=now)
    result["lookup_after_evict_ms_mean"] = round((time.perf_counter() - started) / 1000 * 1000, 4)
    del index, fresh_sigs, near_sigs, kept
    gc.collect()

    # -------- rebuild from stored rows
    started = time.perf_counter()
    rebuilt = NearDuplicateIndex.from_rows(
        db.execute("SELECT article_id, story_id, signature, ts FROM sigs"),
        threshold=0.3, num_perm=NUM_PERM, window_days=WINDOW_DAYS)
    result["rebuild_s"] = round(time.perf_counter() - started, 2)
    result["rebuilt_live"] = len(rebuilt)
    db.close()
    db_dir.cleanup()

    # -------- sketch from a real article string (normalise, split, shingle, MinHash)
    text = SAMPLE_TEXT * 12
    started = time.perf_counter()
    for _ in range(300):
        sketch(text, "ar")
    result["sketch_ms_per_article_text"] = round((time.perf_counter() - started) / 300 * 1000, 3)
    result["sketch_text_words"] = len(text.split())
    result["peak_rss_mb"] = round(peak_rss_mb())
    return result


def datasketch_compare(n: int, seed: int) -> dict:
    """Build datasketch's MinHashLSH with the same signatures and banding, in a subprocess
    (so its peak RSS is its own); also time datasketch's MinHash over one text."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
import numpy as np
from datasketch import MinHash, MinHashLSH, LeanMinHash
from bench.dedup_scale import Corpus, SAMPLE_TEXT
from crawler.dedup.fingerprint import words
from crawler.dedup.minhash import minhash_of, sketch_words, NUM_PERM
corpus = Corpus({seed})
lsh = MinHashLSH(num_perm=NUM_PERM, params=(32, 2))
spent = 0.0
for i in range({n}):
    values = minhash_of(corpus.shingles(corpus.document()), NUM_PERM).astype(np.uint64)
    m = LeanMinHash(seed=1, hashvalues=values, scheme="legacy")
    t = time.perf_counter(); lsh.insert(i, m); spent += time.perf_counter() - t
toks = words(SAMPLE_TEXT * 12, "ar")
shingles = [" ".join(toks[i:i + 4]).encode() for i in range(len(toks) - 3)]
t = time.perf_counter()
for _ in range(100):
    mh = MinHash(num_perm=NUM_PERM); mh.update_batch(shingles)
sketch_ms = (time.perf_counter() - t) / 100 * 1000
t = time.perf_counter()
for _ in range(100):
    sketch_words(toks)
ours_ms = (time.perf_counter() - t) / 100 * 1000
print(json.dumps({{"n": {n}, "insert_per_s": round({n} / spent),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "minhash_ms_per_article_words": round(sketch_ms, 3),
                  "ours_ms_per_article_words": round(ours_ms, 3), "words": len(toks)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"datasketch comparison failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="stories to index")
    parser.add_argument("--queries", type=int, default=2000, help="lookups of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--datasketch", type=int, default=0, metavar="N",
                        help="also build datasketch.MinHashLSH with N signatures")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = run(args.n, args.queries, args.seed)
    result["total_s"] = round(time.perf_counter() - started, 1)
    if args.datasketch:
        result["datasketch"] = datasketch_compare(args.datasketch, args.seed)
    fresh, near = result["lookup_fresh_ms"], result["lookup_near_dup_ms"]
    print(f"\nurl_key                {result['url_key_per_s']:,} distinct URLs/s (goal ≥ 50,000)")
    print(f"stories indexed        {args.n:,}")
    print(f"insert rate            {result['insert_per_s']:,}/s (index.add, signature given)")
    print(f"signatures (batched)   {result['signature_per_s_batched_words']:,}/s "
          f"(from word hashes; from article text: {result['sketch_ms_per_article_text']} ms "
          f"per {result['sketch_text_words']}-word article)")
    print(f"lookup, fresh doc      p50 {fresh['p50']:.3f} ms  p95 {fresh['p95']:.3f} ms  "
          f"max {fresh['max']:.3f} ms  (goal p50 ≤ 1 ms; "
          f"{result['fresh_candidates_mean']} candidates on average)")
    print(f"lookup, near-dup       p50 {near['p50']:.3f} ms  p95 {near['p95']:.3f} ms  "
          f"(60 % truncation + other furniture found: {result['near_dup_found']:.2%})")
    print(f"evict half the window  {result['evict_half_s']} s ({result['evicted']:,} rows)")
    print(f"rebuild from SQLite    {result['rebuild_s']} s for {result['rebuilt_live']:,} rows")
    print(f"index arrays           {result['index_stats']['array_bytes'] / 2**20:.0f} MB "
          f"({result['index_stats']['band_entries']:,} band entries)")
    print(f"peak RSS               {result['peak_rss_mb']:,} MB (after inserts: "
          f"{result['rss_after_insert_mb']:,} MB; goal ≤ 2048 MB)")
    if "datasketch" in result:
        ds = result["datasketch"]
        print(f"datasketch MinHashLSH  {ds['n']:,} inserts: {ds['insert_per_s']:,}/s, peak RSS "
              f"{ds['peak_rss_mb']:,} MB (whole process, same signatures and banding)")
        print(f"MinHash of one article {ds['minhash_ms_per_article_words']} ms with datasketch "
              f"(update_batch over {ds['words']} words' shingles) vs "
              f"{ds['ours_ms_per_article_words']} ms here (word hashes, shingles, MinHash)")
    print(f"total                  {result['total_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
