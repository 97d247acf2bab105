"""``chavder alerts check`` on a large alerts.yaml: seconds and peak RSS (issue 13, item 18).

Example:
    .venv/bin/python bench/alerts_check.py                    # 17,940 rules, as in the issue
    .venv/bin/python bench/alerts_check.py --rules 2000 --rules 17940 --json out.json

The rules file is generated like a real one: the monitoring rules of bench/alerts.py (people,
villages, place + topic, organisation + topic; a tenth with ``none`` vetoes, some with language
and source filters), each with one or two recipients (some as ``{email:, timezone:,
digest_time:}`` mappings), ``defaults:`` for mode and time zone, and a ``notes:`` line. The
command runs as a user runs it (a subprocess); its own CPU time and peak RSS come from
``wait4`` (CPU time is the figure to compare on a busy machine; wall time is printed too).
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.alerts import make_rules  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _flow(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(json.dumps(x, ensure_ascii=False) for x in items) + "]"


def write_rules(path: Path, n: int) -> None:
    """An alerts.yaml of ``n`` rules (block style, as editors write it)."""
    lines = ["defaults:", "  mode: instant", "  timezone: Asia/Baghdad",
             '  digest_time: "07:00"', "", "rules:"]
    for i, rule in enumerate(make_rules(n)):
        lines.append(f"  - name: {rule.name}")
        lines.append(f"    notes: generated rule {i} for the alerts-check benchmark")
        vetoes = () if set(rule.none) & set(rule.all) else rule.none   # no self-veto
        for key, groups in (("any", rule.any), ("all", rule.all), ("none", vetoes)):
            if groups:
                lines.append(f"    {key}:")
                lines.extend(f"      - {_flow(g)}" for g in groups)
        if rule.languages:
            lines.append(f"    languages: {_flow(rule.languages)}")
        if rule.sources:
            lines.append(f"    sources: {_flow(rule.sources)}")
        lines.append("    recipients:")
        lines.append(f"      - desk-{i % 40}@example.org")
        if i % 5 == 0:
            lines.append(f"      - email: analyst-{i % 7}@example.org")
            lines.append("        timezone: Europe/Berlin")
            lines.append('        digest_time: "08:30"')
        if i % 9 == 0:
            lines.append("    mode: both")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_check(rules_file: Path, workdir: Path) -> dict:
    """Run ``chavder alerts check FILE`` once; seconds, peak RSS (MB) and its output line."""
    config = workdir / "chavder.yaml"
    config.write_text(f"data_dir: {workdir / 'data'}\nsources: {workdir / 'none.yaml'}\n",
                      encoding="utf-8")
    env = {**os.environ, "CHAVDER_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    with open(workdir / "out.log", "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "alerts", "check",
                                 str(rules_file)], cwd=workdir, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),   # robust to load
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "exit": proc.returncode,
            "output": (workdir / "out.log").read_text("utf-8", "replace").strip()[-300:]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, action="append",
                        help="rule counts to measure (repeatable; default 17940)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (best is kept)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="chavder-alerts-check-") as tmp:
        work = Path(tmp)
        for n in args.rules or [17940]:
            rules_file = work / f"alerts-{n}.yaml"
            write_rules(rules_file, n)
            runs = [run_check(rules_file, work) for _ in range(max(1, args.repeat))]
            best = min(runs, key=lambda r: r["seconds"])
            row = {"rules": n, "file_mb": round(rules_file.stat().st_size / 1e6, 2), **best}
            results.append(row)
            print(f"{n:>6} rules ({row['file_mb']} MB): {row['seconds']:.2f} s "
                  f"({row['cpu_seconds']:.2f} s CPU), peak RSS {row['peak_rss_mb']:.0f} MB, exit {row['exit']}: {row['output']}")
    report = {"benchmark": "alerts_check", "python": sys.version.split()[0], "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()
