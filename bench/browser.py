"""What ``render: browser`` costs: the same generated articles crawled twice in one run, by
plain HTTP and through headless Chromium, with CPU and wall time per page and the peak memory
of the crawler's whole process tree (Python, Playwright's driver, every Chromium process).

    .venv/bin/python bench/browser.py --pages 40 --max-pages 4

Each crawl runs in a child process: its CPU (user + system) comes from ``wait4``, which
includes the Playwright driver and Chromium once they have exited; memory is sampled every
0.2 s over the child's process tree (RSS summed, and PSS, which counts shared pages once).
The fixture server runs in a process of its own and is not counted. CPU, not wall time, is the
figure to trust on a busy machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jsonout import write_json  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_memory(root: int) -> tuple[int, int, int]:
    """(RSS bytes summed, PSS bytes summed, processes) of ``root`` and its descendants."""
    tree, todo, rss, pss, count = _children(), [root], 0, 0, 0
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                    break
            count += 1
        except (OSError, ValueError, IndexError):
            continue
    return rss, pss, count


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; its output JSON plus CPU (wait4), wall and peak tree memory."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = {"rss": 0, "pss": 0, "processes": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss, count = tree_memory(proc.pid)
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            peak["processes"] = max(peak["processes"], count)
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(process_cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2),
                  process_wall_seconds=round(time.perf_counter() - started, 2),
                  peak_tree_rss_mb=round(peak["rss"] / 2**20, 1),
                  peak_tree_pss_mb=round(peak["pss"] / 2**20, 1),
                  peak_processes=peak["processes"])
    return result


def child(mode: str, base: str, store: str, pages: int, max_pages: int) -> None:
    """One crawl of the generated sitemap, plain or rendered; prints one JSON line."""
    import resource

    from crawler.app import Chavder
    from crawler.config import Settings, SourceConfig
    from crawler.crawl import run_crawl
    from crawler.logs import setup_logging
    setup_logging("WARNING")
    source = SourceConfig(id="bench", name="Bench", kind="sitemap",
                          start_urls=[base + "/sitemap.xml"], timezone="Asia/Baghdad",
                          max_articles=pages + 10, allow_private=True,
                          allowed_domains=["127.0.0.1"],
                          render="browser" if mode == "browser" else "")
    settings = Settings(store=store, concurrent_per_domain=max(8, max_pages),
                        download_timeout=120, browser_max_pages=max_pages,
                        browser_page_timeout=120)

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    with Chavder.from_config(settings=settings, sources=[source]) as app:
        app.store   # noqa: B018 - opened before the clock starts
        cpu0, wall0 = cpu(), time.perf_counter()
        summary = run_crawl(app, [source], {"AUTOTHROTTLE_ENABLED": False,
                                            "CHAVDER_PROGRESS_INTERVAL": 0,
                                            "CONCURRENT_REQUESTS": 32})
        crawl_cpu, crawl_wall = cpu() - cpu0, time.perf_counter() - wall0
        stored = app.store.count_articles()
    print(json.dumps({"mode": mode, "stored": stored,
                      "errors": summary.per_source["bench"]["errors"],
                      "crawl_cpu_seconds": round(crawl_cpu, 2),
                      "crawl_wall_seconds": round(crawl_wall, 2)}))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--max-pages", type=int, default=4, help="browser_max_pages")
    parser.add_argument("--json", help="write results to this JSON file")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BASE", "STORE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, pages=args.pages, max_pages=args.max_pages)
        return {}
    from bench.sitegen import generate_site
    from crawler.browser import find_executable
    from testsupport.fixtureweb import FixtureWebProcess
    find_executable()   # fails with the reason when Chromium is missing
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="chavder-bench-browser-") as tmp:
        root = Path(tmp) / "web"
        generate_site(root, args.pages)
        with FixtureWebProcess(root) as web:
            for mode in ("plain", "browser"):
                runs[mode] = measure([sys.executable, __file__, "--pages", str(args.pages),
                                      "--max-pages", str(args.max_pages), "--child", mode,
                                      web.base("bench"), f"sqlite:///{tmp}/{mode}.db"])
    n = args.pages
    plain, rendered = runs["plain"], runs["browser"]
    result = {
        "pages": n, "browser_max_pages": args.max_pages, "runs": runs,
        "plain_cpu_ms_per_page": round(1000 * plain["crawl_cpu_seconds"] / n, 1),
        "browser_cpu_ms_per_page": round(1000 * rendered["crawl_cpu_seconds"] / n, 1),
        "plain_wall_ms_per_page": round(1000 * plain["crawl_wall_seconds"] / n, 1),
        "browser_wall_ms_per_page": round(1000 * rendered["crawl_wall_seconds"] / n, 1),
        "browser_peak_tree_rss_mb": rendered["peak_tree_rss_mb"],
        "browser_peak_tree_pss_mb": rendered["peak_tree_pss_mb"],
        "plain_peak_tree_pss_mb": plain["peak_tree_pss_mb"],
    }
    result["cpu_ratio"] = round(result["browser_cpu_ms_per_page"]
                                / max(result["plain_cpu_ms_per_page"], 0.1), 1)
    for mode, run in runs.items():
        print(f"{mode:8s} stored {run['stored']}/{n} (errors {run['errors']}): crawl CPU "
              f"{run['crawl_cpu_seconds']:.1f} s, wall {run['crawl_wall_seconds']:.1f} s; "
              f"process CPU {run['process_cpu_seconds']:.1f} s; peak memory {run['peak_tree_pss_mb']} "
              f"MB PSS / {run['peak_tree_rss_mb']} MB RSS over {run['peak_processes']} processes")
    print(f"per page: plain {result['plain_cpu_ms_per_page']} ms CPU / "
          f"{result['plain_wall_ms_per_page']} ms wall; render: browser "
          f"{result['browser_cpu_ms_per_page']} ms CPU / {result['browser_wall_ms_per_page']} "
          f"ms wall ({result['cpu_ratio']}× the CPU), {args.max_pages} pages at once")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
