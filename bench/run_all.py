"""Run every benchmark, print one table, write JSON under bench/results/.

    .venv/bin/python bench/run_all.py            # full sizes (make bench; ≤ ~60 min)
    .venv/bin/python bench/run_all.py --quick    # small sizes (make bench-quick; a few minutes)
    .venv/bin/python bench/run_all.py --only crawl,search --quick
    .venv/bin/python bench/run_all.py --list

Each benchmark is the existing script under bench/, run as a subprocess with ``--json FILE``
(its own output is shown indented, live, with the elapsed time). A benchmark that fails or
times out gives a "failed" row and the run goes on. Results: ``bench/results/<UTC time>[-quick]
.json`` (one file per run) and ``bench/results/latest.json`` (a copy of the last one), with the
table rows, every script's full JSON, the exact commands, timings, the machine and the load
average before and after each benchmark (others may be using this 2-core machine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"

Row = tuple[str, Any, str, str, Any]          # figure, value, unit, goal, met (True/False/None)


@dataclass
class Bench:
    name: str
    script: str
    full: list[str]
    quick: list[str]
    rows: Callable[[dict], list[Row]]
    timeout_full: int = 1800
    timeout_quick: int = 300


# ---------------------------------------------------------------------- rows per benchmark
def rows_compare(d: dict) -> list[Row]:
    out: list[Row] = []
    ex = d.get("extraction")
    if ex:
        out += [
            (f"extraction only, Chavder ({ex['pages']} pages, 1 core)",
             ex["chavder"]["articles_per_second"], "articles/s", "", None),
            (f"extraction only, news-please ({ex['pages']} pages, 1 core)",
             ex["newsplease"]["articles_per_second"], "articles/s", "", None),
            ("extraction only, Chavder / news-please", ex["ratio"], "×", "", None),
        ]
        for tool, label in (("chavder", "Chavder"), ("newsplease", "news-please")):
            q = ex[tool]["quality"]
            out.append((f"extraction quality, {label}: title / first sentence / last para / "
                        f"date / language", f"{q['title_exact']:.0%} / "
                        f"{q['body_has_first_sentence']:.0%} / {q['body_has_last_paragraph']:.0%}"
                        f" / {q['date_right']:.0%} / {q['language_right']:.0%}", "", "", None))
    cr = d.get("crawl")
    if cr:
        c, p = cr["chavder"], cr["newsplease"]
        out += [
            (f"end to end, Chavder → SQLite ({cr['articles']} articles)",
             c["articles_per_second"], "articles/s", f"≥ {d['goal_rate']:g}",
             c["articles_per_second"] >= d["goal_rate"]),
            (f"end to end, news-please → JSON files ({cr['articles']} articles)",
             p["articles_per_second"], "articles/s", "", None),
            ("end to end, Chavder / news-please", cr["ratio"], "×", f"≥ {d['goal_ratio']:g}",
             (cr["ratio"] or 0) >= d["goal_ratio"]),
        ]
    return out


def rows_crawl(d: dict) -> list[Row]:
    n = d["stored"]
    return [
        (f"crawl.py end to end ({d['articles']} articles, {d['stored']} stored)",
         d["articles_per_second"], "articles/s", "≥ 100", d["articles_per_second"] >= 100),
        ("crawl.py time per article: extract / store",
         f"{1000 * d['extract_seconds'] / max(n, 1):.1f} / "
         f"{1000 * d['store_seconds'] / max(n, 1):.1f}", "ms", "", None),
        ("crawl.py peak RSS", d["peak_rss_mb"], "MB", "", None),
    ]


def rows_extract(d: dict) -> list[Row]:
    out: list[Row] = []
    for name, r in d.items():
        short = name.split("(")[-1].rstrip(")") if "(" in name else name
        out.append((f"extraction fast path, {short} ({r['fast_path']['pages']} pages)",
                    r["fast_path"]["ms_per_page"], "ms/page", "", None))
        out.append((f"  vs trafilatura alone, {short}", r["speedup"], "× faster", "", None))
    return out


def rows_langid(d: dict) -> list[Row]:
    acc = d["ours"]["accuracy"]
    para = min(v["paragraph"][0] for v in acc.values() if v.get("paragraph"))
    head = min(v["headline"][0] for v in acc.values() if v.get("headline"))
    speed = d["ours"]["paragraphs_per_second"]
    return [
        ("language ID, worst language, paragraphs", f"{100 * para:.1f}", "%", "≥ 99",
         para >= 0.99),
        ("language ID, worst language, headlines", f"{100 * head:.1f}", "%", "≥ 95",
         head >= 0.95),
        ("language ID speed", round(speed), "paragraphs/s", "≥ 2,000", speed >= 2000),
    ]


def rows_dedup_eval(d: dict) -> list[Row]:
    out: list[Row] = []
    for mode in ("pairwise", "corpus"):
        a = d[mode]["all"]
        out.append((f"dedup quality ({mode}): precision / recall",
                    f"{a['precision']:.3f} / {a['recall']:.3f}", "", "≥ 0.98 / ≥ 0.95",
                    a["precision"] >= 0.98 and a["recall"] >= 0.95))
    return out


def rows_dedup_scale(d: dict) -> list[Row]:
    f = d["lookup_fresh_ms"]
    return [
        (f"dedup lookup at {d['n']:,} stories, p50 / p95", f"{f['p50']:.2f} / {f['p95']:.2f}",
         "ms", "p50 ≤ 1", f["p50"] <= 1.0),
        (f"dedup peak RSS at {d['n']:,} stories", d["peak_rss_mb"], "MB", "≤ 2,048",
         d["peak_rss_mb"] <= 2048),
        ("dedup insert rate", d["insert_per_s"], "/s", "", None),
    ]


def rows_alerts(d: dict) -> list[Row]:
    out: list[Row] = [(f"alert matching, {r['rules']:,} rules",
                       round(r["articles_per_second_warm"]),
                       "articles/s", "≥ 2,000" if r["rules"] >= 10_000 else "",
                       r["articles_per_second_warm"] >= 2000 if r["rules"] >= 10_000 else None)
                      for r in d["results"]]
    out.append(("alert matching slowdown 10 → 10,000 rules (realistic rules)", d["slowdown_warm"],
                "×", "≤ 1.5", d["slowdown_warm"] <= 1.5))
    out.append(("alert matching slowdown, never-matching rules", d["slowdown_never_matching"],
                "×", "", None))
    out.append(("alert matching slowdown, per-rule match() objects",
                d["slowdown_per_rule_objects"], "×", "", None))
    return out


def rows_alerts_quality(d: dict) -> list[Row]:
    out: list[Row] = [(f"alert quality, {group} {key}: recall / false hits",
                       f"{f['recall']:.1%} / {f['false_hit_rate']:.2%}", "",
                       "≥ 99 % / ≤ 0.5 %", f["recall"] >= 0.99 and f["false_hit_rate"] <= 0.005)
                      for group in ("language", "rule") for key, f in d[group].items()]
    out.append((f"alert quality, all {d['cases']} labelled cases: recall / false hits",
                f"{d['recall']:.1%} / {d['false_hit_rate']:.2%}", "", "≥ 99 % / ≤ 0.5 %",
                d["goals_met"]))
    return out


def rows_alert_crash(d: dict) -> list[Row]:
    return [(f"alert crash: {d['kills_landed']} kill -9 over {d['stories']} stories, "
             f"lost / duplicated", f"{d['losses']} / {d['duplicates']}", "", "0 lost",
             d["losses"] == 0)]


def rows_idle(d: dict) -> list[Row]:
    return [
        (f"idle cycle, {d['sources']} unchanged sources: requests/source",
         d["requests_per_source"], "", "≤ 1", d["requests_per_source"] <= 1),
        ("idle cycle: extractions", d["extractions"], "", "0", d["extractions"] == 0),
        ("idle cycle: CPU", d["cpu_seconds"], "s", "≤ 2", d["cpu_seconds"] <= 2),
    ]


def rows_browser(d: dict) -> list[Row]:
    n, m = d["pages"], d["browser_max_pages"]
    return [
        (f"render: browser, {n} pages: CPU per page, plain / browser",
         f"{d['plain_cpu_ms_per_page']} / {d['browser_cpu_ms_per_page']}", "ms", "", None),
        (f"render: browser, {n} pages: wall per page, plain / browser",
         f"{d['plain_wall_ms_per_page']} / {d['browser_wall_ms_per_page']}", "ms", "", None),
        (f"render: browser, {m} pages at once: peak memory of the process tree (PSS)",
         d["browser_peak_tree_pss_mb"], "MB", "", None),
    ]


def rows_latency(d: dict) -> list[Row]:
    goal = d["interval_seconds"] + 10
    p95 = d["p95_seconds"]
    return [(f"publication → alert e-mail, poll {d['interval_seconds']:g} s, "
             f"{d['delivered']}/{d['articles']} delivered: p50 / p95",
             f"{d['p50_seconds']} / {p95}", "s", f"p95 ≤ {goal:g}",
             p95 is not None and p95 <= goal and d["delivered"] == d["articles"])]


def rows_soak(d: dict) -> list[Row]:
    return [(f"soak, {d['cycles']} cycles ({d['articles_stored']} articles): RSS "
             f"{d['rss_first_tenth_mb']} → {d['rss_last_tenth_mb']} MB",
             d["growth_percent"], "% growth", "≤ 5", d["growth_percent"] <= 5)]


def rows_search(d: dict) -> list[Row]:
    return [
        (f"search over {d['articles']:,} articles ({d['timed']} searches): p50 / p95 / p99",
         f"{d['p50_ms']} / {d['p95_ms']} / {d['p99_ms']}", "ms", "", None),
        ("search: slowest warm query", d["max_ms"], "ms", "", None),
        ("search: slowest query of the first pass (page cache may be cold)",
         d["first_pass_max_ms"], "ms", "", None),
        (f"search DB: size, build time ({'cached' if d['cached'] else 'built now'})",
         f"{d['db_mb']:,} MB, {d['build_seconds']} s", "", "", None),
    ]


def p95_row(label: str, stats: dict, goal_ms: float) -> Row:
    """``label: p50 / p95`` against a p95 goal in milliseconds."""
    return (label, f"{stats['p50_ms']} / {stats['p95_ms']}", "ms", f"p95 ≤ {goal_ms:g}",
            stats["p95_ms"] <= goal_ms)


def rows_web(d: dict) -> list[Row]:
    goals = d["goals"]
    return [
        p95_row(f"web search page (search + search_total), {d['articles']:,} articles: "
                "p50 / p95", d["search_page"], goals["search_p95_ms"]),
        p95_row(f"web attention chart + source sparklines, {d['articles']:,} articles: "
                "p50 / p95", d["attention"], goals["attention_p95_ms"]),
        (f"web bench store: size, build time ({'cached' if d['cached'] else 'built now'})",
         f"{d['db_mb']:,} MB, {d['build_seconds']} s", "", "", None),
    ]


def rows_web_pages(d: dict) -> list[Row]:
    goals = d["goals"]
    return [
        p95_row(f"web search page over HTTP (HTML + chart), {d['n']:,} articles: p50 / p95",
                d["search_page"], goals["search_page_p95_ms"]),
        p95_row(f"web attention API over HTTP, {d['n']:,} articles: p50 / p95",
                d["attention_api"], goals["attention_p95_ms"]),
    ]


def rows_extract_quality(d: dict) -> list[Row]:
    s = d["summary"]
    human = s["groups"]["human-annotated (sh-)"]
    every = s["groups"]["all"]
    c, t = human["chavder"], human["trafilatura"]
    ca, ta = every["chavder"], every["trafilatura"]

    def pct(pair: list[int]) -> float:
        return round(100 * pair[0] / pair[1], 1) if pair[1] else 0.0

    tm = s["time_ms"]
    rows: list[Row] = [
        (f"body F1 / P / R, {c['pages']} human-annotated pages, Chavder",
         f"{c['f1']:.3f} / {c['precision']:.3f} / {c['recall']:.3f}", "",
         f"≥ 0.97, > {t['f1']:.3f}", c["f1"] >= 0.97 and c["f1"] > t["f1"]),
        (f"body F1 / P / R, {t['pages']} human-annotated pages, trafilatura "
         f"{d.get('trafilatura_version', '')}",
         f"{t['f1']:.3f} / {t['precision']:.3f} / {t['recall']:.3f}", "", "", None),
        (f"body F1, all {ca['pages']} real pages, Chavder / trafilatura",
         f"{ca['f1']:.3f} / {ta['f1']:.3f}", "", "", None),
        (f"title exact ({ca['titles'][1]} pages), Chavder / trafilatura",
         f"{pct(ca['titles'])} / {pct(ta['titles'])}", "%", "≥ 95", pct(ca["titles"]) >= 95),
        (f"publication day ({ca['dates'][1]} pages), Chavder / trafilatura",
         f"{pct(ca['dates'])} / {pct(ta['dates'])}", "%", "≥ 95", pct(ca["dates"]) >= 95),
        ("time per real page, median / p95, Chavder",
         f"{tm['chavder']['median']} / {tm['chavder']['p95']}", "ms", "median ≤ 10",
         tm["chavder"]["median"] <= 10),
        ("time per real page, median / p95, trafilatura",
         f"{tm['trafilatura']['median']} / {tm['trafilatura']['p95']}", "ms", "", None),
    ]
    latin = s["groups"].get("non-Latin script")
    if latin:
        rows.append((f"body F1, {latin['chavder']['pages']} non-Latin pages, Chavder / "
                     "trafilatura", f"{latin['chavder']['f1']:.3f} / "
                     f"{latin['trafilatura']['f1']:.3f}", "", "", None))
    news = human.get("news-please")
    if news:
        rows += [
            (f"body F1 / P / R, {news['pages']} human-annotated pages, news-please",
             f"{news['f1']:.3f} / {news['precision']:.3f} / {news['recall']:.3f}", "", "", None),
            ("time per real page, median / p95, news-please",
             f"{tm['news-please']['median']} / {tm['news-please']['p95']}", "ms", "", None)]
    return rows


def rows_alerts_check(d: dict) -> list[Row]:
    return [(f"alerts check, {r['rules']:,} rules ({r['file_mb']} MB): CPU, peak RSS",
             f"{r['cpu_seconds']:.2f} s, {r['peak_rss_mb']:.0f} MB", "", "exit 0",
             r["exit"] == 0) for r in d["results"]]


def rows_alert_senders(d: dict) -> list[Row]:
    return [(f"{d['senders']} concurrent alert senders, {d['stories']} alerts: messages / "
             "duplicates", f"{d['messages']} / {d['duplicates']}", "", "0 duplicates",
             d["duplicates"] == 0 and d["distinct"] == d["stories"])]


def rows_robots(d: dict) -> list[Row]:
    return [(f"robots.txt of {d['robots_bytes'] / 1e6:.1f} MB: slowest /healthz, crawl, peak RSS",
             f"{d['healthz_slowest_s']} s, {d['crawl_s']} s, {d['peak_rss_mb']} MB", "",
             "/healthz < 5 s", d["healthz_slowest_s"] < 5)]


def rows_parsers(d: dict) -> list[Row]:
    """Hand-written parsers vs libraries: speed and correctness (README design table)."""
    out: list[Row] = []
    for kind, lib in (("feeds", "feedparser"), ("sitemaps", "scrapy Sitemap")):
        s = d[kind]["speed"]
        out.append((f"{kind}, {s['input']}: Chavder / {lib}", f"{s['chavder']} / {s[lib]}",
                    "items/s", "", None))
    u = d["urls"]
    out.append((f"URL identities per article ({u['variants_per_base']} spellings): Chavder "
                "url_key / w3lib canonicalize_url",
                f"{u['chavder url_key']['mean_identities_per_base']} / "
                f"{u.get('w3lib canonicalize_url', {}).get('mean_identities_per_base')}", "",
                "1", u["chavder url_key"]["mean_identities_per_base"] == 1))
    c = d["charset"]
    out.append(("Arabic pages decoded right: Chavder decode_html / w3lib html_to_unicode",
                f"{c['chavder decode_html']['right_total']} / "
                f"{c.get('w3lib html_to_unicode', {}).get('right_total')}", "", "", None))
    t = d["dates"]
    out.append(("dates.tsv rows right, ms per call: Chavder parse_date / dateparser",
                f"{t['chavder parse_date']['right']} {t['chavder parse_date']['ms_per_call']} / "
                f"{t.get('dateparser', {}).get('right')} "
                f"{t.get('dateparser', {}).get('ms_per_call')}", "", "", None))
    return out


def rows_store_writers(d: Any) -> list[Row]:
    runs = d if isinstance(d, list) else d.get("results", [])
    return [(f"{r['writers']} writer(s) on one store ({r['path']}): articles/s, stories "
             f"(expected {r['expected_stories']})",
             f"{r['articles_per_second']}, {r['stories']}", "", "stories agree",
             r["stories"] == r["expected_stories"]) for r in runs]


def rows_es(d: dict) -> list[Row]:
    eng = d["engine"]
    out: list[Row] = [(f"{eng} {d['server_version']} test node start-up", d["node_startup_seconds"],
                       "s", "", None)]
    b = d.get("bulk")
    if b:
        out.append((f"chavder es reindex --from sqlite, {b['articles']:,} articles → {eng}",
                    b["docs_per_second"], "docs/s", "", None))
    c = d.get("crawl")
    if c:
        out.append((f"crawl of {c['sqlite']['stored']} pages: into SQLite / into {eng} "
                    "(until indexed)", f"{c['sqlite']['articles_per_second']} / "
                    f"{c[eng]['articles_per_second_until_indexed']}", "articles/s", "", None))
    s = d.get("search")
    if s:
        out.append((f"search over {s['articles']:,} articles, p50 / p95: SQLite FTS5 vs {eng}",
                    f"{s['sqlite']['p50_ms']} / {s['sqlite']['p95_ms']} vs "
                    f"{s[eng]['p50_ms']} / {s[eng]['p95_ms']}", "ms", "", None))
    return out


def rows_cli_startup(d: dict) -> list[Row]:
    goal = d["goal_help_seconds"]
    out: list[Row] = []
    for r in d["results"]:
        is_help = r["name"] == "--help"
        heavy = ", ".join(r["heavy_imports"]) or "no Scrapy/Twisted"
        out.append((f"{r['command']}: wall median / p95, CPU median ({heavy})",
                    f"{r['median_seconds']:.3f} / {r['p95_seconds']:.3f}, "
                    f"{r.get('median_cpu_seconds', float('nan')):.3f}", "s",
                    f"≤ {goal:g}" if is_help else "",
                    r["median_seconds"] <= goal if is_help else None))
    return out


def rows_scale_out(d: dict) -> list[Row]:
    by_n = {r["workers"]: r for r in d["runs"]}       # the last round of each worker count
    out: list[Row] = []
    for n, r in sorted(by_n.items()):
        label = f"scale-out, {n} worker(s), {r['stored']} of {d['articles']} articles"
        if n != 2:
            out.append((label, r["articles_per_second"], "articles/s", "", None))
            continue
        rate = d.get("two_workers_articles_per_second") or r["articles_per_second"]
        out.append((label + " (median of the rounds)", rate, "articles/s", "≥ 200", rate >= 200))
    if d.get("ratio_2_to_1") is not None:
        out.append(("scale-out, 2 workers / 1 worker (median of the rounds)", d["ratio_2_to_1"],
                    "×", "≥ 1.7", d["ratio_2_to_1"] >= 1.7))
    top = by_n[max(by_n)]
    out.append((f"scale-out, Redis commands per article ({max(by_n)} workers)",
                top["redis_commands_per_article"], "commands", "", None))
    if d.get("monitored"):
        out.append(("scale-out, Redis round trips per article", d["monitored"][
            "round_trips_per_article"], "round trips", "", None))
    out.append(("scale-out, frontier memory per million queued URLs",
                d["memory"]["mb_per_million_urls"], "MB", "", None))
    if d.get("elasticsearch"):
        es = d["elasticsearch"]
        out.append((f"scale-out into Elasticsearch, {es['workers']} workers: rate; index "
                    "bytes per article", f"{es['articles_per_second']}; "
                    f"{es['index_bytes_per_article']:,}", "articles/s; B", "", None))
    out.append((f"scale-out, most requests in flight for the host (per domain "
                f"{d['per_domain']})", max(r["max_in_flight_per_host"] for r in d["runs"]), "",
                f"≤ {d['per_domain']}",
                max(r["max_in_flight_per_host"] for r in d["runs"]) <= d["per_domain"]))
    return out


BENCHES = [
    Bench("compare", "compare_newsplease.py",
          ["--articles", "2000", "--extract-pages", "300", "--rounds", "2"],
          ["--articles", "300", "--extract-pages", "45", "--rounds", "1"], rows_compare,
          timeout_full=1800, timeout_quick=240),
    Bench("crawl", "crawl.py", ["--articles", "2000"], ["--articles", "300"], rows_crawl),
    Bench("extract", "extract_speed.py", [], ["--rounds", "2", "--generated", "30"],
          rows_extract),
    Bench("extract_quality", "extract_quality.py", ["--rounds", "3", "--newsplease"], [],
          rows_extract_quality,
          timeout_full=900, timeout_quick=300),
    Bench("langid", "langid_eval.py", [], ["--seconds", "0.5"], rows_langid),
    Bench("dedup_eval", "dedup_eval.py", [], [], rows_dedup_eval),
    Bench("dedup_scale", "dedup_scale.py", [], ["--n", "50000", "--queries", "500"],
          rows_dedup_scale),
    Bench("alerts", "alerts.py", [], ["--articles", "300", "--min-seconds", "0.5"], rows_alerts),
    Bench("alerts_quality", "alerts_quality.py", ["--quiet"], ["--quiet"], rows_alerts_quality),
    Bench("alert_crash", "alert_crash.py", [], ["--stories", "50", "--kills", "5"],
          rows_alert_crash),
    Bench("idle", "idle.py", [], ["--sources", "100"], rows_idle),
    Bench("browser", "browser.py", ["--pages", "60"], ["--pages", "12"], rows_browser),
    Bench("search", "search_latency.py", ["--n", "1000000"], ["--n", "50000", "--rounds", "3"],
          rows_search, timeout_full=3600, timeout_quick=300),
    Bench("web", "web.py", ["--n", "100000"], ["--n", "20000", "--rounds", "3"], rows_web,
          timeout_full=1800, timeout_quick=300),
    Bench("web_pages", "web_pages.py", ["--n", "100000"], ["--n", "20000", "--rounds", "3"],
          rows_web_pages, timeout_full=1800, timeout_quick=300),
    Bench("latency", "latency.py", ["--interval", "4"], ["--articles", "4", "--interval", "2"],
          rows_latency),
    Bench("soak", "soak.py", ["--cycles", "500"], ["--cycles", "500"], rows_soak),
    Bench("es", "es_bulk.py", [], ["--reindex-n", "2000", "--crawl-n", "200", "--search-n",
                                   "5000", "--rounds", "1"], rows_es,
          timeout_full=3600, timeout_quick=600),
    Bench("alerts_check", "alerts_check.py", ["--rules", "17940"], ["--rules", "2000"],
          rows_alerts_check),
    Bench("alert_senders", "alert_senders.py", [], ["--stories", "20"], rows_alert_senders),
    Bench("parsers", "parsers_vs_libraries.py", [], ["--quick"], rows_parsers),
    Bench("robots", "robots_huge.py", [], ["--rules", "50000"], rows_robots),
    Bench("store_writers", "store_writers.py", ["--writers", "1", "2", "4"],
          ["--articles", "400", "--writers", "1", "2"], rows_store_writers),
    Bench("cli_startup", "cli_startup.py", ["--runs", "30"], ["--runs", "10"], rows_cli_startup),
    Bench("scale_out", "scale_out.py", ["--articles", "2000", "--rounds", "3", "--es"],
          ["--articles", "300", "--memory-urls", "20000", "--no-monitor"], rows_scale_out,
          timeout_full=1200, timeout_quick=300),
]


# ---------------------------------------------------------------------- running
def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def fmt_elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def run_one(bench: Bench, quick: bool, index: int, total: int, verbose: bool) -> dict:
    args = bench.quick if quick else bench.full
    timeout = bench.timeout_quick if quick else bench.timeout_full
    with tempfile.TemporaryDirectory(prefix="chavder-runall-") as tmp:
        out_json = Path(tmp) / "out.json"
        cmd = [sys.executable, str(BENCH / bench.script), *args, "--json", str(out_json)]
        shown = " ".join(["bench/" + bench.script, *args])
        print(f"\n[{index}/{total}] {bench.name}: {shown}", flush=True)
        load_before = loadavg()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        tail: list[str] = []
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(30):
                elapsed = fmt_elapsed(time.perf_counter() - started)
                print(f"    … {bench.name} still running, {elapsed} elapsed, "
                      f"load {loadavg()[:1]}", flush=True)

        threading.Thread(target=heartbeat, daemon=True).start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip("\n")
                tail = (tail + [line])[-40:]
                if verbose:
                    print(f"    {fmt_elapsed(time.perf_counter() - started)}  {line}", flush=True)
            rc = proc.wait()
        finally:
            timer.cancel()
            done.set()
        seconds = time.perf_counter() - started
        timed_out = seconds >= timeout and rc != 0
        record: dict = {"name": bench.name, "command": ".venv/bin/python " + shown,
                        "argv": [Path(sys.executable).name, *cmd[1:-2]],
                        "seconds": round(seconds, 1),
                        "exit_code": rc, "timed_out": timed_out, "loadavg_before": load_before,
                        "loadavg_after": loadavg()}
        if rc == 0 and out_json.exists():
            try:
                record["result"] = json.loads(out_json.read_text(encoding="utf-8"))
                record["rows"] = [list(r) for r in bench.rows(record["result"])]
            except Exception as exc:  # noqa: BLE001 - a broken parser must not lose the run
                record["error"] = f"could not read results: {exc!r}"
        else:
            record["error"] = ("timed out after %d s" % timeout) if timed_out else \
                f"exit code {rc}"
            record["output_tail"] = tail
            if not verbose:
                print("\n".join("    " + t for t in tail[-15:]))
        status = "ok" if "rows" in record else "FAILED: " + record.get("error", "?")
        print(f"[{index}/{total}] {bench.name} done in {fmt_elapsed(seconds)} ({status})",
              flush=True)
        return record


def table(records: list[dict]) -> list[list[str]]:
    rows = [["benchmark", "figure", "value", "unit", "goal", "met?"]]
    for rec in records:
        if "rows" not in rec:
            rows.append([rec["name"], "—", "failed", "", "", rec.get("error", "")[:40]])
            continue
        for figure, value, unit, goal, met in rec["rows"]:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = f"{value:,}" if isinstance(value, int) or abs(value) >= 1000 \
                    else f"{value:g}"
            rows.append([rec["name"], str(figure), str(value), unit, goal or "—",
                         "—" if met is None else ("yes" if met else "NO")])
    return rows


def render(rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows[1:]]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    widths[1] = min(widths[1], 78)
    lines = []
    for n, r in enumerate(rows):
        cells = [c if i != 1 or len(c) <= widths[1] else c[:widths[1] - 1] + "…"
                 for i, c in enumerate(r)]
        lines.append("  ".join(c.rjust(w) if i == 2 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(cells, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--only", help="comma-separated benchmark names (see --list)")
    parser.add_argument("--skip", help="comma-separated benchmark names to leave out")
    parser.add_argument("--list", action="store_true", help="list benchmarks and commands")
    parser.add_argument("--quiet", action="store_true", help="hide the scripts' own output")
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    names = [b.name for b in BENCHES]
    chosen = BENCHES
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown benchmark(s) {unknown}; choose from {names}")
        chosen = [b for b in BENCHES if b.name in wanted]
    if args.skip:
        skip = {n.strip() for n in args.skip.split(",")}
        chosen = [b for b in chosen if b.name not in skip]
    if args.list:
        for b in BENCHES:
            print(f"{b.name:<12} full:  bench/{b.script} {' '.join(b.full)}")
            print(f"{'':<12} quick: bench/{b.script} {' '.join(b.quick)}")
        return 0
    mode = "quick" if args.quick else "full"
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    load_start = loadavg()
    print(f"Chavder benchmarks ({mode}): {len(chosen)} of {len(BENCHES)} — "
          f"{', '.join(b.name for b in chosen)}; load average {load_start}", flush=True)
    records = [run_one(b, args.quick, i, len(chosen), not args.quiet)
               for i, b in enumerate(chosen, 1)]
    total = time.perf_counter() - started
    load_end = loadavg()
    rows = table(records)
    report = {
        "mode": mode, "started_at": started_at.isoformat(timespec="seconds"),
        "total_seconds": round(total, 1), "git_commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "machine": platform.machine()},
        "loadavg_start": load_start, "loadavg_end": load_end,
        "table": rows, "benchmarks": {r["name"]: r for r in records},
    }
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    path = args.results / f"{stamp}.json"
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    path.write_text(text, encoding="utf-8")
    (args.results / "latest.json").write_text(text, encoding="utf-8")
    print("\n" + render(rows))
    if args.markdown:
        print("\n" + render(rows, markdown=True))
    failed = [r["name"] for r in records if "rows" not in r]
    unmet = sum(1 for r in rows[1:] if r[5] == "NO")
    print(f"\n{mode} run, {len(records)} benchmarks in {fmt_elapsed(total)}; goals not met: "
          f"{unmet}; failed: {', '.join(failed) or 'none'}")
    print(f"load average (1/5/15 min) at start {load_start}, at end {load_end}; "
          f"{os.cpu_count()} CPUs; commit {report['git_commit']}")
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
          f"(and latest.json)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
