"""Scale-out benchmark: 1 worker vs 2 workers on a Redis frontier, same outlet, same run.

    .venv/bin/python bench/scale_out.py --articles 2000
    .venv/bin/python bench/scale_out.py --articles 300 --memory-urls 20000   # quick

The outlet is bench/crawl.py's (N generated 60–150 KB pages in a sitemap), served by Debian's
nginx (testsupport/nginx_web.py: ~0.14 ms of CPU per page, where the Python fixture web took
0.6–1 ms of the same two cores; ``--web fixture`` brings that one back). For each worker count: a fresh Redis (Debian's redis-server, appendfsync
everysec as in production), a fresh SQLite store shared by the workers, N ``chavder worker``
processes started and heard from (heartbeat) before the clock starts; then the job is put on the
frontier as the controller does (``Frontier.submit``) and the clock stops when the frontier
reports the job finished (every article stored and acknowledged). Politeness limits are lifted
for the local server as in bench/crawl.py (AutoThrottle off; ``--per-domain`` requests per
domain, held across the workers by the Redis leases); the web server's record of requests in
flight checks that they held (nginx's: an upper bound from its access log's milliseconds).

Also measured:
* Redis commands per article (``INFO commandstats`` delta / articles; commands run inside Lua
  scripts count) and round trips per article (a separate, untimed run of the largest worker
  count under ``MONITOR``, counting what clients sent: one script call is one round trip);
* Redis CPU per article (the server's own utime+stime);
* the frontier's memory per million queued URLs: ``--memory-urls`` article entries of
  bench/frontier_memory.py queued with ``Frontier.enqueue`` (URL key + JSON of URL, source and
  the index's compacted hint), ``INFO memory`` and ``MEMORY USAGE`` before and after,
  extrapolated;
* ``--es``: the largest worker count once more into the real Elasticsearch test node
  (testsupport/engine_node.py, 512 MB heap): rate, and the index's size on disk per article
  (primary store after a refresh and a force-merge to one segment), for sizing.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jsonout import write_json  # noqa: E402
from bench.sitegen import generate_site  # noqa: E402
from testsupport.config import write_config  # noqa: E402
from testsupport.fixtureweb import FixtureWebProcess  # noqa: E402
from testsupport.nginx_web import NginxWeb  # noqa: E402
from testsupport.processes import spawn  # noqa: E402
from testsupport.redis_node import RedisNode  # noqa: E402

#: bench/crawl.py's overrides (AutoThrottle off, 32 requests in flight), for the worker processes
LIFT_LIMITS = ("import crawler.settings as _s\n"
               "_s.AUTOTHROTTLE_ENABLED = False\n"
               "_s.CONCURRENT_REQUESTS = 32\n")
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """utime + stime of a live process, seconds (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _calls(client: Any) -> int:
    return sum(int(v["calls"]) for v in client.info("commandstats").values())


def _stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])


class Installation:
    """A config folder for the workers: the bench source, the shared store, redis_url."""

    def __init__(self, root: Path, base: str, articles: int, redis_url: str, per_domain: int,
                 store: str | None = None, store_writer: str = "workers"):
        import yaml
        root.mkdir(parents=True)
        (root / "data").mkdir()
        sources = root / "sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [{
            "id": "bench", "name": "Bench", "kind": "sitemap",
            "start_urls": [base + "/sitemap.xml"], "timezone": "Asia/Baghdad",
            "max_articles": articles + 10, "allow_private": True,
            "allowed_domains": ["127.0.0.1"]}]}), encoding="utf-8")
        (root / "alerts.yaml").write_text("rules: []\n", encoding="utf-8")
        self.db = root / "data" / "bench.db"
        self.config = write_config(root, store=store or f"sqlite:///{self.db}", sources=sources,
                                   alerts=root / "alerts.yaml", redis_url=redis_url,
                                   concurrent_per_domain=per_domain, download_timeout=30,
                                   health_port=-1, store_writer=store_writer)
        self.root = root


