"""CLI start-up: wall time of ``chavder --help``, ``search``, ``status`` and ``alerts test``
(issue 14: ≤ 0.25 s for ``--help``), and whether each one imported Scrapy or Twisted.

Example:
    .venv/bin/python bench/cli_startup.py                  # 20 runs of each command
    .venv/bin/python bench/cli_startup.py --runs 50 --json out.json

Each command runs as a user runs it (``python -m crawler.cli …`` in a subprocess) against a
small SQLite store in a temporary directory (an empty store with one rule in alerts.yaml), so
the time is the interpreter's start, the imports and the command itself. Median and p95 of the
wall time are printed, and the median CPU time of the child (this 2-core machine is shared: on a
loaded machine the wall time waits for a core, the CPU time does not; ``hyperfine -N`` gives the
same figures where it is installed). ``--pythonpath DIR`` runs another checkout's code (e.g. an
old commit unpacked with ``git archive``) for a before/after comparison. One extra run per command with ``-X importtime``
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
             importtime: bool = False) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds, exit code, stderr) of one ``chavder ARGS``; the CPU time is
    the child's own (``wait4``), the figure that other work on the machine does not inflate."""
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "crawler.cli",
           *args]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode, stderr


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
    parser.add_argument("--pythonpath", metavar="DIR", help="import crawler/ from DIR instead "
                        "(a before/after comparison)")
    args = parser.parse_args()
    results = []
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="chavder-cli-bench-") as tmp:
        root = Path(tmp)
        env = make_home(root)
        if args.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join([str(Path(args.pythonpath).resolve()),
                                                 env["PYTHONPATH"]])
        for name, argv in COMMANDS.items():
            _, _, code, err = run_once(argv, env, root, importtime=True)
            heavy = heavy_imports(err)
            run_once(argv, env, root)                     # warm the page cache
            walls, cpus = [], []
            for _ in range(args.runs):
                wall, cpu, code, _ = run_once(argv, env, root)
                walls.append(wall)
                cpus.append(cpu)
            row = {"command": f"chavder {' '.join(argv)}", "name": name, "runs": args.runs,
                   "exit": code, "median_seconds": round(statistics.median(walls), 4),
                   "p95_seconds": round(percentile(walls, 0.95), 4),
                   "min_seconds": round(min(walls), 4),
                   "median_cpu_seconds": round(statistics.median(cpus), 4),
                   "heavy_imports": heavy}
            results.append(row)
            print(f"{row['command']:<48} wall median {row['median_seconds']:.3f} s, "
                  f"p95 {row['p95_seconds']:.3f} s; CPU median {row['median_cpu_seconds']:.3f}"
                  f" s; exit {code}; imports {', '.join(heavy) or 'no scrapy/twisted'}",
                  flush=True)
    out = {"goal_help_seconds": 0.25, "results": results, "python": sys.version.split()[0],
           "loadavg_before": load_before, "loadavg_after": list(os.getloadavg())}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
