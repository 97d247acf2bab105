"""Chavder vs news-please on the same locally served Arabic / Sorani / Kurmanji news pages.

    .venv/bin/python bench/compare_newsplease.py                      # 2,000 pages end to end
    .venv/bin/python bench/compare_newsplease.py --articles 300 --extract-pages 60 --json out.json

news-please (PyPI ``news-please``, pinned below, plus ``nltk``, which newspaper4k needs for
Arabic) is installed by this script into its own virtual environment, ``bench/.venv-newsplease``
(``python -m venv`` + ``pip install`` from the package registry), and reused on later runs.

Pages come from ``bench/sitegen.py`` (60–150 KB, menus, 40-link sidebars, inline scripts and
styles, share bars, comment forms; ar/ckb/kmr in turn) and carry their ground truth (title,
first sentence, last paragraph, date, language). Two comparisons, measured in the same run:

(a) **extraction only**: both tools get the same HTML strings in-process, one core each —
    Chavder ``crawler.extract.extract_article`` (as the crawl calls it; no language hint), and
    news-please ``NewsPlease.from_html(html, url=…, fetch_images=False)`` in its venv via a
    worker subprocess. Best of ``--rounds`` passes after a warm-up. Also a short quality check.

(b) **end to end into each tool's own storage**: the same generated outlet (N articles listed in
    ``sitemap.xml``, also announced in ``robots.txt``) served by ``testsupport/fixtureweb.py`` on
    127.0.0.1 in its own process, pages warmed in the server's cache first.
    * Chavder: ``crawler.crawl.run_crawl`` (what ``bench/crawl.py`` and ``chavder crawl`` use): a
      sitemap source → fetch → extract → dedup → SQLite + FTS5.
    * news-please: its own crawler, the way its CLI runs a site (``news-please -c DIR`` starts
      ``newsplease.single_crawler.SingleCrawler`` per site; we start that class directly so the
      timing excludes interpreter start-up, as for Chavder): ``SitemapCrawler`` on the site's
      URL, its default pipelines ``ArticleMasterExtractor`` → ``HtmlFileStorage`` →
      ``JsonFileStorage`` (one ``.json`` + raw ``.html`` file per article).
      Why not ``NewsPlease.from_urls``: that is the library call for a handful of URLs — it has
      no storage, no politeness and no robots.txt (it starts one thread per URL at once); the
      crawler is news-please's normal way of crawling a site into storage.
    Both run with the same limits lifted: AutoThrottle off, 32 concurrent requests, 8 per domain,
    robots.txt obeyed. news-please's article heuristics (they require ``og:type``, which the
    generated pages do not have) are replaced by its ``crawler_contains_only_article_alikes``
    heuristic (true for its sitemap crawler): every sitemap URL is an article, as for Chavder.
    Each is timed from the start of its crawl to its end (imports excluded), in a subprocess.

Compass goal: Chavder ≥ 5× news-please end to end and ≥ 200 articles/s on 2 cores.
"""
from __future__ import annotations

import argparse
import html as html_lib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-newsplease"
NEWSPLEASE_SPEC = ["news-please==1.6.16", "nltk"]
GOAL_RATIO = 5.0
GOAL_RATE = 200.0


# ---------------------------------------------------------------------- venv
def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path = VENV, spec: list[str] = NEWSPLEASE_SPEC, quiet: bool = False) -> dict:
    """Create the news-please venv once; reinstall only when the spec changes."""
    stamp = venv / ".bench-stamp"
    want = " ".join(spec)
    started = time.perf_counter()
    if stamp.exists() and stamp.read_text() == want and venv_python(venv).exists():
        return {"created": False, "seconds": 0.0, "spec": want}
    if not quiet:
        print(f"installing {want} into {venv} (once; cached for later runs) …", flush=True)
    if not venv_python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # an old pip mis-resolves lxml[html-clean] extras for news-please: upgrade it first
    for cmd in (pip + ["--upgrade", "pip"], pip + spec):
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    stamp.write_text(want)
    return {"created": True, "seconds": round(time.perf_counter() - started, 1), "spec": want}