def _start_workers(inst: Installation, n: int) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        log = open(inst.root / f"worker{i}.log", "wb")
        procs.append(spawn(inst.config, "worker", stdout=log, stderr=subprocess.STDOUT,
                           python_prelude=LIFT_LIMITS))
        log.close()
    return procs


def _wait_heard(client: Any, procs: list[subprocess.Popen], inst: Installation,
                timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while len(client.keys("chavder:worker:*")) < len(procs):
        for i, proc in enumerate(procs):
            if proc.poll() is not None:
                raise SystemExit(f"worker {i} exited {proc.returncode}:\n"
                                 + (inst.root / f"worker{i}.log").read_text()[-3000:])
        if time.monotonic() > deadline:
            raise SystemExit("the workers never sent a heartbeat")
        time.sleep(0.05)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_finished(frontier: Any, job: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = frontier.finished(consumer="bench", count=10)
        if done:
            frontier.acknowledge_finished(f.id for f in done)
            if any(f.job == job for f in done):
                return
        time.sleep(0.02)
    raise SystemExit(f"job {job} not finished after {timeout:.0f} s")


def run_workers(tmp: Path, web: FixtureWebProcess | NginxWeb, n: int, articles: int, per_domain: int,
                monitor: bool = False, es: Any = None, handoff: bool = False) -> dict[str, Any]:
    """One timed crawl of the outlet by ``n`` workers (``monitor``: untimed, counting; ``es``:
    an engine node to store into instead of SQLite; ``handoff``: ``store_writer: controller``,
    the controller's store writer (crawler.scaleout.ingest) running in this process)."""
    import redis

    from crawler.scaleout.frontier import Frontier
    node = RedisNode().start()
    try:
        node.command("CONFIG", "SET", "appendfsync", "everysec")
        client = redis.Redis.from_url(node.url)
        alias = f"chavder-scale-{n}w{'-handoff' if handoff else ''}"
        store = (f"{es.store_url}/?alias={alias}&alerts_alias={alias}-alerts"
                 if es is not None else None)
        inst = Installation(tmp / f"{n}w{'-monitor' if monitor else ''}{'-es' if es else ''}"
                            f"{'-handoff' if handoff else ''}",
                            web.base("bench"), articles, node.url, per_domain, store,
                            "controller" if handoff else "workers")
        procs = _start_workers(inst, n)
        ingest = _start_ingest(inst, node.url) if handoff else None
        try:
            _wait_heard(client, procs, inst)
            frontier = Frontier(client)
            counter = _Monitor(node.url) if monitor else None
            web.peak_in_flight(reset=True)
            calls0, redis_cpu0 = _calls(client), _cpu_of(node.proc.pid)
            cpu0 = sum(_cpu_of(p.pid) for p in procs)
            web_cpu0 = _cpu_of(web.proc.pid)
            started = time.perf_counter()
            queued, job = frontier.submit("bench")
            assert queued, "the job was not queued"
            _wait_finished(frontier, job, timeout=max(120.0, articles / 5))
            wall = time.perf_counter() - started
            cpu = sum(_cpu_of(p.pid) for p in procs) - cpu0
            redis_cpu = _cpu_of(node.proc.pid) - redis_cpu0
            web_cpu = _cpu_of(web.proc.pid) - web_cpu0
            calls = _calls(client) - calls0 - 2          # less this bench's own INFO calls
            peaks = web.peak_in_flight()
            trips = counter.stop() if counter else None
        finally:
            _stop(procs)
            if ingest is not None:
                ingester, app = ingest
                ingester.stop()
                ingest_cpu = ingester.cpu_seconds
                app.close()
        stored = _stored(inst.db) if es is None else _indexed(es, alias)
    finally:
        node.close()
    out = {"workers": n, "stored": stored, "wall_seconds": round(wall, 2),
           "articles_per_second": round(stored / wall, 1) if wall else 0.0,
           "worker_cpu_seconds": round(cpu, 2),
           "articles_per_cpu_second": round(stored / cpu, 1) if cpu else 0.0,
           "redis_commands_per_article": round(calls / max(stored, 1), 2),
           "redis_cpu_ms_per_article": round(1000 * redis_cpu / max(stored, 1), 3),
           "web_server_cpu_ms_per_article": round(1000 * web_cpu / max(stored, 1), 2),
           "max_in_flight_per_host": max((v for k, v in peaks.items() if ":" in k), default=0)}
    if es is not None:
        out["index_bytes_per_article"] = _index_bytes(es, alias, stored)
    if ingest is not None:
        out["store_writer"] = "controller"
        out["controller_store_cpu_seconds"] = round(ingest_cpu, 2)
        out["controller_store_ms_per_article"] = round(1000 * ingest_cpu / max(stored, 1), 2)
    if trips is not None:
        out["round_trips"] = trips
        out["round_trips_per_article"] = round(trips["client"] / max(stored, 1), 2)
    return out


def _start_ingest(inst: Installation, url: str) -> tuple[Any, Any]:
    """The controller's store writer over the installation's store, as ``chavder run`` runs
    it (the bench submits the job itself, so no scheduler is needed)."""
    from crawler.app import Chavder
    from crawler.scaleout.frontier import Frontier
    from crawler.scaleout.ingest import Ingester
    app = Chavder.from_config(inst.config)
    ingester = Ingester(app, Frontier.from_url(url), url)
    ingester.start()
    return ingester, app


def _indexed(es: Any, alias: str, timeout: float = 120) -> int:
    """Documents in the index once the workers' spools are drained (they flush on stop)."""
    deadline, count = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        es.request("POST", f"/{alias}/_refresh")
        now = int(es.request("GET", f"/{alias}/_count")["count"])
        if now == count:
            return now
        count = now
        time.sleep(1.0)
    return count


def _index_bytes(es: Any, alias: str, docs: int) -> int:
    es.request("POST", f"/{alias}/_forcemerge?max_num_segments=1")
    stats = es.request("GET", f"/{alias}/_stats/store")
    size = int(stats["_all"]["primaries"]["store"]["size_in_bytes"])
    return round(size / max(docs, 1))


class _Monitor:
    """Counts the commands clients send (``MONITOR``): script-internal ones are told apart
    (their source is ``lua``), so ``client`` is what clients sent: at most one round trip each
    (a pipeline sends several in one — a worker's acknowledgements of one tick do). This
    bench's own calls excluded."""

    def __init__(self, url: str):
        import redis
        self.client = redis.Redis.from_url(url)
        self.counts = {"client": 0, "lua": 0}
        self.by_command: dict[str, int] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            self._ready.set()
            while not self._stop.is_set():
                try:
                    cmd = monitor.next_command()
                except Exception:   # noqa: BLE001 - the server went away at the end
                    return
                text = cmd.get("command", "")
                if text.startswith("INFO") or text.startswith("XREADGROUP controller bench"):
                    continue
                kind = "lua" if cmd.get("client_type") == "lua" else "client"
                self.counts[kind] += 1
                if kind == "client":
                    name = text.split(" ", 1)[0].upper()
                    self.by_command[name] = self.by_command.get(name, 0) + 1

    def stop(self) -> dict[str, Any]:
        time.sleep(0.2)
        self._stop.set()
        self.client.ping()
        self._thread.join(5)
        return {**self.counts, "by_command": dict(sorted(self.by_command.items(),
                                                         key=lambda kv: -kv[1]))}


def frontier_memory(urls: int, batch: int = 500) -> dict[str, Any]:
    """Memory of ``urls`` queued article entries per million: the entries of
    bench/frontier_memory.py (a feed item's Arabic URL and headline, date, language, compacted
    as the spiders queue them), with the stream / duplicate-filter split."""
    import redis

    from bench.frontier_memory import entry
    from crawler.scaleout.frontier import Frontier
    node = RedisNode().start()
    try:
        client = redis.Redis.from_url(node.url)
        frontier = Frontier(client)
        frontier.ensure_groups()
        _queued, job = frontier.submit("memory")
        before = int(client.info("memory")["used_memory"])
        for start in range(0, urls, batch):
            frontier.enqueue(job, [entry(k) for k in range(start, min(urls, start + batch))])
        after = int(client.info("memory")["used_memory"])
        stream = int(client.memory_usage(frontier.articles, samples=0) or 0)
        inflight = int(client.memory_usage(frontier.inflight, samples=0) or 0)
        sizes = frontier.sizes()
    finally:
        node.close()
    per = 1_000_000 / urls
    return {"urls": urls, "queued": sizes["articles"],
            "used_memory_delta_mb": round((after - before) / 2**20, 1),
            "mb_per_million_urls": round((after - before) * per / 2**20, 1),
            "stream_mb_per_million": round(stream * per / 2**20, 1),
            "dedup_set_mb_per_million": round(inflight * per / 2**20, 1),
            "bytes_per_url": round((after - before) / urls)}


def _ratios(runs: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Per round: 2 workers' rate over 1 worker's, and 2 workers' rate."""
    ratios, rates = [], []
    for round_no in sorted({r["round"] for r in runs}):
        by_n = {r["workers"]: r for r in runs if r["round"] == round_no}
        if 1 in by_n and 2 in by_n and by_n[1]["articles_per_second"]:
            ratios.append(round(by_n[2]["articles_per_second"]
                                / by_n[1]["articles_per_second"], 2))
            rates.append(by_n[2]["articles_per_second"])
    return ratios, rates


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--per-domain", type=int, default=8)
    parser.add_argument("--memory-urls", type=int, default=100_000)
    parser.add_argument("--no-monitor", action="store_true",
                        help="skip the untimed MONITOR run that counts round trips")
    parser.add_argument("--es", action="store_true",
                        help="also crawl into the real Elasticsearch test node: rate, index size")
    parser.add_argument("--handoff", action="store_true",
                        help="also the largest worker count with store_writer: controller "
                             "(workers hand articles to the controller's store writer)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the worker counts this many times, each round in the "
                             "order of the one before reversed (1, 2, 2, 1, 1, 2 …): the "
                             "machine's speed drifts within minutes, so each round's ratio "
                             "compares runs next to each other and a steady drift favours "
                             "neither count; prints the medians")
    parser.add_argument("--web", choices=("nginx", "fixture"), default="nginx",
                        help="the outlet's web server: nginx (Debian's, as real outlets run; "
                             "default) or the test suite's Python fixture web, which spends "
                             "0.6-1 ms of the same two cores per page")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="chavder-scale-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        generate_site(tmp / "web", args.articles)
        print(f"generated {args.articles} pages in {time.perf_counter() - t0:.1f} s")
        runs = []
        web_server = NginxWeb(tmp / "web") if args.web == "nginx" \
            else FixtureWebProcess(tmp / "web")
        with web_server as web:
            order = ((n, r) for r in range(args.rounds)
                     for n in (args.workers if r % 2 == 0 else args.workers[::-1]))
            for n, round_no in order:
                run = run_workers(tmp / f"round{round_no + 1}", web, n, args.articles,
                                  args.per_domain)
                run["round"] = round_no + 1
                runs.append(run)
                prefix = f"round {round_no + 1}: " if args.rounds > 1 else ""
                print(f"{prefix}{n} worker(s): {run['stored']}/{args.articles} articles in "
                      f"{run['wall_seconds']} s → {run['articles_per_second']} articles/s; "
                      f"worker CPU {run['worker_cpu_seconds']} s "
                      f"({run['articles_per_cpu_second']} articles/CPU-s); Redis "
                      f"{run['redis_commands_per_article']} commands and "
                      f"{run['redis_cpu_ms_per_article']} ms CPU per article; the web server "
                      f"{run['web_server_cpu_ms_per_article']} ms CPU per article; at most "
                      f"{run['max_in_flight_per_host']} requests in flight for the host")
            monitored = None
            if not args.no_monitor:
                monitored = run_workers(tmp, web, max(args.workers), args.articles,
                                        args.per_domain, monitor=True)
                print(f"client commands (untimed MONITOR run, {monitored['workers']} workers; "
                      "at most one round trip each, pipelined acknowledgements share one): "
                      f"{monitored['round_trips_per_article']} per article "
                      f"({monitored['round_trips']['client']} client commands, "
                      f"{monitored['round_trips']['lua']} inside scripts); by command: "
                      + ", ".join(f"{k} {v}" for k, v in
                                  list(monitored["round_trips"]["by_command"].items())[:8]))
            handed = None
            if args.handoff:
                handed = run_workers(tmp, web, max(args.workers), args.articles,
                                     args.per_domain, handoff=True)
                print(f"store_writer: controller ({handed['workers']} workers): "
                      f"{handed['stored']}/{args.articles} articles in "
                      f"{handed['wall_seconds']} s → {handed['articles_per_second']} "
                      f"articles/s; worker CPU {handed['worker_cpu_seconds']} s "
                      f"({handed['articles_per_cpu_second']} articles/CPU-s); the "
                      f"controller's store writer {handed['controller_store_cpu_seconds']} s "
                      f"CPU = {handed['controller_store_ms_per_article']} ms per article")
            into_es, into_es_handoff = None, None
            if args.es:
                from testsupport.engine_node import EngineNode
                engine = EngineNode("elasticsearch").start()
                try:
                    into_es = run_workers(tmp, web, max(args.workers), args.articles,
                                          args.per_domain, es=engine)
                    if args.handoff:
                        into_es_handoff = run_workers(tmp, web, max(args.workers),
                                                      args.articles, args.per_domain,
                                                      es=engine, handoff=True)
                finally:
                    engine.close()
                for how, run in (("workers write", into_es),
                                 ("store_writer: controller", into_es_handoff)):
                    if run is not None:
                        print(f"into Elasticsearch ({run['workers']} workers, {how}): "
                              f"{run['stored']} documents, {run['articles_per_second']} "
                              f"articles/s until stored in the spool and acknowledged; index "
                              f"{run['index_bytes_per_article']} bytes per article on disk")
    memory = frontier_memory(args.memory_urls)
    print(f"frontier memory: {memory['urls']:,} queued URLs took "
          f"{memory['used_memory_delta_mb']} MB → {memory['mb_per_million_urls']} MB per "
          f"million ({memory['bytes_per_url']} bytes/URL; stream "
          f"{memory['stream_mb_per_million']} MB, dedup set "
          f"{memory['dedup_set_mb_per_million']} MB per million)")
    ratios, rates = _ratios(runs)
    ratio = round(statistics.median(ratios), 2) if ratios else None
    if ratios:
        each = f" (rounds: {', '.join(f'{r}×' for r in ratios)})" if len(ratios) > 1 else ""
        median = "median " if len(ratios) > 1 else ""
        print(f"2 workers / 1 worker: {median}{ratio}×{each} (goal ≥ 1.7×); 2 workers "
              f"{median}{round(statistics.median(rates), 1)} articles/s (goal ≥ 200)")
    load_after = os.getloadavg()
    print(f"load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f}")
    result = {"articles": args.articles, "per_domain": args.per_domain, "web": args.web,
              "runs": runs,
              "ratio_2_to_1": ratio, "ratios_by_round": ratios,
              "two_workers_articles_per_second": statistics.median(rates) if rates else None,
              "monitored": monitored, "memory": memory,
              "handoff": handed,
              "elasticsearch": into_es, "elasticsearch_handoff": into_es_handoff,
              "load_before": round(load_before[0], 2), "load_after": round(load_after[0], 2),
              "peak_rss_mb_bench": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                         / 1024, 1)}
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
