"""Same-story precision/recall of Chavder's dedup on the labelled pair set.

    .venv/bin/python bench/dedup_eval.py                 # default parameters, both modes
    .venv/bin/python bench/dedup_eval.py --sweep         # shingle size, thresholds, num_perm
    .venv/bin/python bench/dedup_eval.py --json out.json

Modes (both run the real ``StoryResolver``: fingerprint, LSH index, exact verification):

* pairwise — for each pair a fresh store: store ``a``, resolve ``b``; predicted "same story" when
  ``b`` is a duplicate of / joins ``a``'s story;
* corpus — every distinct article of the set streamed into *one* store in publication order
  (the clock follows the stream), then a pair is "same story" when both ended in one story.
  This also catches an article joining the wrong story among 200+ others.

Goals: precision ≥ 0.98, recall ≥ 0.95 (issue 5). Pairs: ``bench/data/dedup/pairs.jsonl``
(see the README there for what is hand-written and what is generated).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.dedup.index import NearDuplicateIndex  # noqa: E402
from crawler.dedup.memory import MemoryStories  # noqa: E402
from crawler.dedup.minhash import minhash_of, shingle_hashes, similarity  # noqa: E402
from crawler.dedup.stories import Candidate, DedupConfig, StoryResolver  # noqa: E402

PAIRS = Path(__file__).resolve().parent / "data" / "dedup" / "pairs.jsonl"
GOALS = {"precision": 0.98, "recall": 0.95}


def load_pairs(path: Path = PAIRS) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _ts(article: dict) -> float:
    return datetime.fromisoformat(article["published"]).timestamp()


def _candidate(article: dict, lang: str) -> Candidate:
    digest = hashlib.blake2b((article["title"] + article["body"]).encode(),
                             digest_size=8).hexdigest()
    return Candidate(f"{article['source']}.example/{digest}", article["body"], lang,
                     _ts(article), article["source"])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _store(resolver: StoryResolver, stories: MemoryStories, clock: Clock,
           cand: Candidate) -> tuple[str, int]:
    clock.now = cand.published_ts
    decision = resolver.resolve(cand)
    article_id, story_id = stories.apply(cand, decision)
    resolver.commit(decision, article_id, story_id, cand.published_ts)
    return decision.kind, story_id


def pairwise(pairs: list[dict], config: DedupConfig) -> list[bool]:
    predicted = []
    for pair in pairs:
        stories, clock = MemoryStories(), Clock()
        resolver = StoryResolver(stories, config, clock=clock)
        a, b = _candidate(pair["a"], pair["lang"]), _candidate(pair["b"], pair["lang"])
        _, story_a = _store(resolver, stories, clock, a)
        clock.now = b.published_ts
        decision = resolver.resolve(b)
        predicted.append(decision.kind in ("duplicate", "join") and decision.story_id == story_a)
    return predicted


def corpus(pairs: list[dict], config: DedupConfig) -> tuple[list[bool], dict]:
    articles: dict[str, Candidate] = {}
    for pair in pairs:
        for side in ("a", "b"):
            cand = _candidate(pair[side], pair["lang"])
            articles[cand.url_key] = cand
    stories, clock = MemoryStories(), Clock()
    resolver = StoryResolver(stories, config, clock=clock)
    story_of: dict[str, int] = {}
    kinds: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for cand in sorted(articles.values(), key=lambda c: (c.published_ts, c.url_key)):
        kind, story_of[cand.url_key] = _store(resolver, stories, clock, cand)
        kinds[kind] += 1
    elapsed = time.perf_counter() - started
    predicted = [story_of[_candidate(p["a"], p["lang"]).url_key]
                 == story_of[_candidate(p["b"], p["lang"]).url_key] for p in pairs]
    return predicted, {"articles": len(articles), "stories": len(stories.stories),
                       "decisions": dict(kinds),
                       "ms_per_article": round(1000 * elapsed / len(articles), 3)}


def scores(pairs: list[dict], predicted: list[bool]) -> dict:
    def prf(items: list[tuple[bool, bool]]) -> dict:
        tp = sum(1 for truth, pred in items if truth and pred)
        fp = sum(1 for truth, pred in items if not truth and pred)
        fn = sum(1 for truth, pred in items if truth and not pred)
        return {"pairs": len(items), "tp": tp, "fp": fp, "fn": fn,
                "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
                "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0}

    items = [(p["same_story"], pred) for p, pred in zip(pairs, predicted)]
    by_lang: dict[str, list] = defaultdict(list)
    by_type: dict[str, list] = defaultdict(list)
    for pair, item in zip(pairs, items):
        by_lang[pair["lang"]].append(item)
        by_type[pair["type"]].append(item)
    types = {}
    for kind, rows in by_type.items():
        truth = rows[0][0]
        same_rate = sum(pred for _, pred in rows) / len(rows)
        types[kind] = {"pairs": len(rows), "same_story": truth,
                       "predicted_same": round(same_rate, 4),
                       "errors": sum(pred != t for t, pred in rows)}
    errors = [p["id"] for p, (truth, pred) in zip(pairs, items) if truth != pred]
    return {"all": prf(items), "by_language": {k: prf(v) for k, v in sorted(by_lang.items())},
            "by_type": types, "errors": errors}


def print_scores(title: str, result: dict) -> None:
    overall = result["all"]
    print(f"\n== {title}: precision {overall['precision']:.4f} (goal ≥ {GOALS['precision']}), "
          f"recall {overall['recall']:.4f} (goal ≥ {GOALS['recall']}) "
          f"on {overall['pairs']} pairs (tp {overall['tp']}, fp {overall['fp']}, "
          f"fn {overall['fn']})")
    print(f"   {'language':10s} {'pairs':>5s} {'precision':>9s} {'recall':>7s}")
    for lang, row in result["by_language"].items():
        print(f"   {lang:10s} {row['pairs']:5d} {row['precision']:9.4f} {row['recall']:7.4f}")
    print(f"   {'pair type':24s} {'label':9s} {'pairs':>5s} {'judged same':>11s} {'errors':>6s}")
    for kind, row in result["by_type"].items():
        label = "same" if row["same_story"] else "different"
        print(f"   {kind:24s} {label:9s} {row['pairs']:5d} {row['predicted_same']:11.3f} "
              f"{row['errors']:6d}")
    if result["errors"]:
        print("   misjudged:", ", ".join(result["errors"]))


# ---------------------------------------------------------------------------------- sweep
def sweep(pairs: list[dict], base: DedupConfig) -> dict:
    """Exact-verification accuracy per shingle size and thresholds; LSH candidate recall per
    num_perm. Chooses nothing by itself: it prints the evidence for the defaults."""
    out: dict = {"shingle_size": {}, "num_perm": {}}
    print("\n== exact similarity per shingle size (positives: lowest; negatives: highest)")
    print(f"   {'k':>2s} {'pos J min':>9s} {'pos C min':>9s} {'neg J max':>9s} {'neg C max':>9s}"
          f" {'best F1 thresholds (J, C)':>26s} {'P':>6s} {'R':>6s}")
    sets: dict[int, list] = {}
    for k in (2, 3, 4, 5, 6):
        rows = []
        for pair in pairs:
            a = shingle_hashes(pair["a"]["body"], pair["lang"], k)
            b = shingle_hashes(pair["b"]["body"], pair["lang"], k)
            jac, con = similarity(a, b)
            rows.append((pair["same_story"], jac, con, min(a.size, b.size), a, b))
        sets[k] = rows
        pos = [r for r in rows if r[0]]
        neg = [r for r in rows if not r[0]]
        best = None
        for jt in [x / 100 for x in range(20, 71, 5)]:
            for ct in [x / 100 for x in range(40, 101, 5)]:
                pred = [(j >= jt or (c >= ct and m >= base.containment_min_size))
                        for _, j, c, m, _, _ in rows]
                tp = sum(1 for r, p in zip(rows, pred) if r[0] and p)
                fp = sum(1 for r, p in zip(rows, pred) if not r[0] and p)
                fn = sum(1 for r, p in zip(rows, pred) if r[0] and not p)
                prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
                f1 = 2 * prec * rec / max(1e-9, prec + rec)
                # among equal F1, prefer the thresholds in the middle of the gaps
                margin = min(min(r[1] for r in pos) - jt, jt - max(r[1] for r in neg),
                             min(r[2] for r in pos) - ct, ct - max(r[2] for r in neg))
                key = (round(f1, 6), margin)
                if best is None or key > best[0]:
                    best = (key, jt, ct, prec, rec)
        assert best is not None
        row = {"pos_j_min": round(min(r[1] for r in pos), 3),
               "pos_c_min": round(min(r[2] for r in pos), 3),
               "neg_j_max": round(max(r[1] for r in neg), 3),
               "neg_c_max": round(max(r[2] for r in neg), 3),
               "best_j": best[1], "best_c": best[2], "precision": round(best[3], 4),
               "recall": round(best[4], 4)}
        out["shingle_size"][k] = row
        print(f"   {k:2d} {row['pos_j_min']:9.3f} {row['pos_c_min']:9.3f} {row['neg_j_max']:9.3f}"
              f" {row['neg_c_max']:9.3f} {str((best[1], best[2])):>26s} {best[3]:6.3f}"
              f" {best[4]:6.3f}")

    print(f"\n== LSH candidate recall on same-story pairs (k={base.k}, candidate threshold "
          f"{base.lsh_threshold}), estimate error, and the full pipeline per num_perm")
    print(f"   {'num_perm':>8s} {'bands x rows':>12s} {'cand. recall':>12s} {'|est-J| mean':>12s}"
          f" {'pipeline P':>10s} {'pipeline R':>10s} {'bytes/sig':>9s}")
    rows = sets[base.k]
    for num_perm in (16, 32, 64, 128):
        index = NearDuplicateIndex(base.lsh_threshold, num_perm, k=base.k)
        found = errors = 0
        positives = 0
        for truth, jac, _, _, a, b in rows:
            ma, mb = minhash_of(a, num_perm), minhash_of(b, num_perm)
            errors += abs(float((ma == mb).mean()) - jac)
            if truth:
                positives += 1
                keys_a = index._band_keys(ma[None, :])[0]
                keys_b = index._band_keys(mb[None, :])[0]
                found += bool((keys_a == keys_b).any())
        cfg = replace(base, num_perm=num_perm)
        result = scores(pairs, pairwise(pairs, cfg))["all"]
        out["num_perm"][num_perm] = {
            "bands": index.bands, "rows": index.rows, "candidate_recall": found / positives,
            "estimate_error": errors / len(rows), "precision": result["precision"],
            "recall": result["recall"], "signature_bytes": 10 + 4 * num_perm}
        print(f"   {num_perm:8d} {f'{index.bands} x {index.rows}':>12s} {found / positives:12.4f}"
              f" {errors / len(rows):12.4f} {result['precision']:10.4f} {result['recall']:10.4f}"
              f" {10 + 4 * num_perm:9d}")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--sweep", action="store_true", help="parameter sweep (≈ 1 min)")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    pairs = load_pairs(args.pairs)
    config = DedupConfig()
    langs = defaultdict(int)
    for pair in pairs:
        langs[pair["lang"]] += 1
    print(f"{len(pairs)} pairs ({sum(p['same_story'] for p in pairs)} same story) "
          f"{dict(langs)}; config: {config}")
    started = time.perf_counter()
    pair_result = scores(pairs, pairwise(pairs, config))
    pair_seconds = time.perf_counter() - started
    print_scores("pairwise", pair_result)
    corpus_pred, corpus_info = corpus(pairs, config)
    corpus_result = scores(pairs, corpus_pred)
    print_scores(f"corpus ({corpus_info['articles']} articles → {corpus_info['stories']} "
                 f"stories, {corpus_info['ms_per_article']} ms/article, decisions "
                 f"{corpus_info['decisions']})", corpus_result)
    results = {"config": config.__dict__, "pairwise": pair_result,
               "pairwise_seconds": round(pair_seconds, 2), "corpus": corpus_result,
               "corpus_info": corpus_info}
    if args.sweep:
        results["sweep"] = sweep(pairs, config)
    met = all(results[m]["all"]["precision"] >= GOALS["precision"]
              and results[m]["all"]["recall"] >= GOALS["recall"] for m in ("pairwise", "corpus"))
    print(f"\ngoals {'met' if met else 'NOT met'} (precision ≥ {GOALS['precision']}, "
          f"recall ≥ {GOALS['recall']} in both modes)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n",
                                   encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