# ---------------------------------------------------------------------- pages + ground truth
_P = re.compile(r"<p>(.*?)</p>", re.S)
_H1 = re.compile(r'<h1 class="entry-title">(.*?)</h1>', re.S)


def ground_truth(html: str, lang: str, published: str) -> dict:
    content = html.split('<div class="entry-content">', 1)[1].split("</div>", 1)[0]
    paragraphs = [html_lib.unescape(p) for p in _P.findall(content)]
    sep = ", " if lang == "kmr" else "، "
    return {"title": html_lib.unescape(_H1.search(html).group(1)).strip(),
            "first_sentence": paragraphs[0].split(sep, 1)[0],
            "last_paragraph_tail": " ".join(paragraphs[-1].split()[-8:]),
            "published_date": published[:10], "language": lang}


def extraction_pages(n: int, base: str = "http://127.0.0.1:8000", seed: int = 11) -> list[dict]:
    import random

    sys.path.insert(0, str(ROOT))
    from bench.sitegen import article_page
    rng = random.Random(seed)
    pages = []
    for i in range(n):
        lang = ("ar", "ckb", "kmr")[i % 3]
        path, html, published = article_page(i, lang, base, rng)
        pages.append({"url": base + path, "html": html,
                      "truth": ground_truth(html, lang, published)})
    return pages


def _squash(text: str | None) -> str:
    return " ".join((text or "").split())


def score(pages: list[dict], outputs: list[dict]) -> dict:
    """Ground-truth checks per tool: title exact, first sentence and end of body present,
    no share/comment furniture in the body, date and language right."""
    sys.path.insert(0, str(ROOT))
    from bench.sitegen import COMMENT, SHARE
    counts = {"title_exact": 0, "body_has_first_sentence": 0, "body_has_last_paragraph": 0,
              "body_without_furniture": 0, "date_right": 0, "language_right": 0, "extracted": 0}
    lang_seen: dict[str, dict[str, int]] = {}
    for page, out in zip(pages, outputs):
        truth = page["truth"]
        if not out or not out.get("body"):
            continue
        counts["extracted"] += 1
        body = _squash(out.get("body"))
        counts["title_exact"] += _squash(out.get("title")) == _squash(truth["title"])
        counts["body_has_first_sentence"] += _squash(truth["first_sentence"]) in body
        counts["body_has_last_paragraph"] += _squash(truth["last_paragraph_tail"]) in body
        counts["body_without_furniture"] += not (COMMENT[truth["language"]] in body
                                                 or SHARE[truth["language"]] in body)
        counts["date_right"] += (out.get("date") or "")[:10] == truth["published_date"]
        counts["language_right"] += out.get("language") == truth["language"]
        per = lang_seen.setdefault(truth["language"], {})
        per[str(out.get("language"))] = per.get(str(out.get("language")), 0) + 1
    n = len(pages)
    rates = {k: round(v / n, 3) for k, v in counts.items()}
    rates["languages_reported"] = lang_seen
    return rates


# ---------------------------------------------------------------------- workers
def worker_newsplease_extract(pages_file: str, rounds: int) -> dict:
    """Runs inside the news-please venv."""
    import logging
    logging.disable(logging.CRITICAL)
    from newsplease import NewsPlease
    pages = [json.loads(line) for line in open(pages_file, encoding="utf-8")]
    for page in pages[:3]:                                  # warm-up: imports, models
        NewsPlease.from_html(page["html"], url=page["url"], fetch_images=False)
    per_round, outputs = [], []
    for r in range(rounds):
        started = time.perf_counter()
        results = [NewsPlease.from_html(p["html"], url=p["url"], fetch_images=False)
                   for p in pages]
        per_round.append(time.perf_counter() - started)
        if r == 0:
            for a in results:
                outputs.append({} if not a else {
                    "title": a.title, "body": a.maintext, "language": a.language,
                    "date": a.date_publish.isoformat() if a.date_publish else None})
    return {"seconds": per_round, "outputs": outputs}


