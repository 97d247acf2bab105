"""Alert matching quality on the labelled case set: recall and false-hit rate per language and
per rule (issue 20).

Example:
    .venv/bin/python bench/alerts_quality.py             # table, then every miss and false hit
    .venv/bin/python bench/alerts_quality.py --json bench/results/alerts_quality.json

The set (tests/data/alerts_cases/cases.jsonl, built by build_cases.py next to it) holds short
texts in Arabic, Sorani, Kurmanji, English and Turkish, each labelled for one rule of
tests/data/alerts_cases/alerts.yaml: positives are spellings real outlets use, negatives are
look-alikes and other meanings. A case counts as a hit when its rule is among the rules the
matcher fires for the text (as an article body in the case's language).

Goals (issue 20): recall ≥ 99 %, false hits ≤ 0.5 %.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.alerts import Matcher, load_rules  # noqa: E402

CASES = ROOT / "tests" / "data" / "alerts_cases"
RECALL_GOAL, FALSE_HIT_GOAL = 0.99, 0.005


def load_cases(path: Path = CASES / "cases.jsonl") -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def evaluate(cases: list[dict], matcher: Matcher) -> dict:
    """Counts per language, per rule and overall, plus the cases that went wrong."""
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    wrong: list[dict] = []
    for case in cases:
        fired = {m.rule.name for m in matcher.match("", case["text"], language=case["lang"])}
        hit = case["rule"] in fired
        for group, key in (("language", case["lang"]), ("rule", case["rule"]), ("all", "all")):
            row = tally[group][key]     # positives, found, negatives, false hits
            if case["expect"]:
                row[0] += 1
                row[1] += hit
            else:
                row[2] += 1
                row[3] += hit
        if hit != case["expect"]:
            wrong.append({**case, "fired": sorted(fired)})

    def figures(row: list[int]) -> dict:
        pos, found, neg, false = row
        return {"positives": pos, "recall": found / pos if pos else 1.0,
                "negatives": neg, "false_hit_rate": false / neg if neg else 0.0,
                "missed": pos - found, "false_hits": false}
    out = {group: {key: figures(row) for key, row in sorted(rows.items())}
           for group, rows in tally.items()}
    total = out["all"]["all"]
    return {"cases": len(cases), **out, "wrong": wrong,
            "recall": total["recall"], "false_hit_rate": total["false_hit_rate"],
            "goals_met": total["recall"] >= RECALL_GOAL
            and total["false_hit_rate"] <= FALSE_HIT_GOAL}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=Path, default=CASES / "cases.jsonl")
    parser.add_argument("--rules", type=Path, default=CASES / "alerts.yaml")
    parser.add_argument("--json", help="write results to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="do not list the wrong cases")
    args = parser.parse_args(argv)
    result = evaluate(load_cases(args.cases), Matcher(load_rules(args.rules)))
    print(f"{result['cases']} cases; recall / false-hit rate (positives / negatives)")
    for group in ("language", "rule", "all"):
        for key, f in result[group].items():
            print(f"  {group:8} {key:8} {f['recall']:7.1%} / {f['false_hit_rate']:6.2%}"
                  f"   ({f['positives']} / {f['negatives']}; {f['missed']} missed, "
                  f"{f['false_hits']} false)")
    if not args.quiet:
        for case in result["wrong"]:
            kind = "MISSED" if case["expect"] else "FALSE "
            print(f"  {kind} {case['rule']:8} {case['lang']:4} {case['form'] or '-'!r}: "
                  f"{case['text']}")
    print(f"goals recall ≥ {RECALL_GOAL:.0%}, false hits ≤ {FALSE_HIT_GOAL:.1%}: "
          + ("met" if result["goals_met"] else "NOT met"))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    return result


if __name__ == "__main__":
    main()
