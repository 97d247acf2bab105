#!/usr/bin/env python3
"""Evaluate ``crawler.text.detect`` against plain langdetect on a labelled set.

Usage::

    python bench/langid_eval.py                      # bench/data/langid/eval.tsv
    python bench/langid_eval.py --data bench/data/langid/dev.tsv   # the tuning set
    python bench/langid_eval.py --json results.json

Prints per-language accuracy for headlines and paragraphs separately, the confusion matrix and
detections per second (paragraphs, one core), for the cascade and for langdetect alone, and
checks the goals (≥ 99 % on paragraphs, ≥ 95 % on headlines for every language,
≥ 2,000 paragraphs/s).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.text.langid import detect, detect_scores  # noqa: E402

LANGS = ("ar", "ckb", "kmr", "fa", "tr", "en")
KINDS = ("headline", "paragraph")
GOALS = {"paragraph": 0.99, "headline": 0.95}
SPEED_GOAL = 2000.0


def load(path: Path) -> list[tuple[str, str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r["lang"], r["kind"], r["text"]) for r in reader if r.get("text")]


def langdetect_plain():
    from langdetect import DetectorFactory, detect as ld_detect
    from langdetect.lang_detect_exception import LangDetectException
    DetectorFactory.seed = 0

    def run(text: str) -> str:
        try:
            return ld_detect(text).split("-")[0]
        except LangDetectException:
            return "und"
    return run


def evaluate(rows, fn) -> dict:
    preds = [fn(text) for _, _, text in rows]
    acc: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    confusion: dict[str, Counter] = defaultdict(Counter)
    errors = []
    for (lang, kind, text), pred in zip(rows, preds):
        cell = acc[lang][kind]
        cell[1] += 1
        if pred == lang:
            cell[0] += 1
        else:
            errors.append({"lang": lang, "kind": kind, "pred": pred, "text": text})
        confusion[lang][pred] += 1
    return {"accuracy": {lang: {kind: (c[0] / c[1] if c[1] else None, c[0], c[1])
                                for kind, c in kinds.items()} for lang, kinds in acc.items()},
            "confusion": {k: dict(v) for k, v in confusion.items()}, "errors": errors}


def speed(texts: list[str], fn, min_seconds: float = 2.0) -> float:
    fn(texts[0])                                    # load models outside the clock
    n, start = 0, time.perf_counter()
    while True:
        for t in texts:
            fn(t)
        n += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return n / elapsed


def print_table(title: str, result: dict, langs: list[str]) -> None:
    print(f"\n{title}")
    print(f"  {'lang':6} {'headlines':>18} {'paragraphs':>18}")
    for lang in langs:
        cells = []
        for kind in KINDS:
            a = result["accuracy"].get(lang, {}).get(kind)
            cells.append("—" if a is None else f"{100 * a[0]:6.1f} % ({a[1]}/{a[2]})")
        print(f"  {lang:6} {cells[0]:>18} {cells[1]:>18}")


def print_confusion(result: dict, langs: list[str]) -> None:
    cols = list(langs) + sorted({p for row in result["confusion"].values() for p in row}
                                - set(langs))
    print("  true\\pred " + " ".join(f"{c:>5}" for c in cols))
    for lang in langs:
        row = result["confusion"].get(lang, {})
        print(f"  {lang:9} " + " ".join(f"{row.get(c, 0):5d}" for c in cols))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "bench/data/langid/eval.tsv")
    ap.add_argument("--json", type=Path, help="write the results to this file")
    ap.add_argument("--errors", action="store_true", help="list the misclassified texts")
    ap.add_argument("--seconds", type=float, default=2.0, help="time budget per speed run")
    args = ap.parse_args(argv)

    rows = load(args.data)
    langs = [lang for lang in LANGS if any(r[0] == lang for r in rows)]
    counts = Counter((r[0], r[1]) for r in rows)
    print(f"{args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data}: "
          f"{len(rows)} samples; " + ", ".join(f"{lang} {counts[(lang, 'headline')]}h/"
                                                f"{counts[(lang, 'paragraph')]}p" for lang in langs))

    ours = evaluate(rows, lambda t: detect(t)[0])
    used_ld = sum(detect_scores(t)[3] for _, _, t in rows)
    plain = evaluate(rows, langdetect_plain())
    paragraphs = [t for _, kind, t in rows if kind == "paragraph"]
    ours_speed = speed(paragraphs, detect, args.seconds)
    plain_speed = speed(paragraphs, langdetect_plain(), args.seconds)

    print_table("chavder cascade (crawler.text.detect)", ours, langs)
    print_confusion(ours, langs)
    print(f"  speed: {ours_speed:,.0f} paragraphs/s (one core); langdetect consulted for "
          f"{used_ld}/{len(rows)} samples")
    print_table("plain langdetect 1.0.9 (seed 0)", plain, langs)
    print_confusion(plain, langs)
    print(f"  speed: {plain_speed:,.0f} paragraphs/s (one core)")

    failures = []
    for lang in langs:
        for kind, goal in GOALS.items():
            a = ours["accuracy"].get(lang, {}).get(kind)
            if a is not None and a[0] < goal:
                failures.append(f"{lang} {kind}s {100 * a[0]:.1f} % < {100 * goal:.0f} %")
    if ours_speed < SPEED_GOAL:
        failures.append(f"speed {ours_speed:,.0f}/s < {SPEED_GOAL:,.0f}/s")
    print("\ngoals: " + ("all met" if not failures else "NOT met: " + "; ".join(failures)))
    if args.errors:
        print("\nmisclassified:")
        for e in ours["errors"]:
            print(f"  {e['lang']}/{e['kind']} → {e['pred']}: {e['text']}")
    if args.json:
        payload = {"data": str(args.data), "samples": len(rows),
                   "ours": {**ours, "paragraphs_per_second": ours_speed,
                            "langdetect_consulted": used_ld},
                   "langdetect": {**plain, "paragraphs_per_second": plain_speed},
                   "goals_met": not failures, "failures": failures}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