def worker_chavder_extract(pages_file: str, rounds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import logging
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    from crawler.extract import ExtractionError, extract_article
    pages = [json.loads(line) for line in open(pages_file, encoding="utf-8")]
    headers = {"content-type": "text/html; charset=utf-8"}

    def one(page: dict):
        try:
            return extract_article(page["html"].encode("utf-8"), page["url"], headers=headers,
                                   timezone="Asia/Baghdad")
        except ExtractionError:
            return None

    for page in pages[:3]:
        one(page)
    per_round, outputs = [], []
    for r in range(rounds):
        started = time.perf_counter()
        results = [one(p) for p in pages]
        per_round.append(time.perf_counter() - started)
        if r == 0:
            outputs = [{} if a is None else {"title": a.title, "body": a.body,
                                             "language": a.language, "date": a.published_at}
                       for a in results]
    return {"seconds": per_round, "outputs": outputs}


def worker_chavder_crawl(base: str, n: int, workdir: str, per_domain: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import resource
    from crawler.app import Chavder
    from crawler.config import Settings, SourceConfig
    from crawler.crawl import run_crawl
    from crawler.logs import setup_logging
    setup_logging("WARNING")
    source = SourceConfig(id="bench", name="Bench", kind="sitemap",
                          start_urls=[base + "/sitemap.xml"], timezone="Asia/Baghdad",
                          max_articles=n + 10, allow_private=True, allowed_domains=["127.0.0.1"])
    settings = Settings(store=f"sqlite:///{workdir}/chavder.db",
                        concurrent_per_domain=per_domain, download_timeout=30)
    app = Chavder.from_config(settings=settings, sources=[source])
    store = app.store
    profile = os.environ.get("CHAVDER_BENCH_PROFILE")
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    summary = run_crawl(app, [source], {
        "AUTOTHROTTLE_ENABLED": False, "CHAVDER_PROGRESS_INTERVAL": 0,
        "CONCURRENT_REQUESTS": 32})
    wall = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    stored = store.count_articles()
    app.close()
    stats = summary.per_source["bench"]
    timings = summary.timings.get("bench", {})
    return {"stored": stored, "errors": stats["errors"], "wall_seconds": wall,
            "cpu_seconds": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
            "extract_seconds": timings.get("extract", 0.0),
            "store_seconds": timings.get("store", 0.0),
            "db_mb": round(Path(f"{workdir}/chavder.db").stat().st_size / 2**20, 1),
            "peak_rss_mb": round(cpu1.ru_maxrss / 1024, 1)}


def worker_newsplease_crawl(base: str, workdir: str, per_domain: int) -> dict:
    """Runs inside the news-please venv: its SitemapCrawler with its default pipelines."""
    import resource
    from urllib.parse import urlsplit

    import newsplease
    work = Path(workdir)
    cfg_dir = work / "config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    default = (Path(newsplease.__file__).parent / "config" / "config.cfg").read_text()
    settings = {
        r"^working_path = .*$": f"working_path = {work / 'repo'}/",
        r"^LOG_LEVEL = .*$": "LOG_LEVEL = ERROR",
        r"^CONCURRENT_REQUESTS=.*$": "CONCURRENT_REQUESTS=32",
        r"^CONCURRENT_REQUESTS_PER_DOMAIN=.*$": f"CONCURRENT_REQUESTS_PER_DOMAIN={per_domain}",
        r"^ROBOTSTXT_OBEY=.*$": "ROBOTSTXT_OBEY=True\nAUTOTHROTTLE_ENABLED=False",
        # the sitemap crawler only yields articles: news-please's own heuristic for that
        r"^enabled_heuristics = .*$":
            'enabled_heuristics = {"crawler_contains_only_article_alikes": True}',
        r"^pass_heuristics_condition = .*$":
            'pass_heuristics_condition = "crawler_contains_only_article_alikes"',
    }
    cfg = default
    for pattern, replacement in settings.items():
        cfg, count = re.subn(pattern, lambda _m, r=replacement: r, cfg, flags=re.M)
        if count != 1:
            raise RuntimeError(f"news-please config: {pattern!r} matched {count} times")
    (cfg_dir / "config.cfg").write_text(cfg)
    (cfg_dir / "sitelist.hjson").write_text(json.dumps(
        {"base_urls": [{"url": base + "/", "crawler": "SitemapCrawler"}]}))
    from newsplease.single_crawler import SingleCrawler
    host = urlsplit(base)
    patched = bool(host.port)
    if patched:       # see compare_crawl: news-please cannot crawl a site on a non-default port
        from newsplease.crawler.spiders.sitemap_crawler import SitemapCrawler
        original_init = SitemapCrawler.__init__

        def init(self, *a, **kw):  # type: ignore[no-untyped-def]
            original_init(self, *a, **kw)
            self.allowed_domains = [host.hostname]

        SitemapCrawler.__init__ = init
    profile = os.environ.get("CHAVDER_BENCH_PROFILE")
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    SingleCrawler(str(cfg_dir / "config.cfg"), str(cfg_dir / "sitelist.hjson"), 0, False, False)
    wall = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    stored = list((work / "repo" / "data").rglob("*.json"))
    size = sum(p.stat().st_size for p in (work / "repo" / "data").rglob("*") if p.is_file())
    nonempty = 0
    for p in stored:
        try:
            if json.loads(p.read_text(encoding="utf-8")).get("maintext"):
                nonempty += 1
        except ValueError:
            pass
    return {"stored": len(stored), "stored_with_text": nonempty, "wall_seconds": wall,
            "allowed_domains_patched": patched,
            "cpu_seconds": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
            "storage_mb": round(size / 2**20, 1), "peak_rss_mb": round(cpu1.ru_maxrss / 1024, 1)}


def run_worker(python: Path, *args: str, env: dict | None = None) -> dict:
    out = subprocess.run([str(python), str(Path(__file__).resolve()), "--worker", *args],
                         capture_output=True, text=True, env={**os.environ, **(env or {})},
                         cwd=str(ROOT))
    if out.returncode:
        raise RuntimeError(f"worker {args[0]} failed (exit {out.returncode}):\n"
                           f"{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- main parts
def compare_extraction(n: int, rounds: int, tmp: Path) -> dict:
    pages = extraction_pages(n)
    pages_file = tmp / "pages.jsonl"
    with pages_file.open("w", encoding="utf-8") as fh:
        for p in pages:
            fh.write(json.dumps({"url": p["url"], "html": p["html"]}, ensure_ascii=False) + "\n")
    sizes = [len(p["html"].encode("utf-8")) for p in pages]
    chav = run_worker(Path(sys.executable), "chavder-extract", str(pages_file), str(rounds))
    newsp = run_worker(venv_python(), "newsplease-extract", str(pages_file), str(rounds))
    c_best, n_best = min(chav["seconds"]), min(newsp["seconds"])
    return {
        "pages": n, "rounds": rounds, "mean_kb": round(sum(sizes) / len(sizes) / 1024, 1),
        "chavder": {"best_seconds": round(c_best, 3), "articles_per_second": round(n / c_best, 1),
                    "quality": score(pages, chav["outputs"])},
        "newsplease": {"best_seconds": round(n_best, 3),
                       "articles_per_second": round(n / n_best, 1),
                       "quality": score(pages, newsp["outputs"])},
        "ratio": round(n_best / c_best, 1),
    }


def warm_server(urls: list[str]) -> float:
    """Fetch every page once so the server's cache is equally warm for both tools."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.request import urlopen
    started = time.perf_counter()

    def get(url: str) -> None:
        with urlopen(url, timeout=30) as r:
            r.read()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, urls))
    return time.perf_counter() - started


PORT = 80


def compare_crawl(n: int, per_domain: int, tmp: Path, order: str, profile: str | None) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.sitegen import generate_site
    from testsupport.fixtureweb import FixtureWebProcess
    root = tmp / "web"
    started = time.perf_counter()
    site = generate_site(root, n)
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n"
                                     "Sitemap: http://bench.fixture/sitemap.xml\n", "utf-8")
    sizes = [p.stat().st_size for p in site.rglob("index.html")]
    # news-please's default save path drops the last directory of a slash-terminated URL, so
    # /news/1/ and /news/2/ would overwrite each other's files: the sitemap lists the pages as
    # /news/N/index.html (the same pages, same canonical link) for both tools.
    sitemap = site / "sitemap.xml"
    sitemap.write_text(re.sub(r"/news/(\d+)/</loc>", r"/news/\1/index.html</loc>",
                              sitemap.read_text("utf-8")), "utf-8")
    # a home page: news-please resolves the site's root (redirects) before reading robots.txt
    (site / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Bench Outlet</title></head>'
        "<body>" + "".join(f'<a href="/news/{i}/">{i}</a> ' for i in range(min(n, 50)))
        + "</body></html>", "utf-8")
    gen_seconds = time.perf_counter() - started
    result: dict = {"articles": n, "mean_kb": round(sum(sizes) / len(sizes) / 1024, 1),
                    "generate_seconds": round(gen_seconds, 1), "per_domain": per_domain,
                    "order": order}
    with FixtureWebProcess(root, ports={"bench": PORT}) as web:
        base = web.base("bench")
        result["port"] = int(base.rsplit(":", 1)[1])
        # news-please derives Scrapy's allowed_domains from the URL *with* its port, which then
        # never matches a host: it can only crawl a site on the default port (as real outlets
        # are). We serve on port 80; if that cannot be bound, the worker sets allowed_domains to
        # the bare host instead (noted in the results).
        np_base = base[:-3] if base.endswith(":80") else base
        urls = [base + "/sitemap.xml", base + "/robots.txt"] + [f"{base}/news/{i}/index.html"
                                                               for i in range(n)]
        result["server_warmup_seconds"] = round(warm_server(urls), 1)
        runs = {}
        for tool in (("chavder", "newsplease") if order == "chavder-first"
                     else ("newsplease", "chavder")):
            work = tmp / tool
            work.mkdir()
            print(f"  end to end: {tool} crawling {n} articles …", flush=True)
            if tool == "chavder":
                env = {"CHAVDER_BENCH_PROFILE": profile} if profile else None
                runs[tool] = run_worker(Path(sys.executable), "chavder-crawl", base, str(n),
                                        str(work), str(per_domain), env=env)
            else:
                env = {"CHAVDER_BENCH_PROFILE": profile + ".newsplease"} if profile else None
                runs[tool] = run_worker(venv_python(), "newsplease-crawl", np_base, str(work),
                                        str(per_domain), env=env)
            r = runs[tool]
            r["articles_per_second"] = round(r["stored"] / r["wall_seconds"], 1) \
                if r["wall_seconds"] else 0.0
            r["wall_seconds"] = round(r["wall_seconds"], 2)
            r["cpu_seconds"] = round(r["cpu_seconds"], 2)
            print(f"    {r['stored']} stored in {r['wall_seconds']} s → "
                  f"{r['articles_per_second']} articles/s", flush=True)
    result.update(runs)
    c, p = runs["chavder"]["articles_per_second"], runs["newsplease"]["articles_per_second"]
    result["ratio"] = round(c / p, 2) if p else None
    return result


def main(argv: list[str] | None = None) -> dict:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--worker":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "newsplease-extract":
            out = worker_newsplease_extract(rest[0], int(rest[1]))
        elif kind == "chavder-extract":
            out = worker_chavder_extract(rest[0], int(rest[1]))
        elif kind == "chavder-crawl":
            out = worker_chavder_crawl(rest[0], int(rest[1]), rest[2], int(rest[3]))
        elif kind == "newsplease-crawl":
            out = worker_newsplease_crawl(rest[0], rest[1], int(rest[2]))
        else:
            raise SystemExit(f"unknown worker {kind}")
        print(json.dumps(out, ensure_ascii=False))
        return out
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="end-to-end crawl size")
    parser.add_argument("--extract-pages", type=int, default=300, help="extraction-only pages")
    parser.add_argument("--rounds", type=int, default=2, help="extraction passes (best of)")
    parser.add_argument("--per-domain", type=int, default=8)
    parser.add_argument("--order", choices=("chavder-first", "newsplease-first"),
                        default="newsplease-first")
    parser.add_argument("--skip-extract", action="store_true")
    parser.add_argument("--skip-crawl", action="store_true")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the end-to-end crawls: Chavder into FILE, news-please "
                             "into FILE.newsplease (pstats)")
    parser.add_argument("--json", help="write results to this JSON file")
    args = parser.parse_args(argv)
    venv = ensure_venv()
    result: dict = {"newsplease_venv": venv, "goal_ratio": GOAL_RATIO, "goal_rate": GOAL_RATE}
    with tempfile.TemporaryDirectory(prefix="chavder-vs-np-") as name:
        tmp = Path(name)
        if not args.skip_extract:
            print(f"extraction only: {args.extract_pages} pages, best of {args.rounds} …",
                  flush=True)
            ex = compare_extraction(args.extract_pages, args.rounds, tmp)
            result["extraction"] = ex
            print(f"  Chavder     {ex['chavder']['articles_per_second']:>8} articles/s")
            print(f"  news-please {ex['newsplease']['articles_per_second']:>8} articles/s  → "
                  f"Chavder {ex['ratio']}× faster (one core each, {ex['mean_kb']} KB pages)")
            for tool in ("chavder", "newsplease"):
                q = ex[tool]["quality"]
                print(f"  {tool:<11} title exact {q['title_exact']:.0%}, first sentence "
                      f"{q['body_has_first_sentence']:.0%}, last paragraph "
                      f"{q['body_has_last_paragraph']:.0%}, no furniture "
                      f"{q['body_without_furniture']:.0%}, date {q['date_right']:.0%}, "
                      f"language {q['language_right']:.0%} {q['languages_reported']}")
        if not args.skip_crawl:
            print(f"end to end: {args.articles} articles …", flush=True)
            cr = compare_crawl(args.articles, args.per_domain, tmp, args.order, args.profile)
            result["crawl"] = cr
            c, p = cr["chavder"], cr["newsplease"]
            print(f"  Chavder     {c['articles_per_second']:>8} articles/s ({c['stored']} stored "
                  f"in SQLite, {c['wall_seconds']} s, {c['cpu_seconds']} s CPU)")
            print(f"  news-please {p['articles_per_second']:>8} articles/s ({p['stored']} JSON "
                  f"files, {p['wall_seconds']} s, {p['cpu_seconds']} s CPU)")
            print(f"  ratio {cr['ratio']}× (goal ≥ {GOAL_RATIO:g}×: "
                  f"{'met' if (cr['ratio'] or 0) >= GOAL_RATIO else 'NOT met'}); Chavder "
                  f"{c['articles_per_second']} articles/s (goal ≥ {GOAL_RATE:g}: "
                  f"{'met' if c['articles_per_second'] >= GOAL_RATE else 'NOT met'})")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
