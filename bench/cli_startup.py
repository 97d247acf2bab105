"""CLI start-up: wall time of ``chavder --help``, ``search``, ``status`` and ``alerts test``
(issue 14: ≤ 0.25 s for ``--help``), and whether each one imported Scrapy or Twisted.

Example:
    .venv/bin/python bench/cli_startup.py                  # 20 runs of each command
    .venv/bin/python bench/cli_startup.py --runs 50 --json out.json

Each command runs as a user runs it (``python -m crawler.cli …`` in a subprocess) against a
small SQLite store in a temporary directory (an empty store with one rule in alerts.yaml), so
the time is the interpreter's start, the imports and the command itself. Median and p95 of the
wall time are printed (this 2-core machine is shared: compare medians, and ``hyperfine`` gives
the same figures where it is installed). One extra run per command with ``-X importtime``
says which heavy packages it imported.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("scrapy", "twisted")

COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "search": ["search", "الرقة"],
    "status": ["status"],
    "alerts test": ["alerts", "test", "raqqa", "--text", "هجوم في الرقة"],
}


def make_home(root: Path) -> dict[str, str]:
    """A data dir with an empty store, one source and one rule; the child's environment."""
    from crawler.store import open_store
    data = root / "data"
    data.mkdir()
    store_url = f"sqlite:///{data / 'chavder.db'}"
    open_store(store_url, str(data)).close()
    (root / "sources.yaml").write_text(
        "sources:\n  - id: demo\n    kind: feed\n    start_urls: [https://news.example.org/feed.xml]\n"
        "    languages: [ar]\n", encoding="utf-8")
    (root / "alerts.yaml").write_text(
        "rules:\n  - name: raqqa\n    any: [[الرقة, Raqqa]]\n    recipients: [desk@example.org]\n",
        encoding="utf-8")
    config = root / "chavder.yaml"
    config.write_text(f"data_dir: {data}\nstore: {store_url}\nsources: {root / 'sources.yaml'}\n"
                      f"alerts: {root / 'alerts.yaml'}\n", encoding="utf-8")
    return {**os.environ, "CHAVDER_CONFIG": str(config),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def run_once(args: list[str], env: dict[str, str], cwd: Path,
             importtime: bool = False) -> tuple[float, int, str]:
    """(wall seconds, exit code, stderr) of one ``chavder ARGS``."""
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "crawler.cli",
           *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return time.perf_counter() - started, proc.returncode, proc.stderr


def heavy_imports(importtime_stderr: str) -> list[str]:
    """Top-level packages of ``HEAVY`` that ``-X importtime`` lists as imported."""
    found = set()
    for line in importtime_stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        module = line.rsplit("|", 1)[1].strip()
        top = module.split(".")[0]
        if top in HEAVY:
            found.add(top)
    return sorted(found)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="chavder-cli-bench-") as tmp:
        root = Path(tmp)
        env = make_home(root)
        for name, argv in COMMANDS.items():
            _, code, err = run_once(argv, env, root, importtime=True)
            heavy = heavy_imports(err)
            run_once(argv, env, root)                     # warm the page cache
            times = []
            for _ in range(args.runs):
                seconds, code, _ = run_once(argv, env, root)
                times.append(seconds)
            row = {"command": f"chavder {' '.join(argv)}", "name": name, "runs": args.runs,
                   "exit": code, "median_seconds": round(statistics.median(times), 4),
                   "p95_seconds": round(percentile(times, 0.95), 4),
                   "min_seconds": round(min(times), 4), "heavy_imports": heavy}
            results.append(row)
            print(f"{row['command']:<48} median {row['median_seconds']:.3f} s  "
                  f"p95 {row['p95_seconds']:.3f} s  exit {code}  "
                  f"imports {', '.join(heavy) or 'no scrapy/twisted'}", flush=True)
    out = {"goal_help_seconds": 0.25, "results": results, "python": sys.version.split()[0],
           "loadavg": list(os.getloadavg())}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
