"""``chavder export``: throughput and peak memory against the store's size.

Example:
    .venv/bin/python bench/export.py                     # stores of 1,000 and 10,000 articles
    .venv/bin/python bench/export.py --sizes 1000 50000

Each store is filled with generated Arabic articles (about 1,000 words of body each, every one
its own story), then ``chavder export`` runs as a user runs it (``python -m crawler.cli`` in a
subprocess) for JSON lines and CSV into a file. Printed per size and format: wall time,
articles per second, MB written per second, and the child's peak RSS (``wait4``). The export
reads the store a page at a time, so the peak RSS should stay flat while the store grows ten
times; ``chavder show 1`` on the same store is the baseline (interpreter, imports, one row).
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def fill(root: Path, n: int) -> dict[str, str]:
    """A store of ``n`` articles under ``root``; the environment of a child using it."""
    import hashlib

    from crawler.models import Article
    from crawler.store import open_store
    from testsupport.articles import VOCABULARY
    data = root / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'chavder.db'}"
    rng = random.Random(7)
    store = open_store(url, str(data))
    try:
        for i in range(n):
            paras = [" ".join(rng.choice(VOCABULARY) for _ in range(200)) + "." for _ in range(5)]
            body = "\n\n".join(paras)
            link = f"https://example.org/أخبار/{i}"
            store.upsert(Article(source="rok", url=link, canonical_url=link,
                                 title=f"تطورات في الرقة: الخبر رقم {i}", body=body,
                                 language="ar", published_at="2017-06-01T10:00:00+03:00",
                                 content_hash=hashlib.sha1(body.encode()).hexdigest(),
                                 fetched_at="2017-06-01T08:00:00+00:00"), f"example.org/{i}")
    finally:
        store.close()
    (root / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    config = root / "chavder.yaml"
    config.write_text(f"data_dir: {data}\nstore: {url}\nsources: {root / 'sources.yaml'}\n",
                      encoding="utf-8")
    return {**os.environ, "CHAVDER_CONFIG": str(config),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of ``chavder ARGS``."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"chavder {' '.join(args)} exited {proc.returncode}: {err}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    opts = parser.parse_args()
    print(f"{'articles':>9} {'format':>6} {'wall s':>7} {'art/s':>8} {'MB/s':>6} "
          f"{'file MB':>8} {'peak RSS MB':>12}")
    for n in opts.sizes:
        with tempfile.TemporaryDirectory(prefix="chavder-export-bench-") as tmp:
            root = Path(tmp)
            t0 = time.perf_counter()
            env = fill(root, n)
            filled = time.perf_counter() - t0
            _, base_rss = run(["show", "1"], env, root)
            print(f"{n:>9} {'show':>6} {'':>7} {'':>8} {'':>6} {'':>8} {base_rss:>12.1f}"
                  f"   (baseline; store filled in {filled:.0f} s)")
            for fmt in ("jsonl", "csv"):
                out = root / f"out.{fmt}"
                wall, rss = run(["export", "--format", fmt, "-o", str(out)], env, root)
                size = out.stat().st_size / 1e6
                print(f"{n:>9} {fmt:>6} {wall:>7.2f} {n / wall:>8.0f} {size / wall:>6.1f} "
                      f"{size:>8.1f} {rss:>12.1f}")


if __name__ == "__main__":
    main()
