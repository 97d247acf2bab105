"""Extraction speed: Chavder's fast lxml path vs trafilatura alone, pages per second on one core.

Two page sets:
* the fixture news web's article pages (tests/fixtures/web, 5–22 KB, real templates, legacy
  code pages), extracted exactly as the crawl does (headers, selectors, time zone, languages);
* generated ~100 KB news pages (bench/sitegen.py: menus, 40-link sidebars, inline scripts and
  styles, share bars, comment forms) in Arabic, Sorani and Kurmanji.

"fast path" = ``extract_article`` (everything: charset, metadata, body, dates, language, hash);
it falls back to trafilatura by itself on pages where the fast path finds too little, and the
number of such fallbacks is reported. "trafilatura only" = ``trafilatura.extract`` with
``favor_precision=True`` on the already-decoded HTML — body text only, so it does *less* work
than the fast path and the comparison flatters it.

    .venv/bin/python bench/extract_speed.py [--rounds 5] [--generated 60] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sitegen import SENTENCES, article_page  # noqa: E402
from crawler.config import load_sources  # noqa: E402
from crawler.extract import ExtractionError, decode_html, extract_article  # noqa: E402
from crawler.extract import article as article_module  # noqa: E402

WEB = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "web"
BASE = "http://127.0.0.1:8000"


def fixture_pages() -> list[dict]:
    """Every good fixture article with the headers and source settings the crawl would use."""
    import yaml
    expected = yaml.safe_load((WEB / "expected.yaml").read_text(encoding="utf-8"))
    sources = {s.id: s for s in load_sources(WEB / "sources.yaml")}
    pages = []
    for site, articles in expected.items():
        routes_file = WEB / site / "_routes.yaml"
        routes = yaml.safe_load(routes_file.read_text(encoding="utf-8")) if routes_file.exists() \
            else {}
        for want in articles.values():
            body = (WEB / want["file"]).read_bytes().replace(
                f"http://{site}.fixture".encode(), BASE.encode())
            ctype = routes.get(want["url_path"], {}).get("content_type", "text/html; charset=utf-8")
            src = sources[site]
            pages.append({"body": body, "url": BASE + want["url_path"],
                          "headers": {"content-type": ctype}, "timezone": src.timezone,
                          "selectors": src.selectors, "languages": src.languages})
    return pages


def generated_pages(n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    langs = {"ar": ["ar"], "ckb": ["ckb"], "kmr": ["kmr"]}
    pages = []
    for i in range(n):
        lang = ["ar", "ckb", "kmr"][i % 3]
        _path, html, _published = article_page(i, lang, BASE, rng)
        pages.append({"body": html.encode("utf-8"), "url": f"{BASE}/news/{i}/",
                      "headers": {"content-type": "text/html; charset=utf-8"},
                      "timezone": "Asia/Baghdad", "selectors": {}, "languages": langs[lang]})
    return pages


def dom_heavy_pages(n: int, seed: int = 5) -> list[dict]:
    """~100 KB pages with a real site's element count (~1500 nodes): the rok fixture template
    inflated with a mega menu, six sidebar widgets of thumbnails and excerpts, a long footer
    and a comment thread — the kind of page where extraction, not parsing, costs the time."""
    rng = random.Random(seed)
    sentences = SENTENCES["ar"]
    base_pages = [p for p in fixture_pages() if "/2017/06/" in p["url"]
                  and p["languages"] == ["ar"] and p["selectors"] == {}][:7]

    def headline() -> str:
        words = rng.choice(sentences).split()
        return " ".join(words[: rng.randint(5, 10)])

    pages = []
    for i in range(n):
        page = dict(base_pages[i % len(base_pages)])
        html = page["body"].decode("utf-8")
        menu = "".join(
            f'<li class="menu-item menu-item-has-children"><a href="{BASE}/c/{i}-{k}/">'
            f"{headline()}</a>"
            f'<ul class="sub-menu">' + "".join(f'<li class="menu-item"><a href="{BASE}/c/{k}/{j}/">'
                                               f"{headline()}</a></li>" for j in range(6))
            + "</ul></li>" for k in range(20))
        widgets = "".join(
            f'<section class="widget"><h2 class="widget-title">{headline()}</h2><ul>' + "".join(
                f'<li class="post-item"><div class="thumb"><a href="{BASE}/p/{w}/{j}/"><img src="'
                f'{BASE}/img/{w}-{j}.jpg" alt="{headline()}" width="120" height="80"></a></div>'
                f'<div class="details"><h3><a href="{BASE}/p/{w}/{j}/">{headline()}</a></h3>'
                f'<span class="date"><time datetime="2017-05-{10 + j}T10:00:00+03:00">{10 + j} أيار'
                f" 2017</time></span><p>{rng.choice(sentences)}</p></div></li>" for j in range(14))
            + "</ul></section>" for w in range(6))
        comments = "".join(
            f'<li class="comment"><article class="comment-body"><footer class="comment-meta">'
            f'<b class="fn">قارئ {j}</b></footer><div class="comment-content"><p>'
            f"{rng.choice(sentences)}، {rng.choice(sentences)}</p></div></article></li>"
            for j in range(15))
        footer = "".join(f'<li><a href="{BASE}/f/{j}/">{headline()}</a></li>' for j in range(60))
        html = html.replace('<ul id="primary-menu" class="menu">',
                            '<ul id="primary-menu" class="menu">' + menu, 1)
        html = html.replace('<aside id="secondary" class="widget-area">',
                            '<aside id="secondary" class="widget-area">' + widgets, 1)
        html = html.replace('<div id="comments" class="comments-area">',
                            f'<div id="comments" class="comments-area"><ol>{comments}</ol>', 1)
        html = html.replace('<ul class="footer-menu">', '<ul class="footer-menu">' + footer, 1)
        page["body"] = html.encode("utf-8")
        pages.append(page)
    return pages


def run_fast(page: dict) -> None:
    try:
        extract_article(page["body"], page["url"], headers=page["headers"],
                        timezone=page["timezone"], selectors=page["selectors"],
                        languages=page["languages"])
    except ExtractionError:
        pass


def run_trafilatura(page: dict) -> None:
    import trafilatura
    text, _ = decode_html(page["body"], page["headers"]["content-type"])
    trafilatura.extract(text, url=page["url"], favor_precision=True, include_comments=False)


def measure(pages: list[dict], fn: Callable[[dict], None], rounds: int) -> dict:
    """Best-of-``rounds`` wall time over the whole set (less noise than a mean)."""
    for page in pages[:3]:
        fn(page)  # warm-up: imports, fastText model, regex compilation
    per_round = []
    for _ in range(rounds):
        started = time.perf_counter()
        for page in pages:
            fn(page)
        per_round.append(time.perf_counter() - started)
    best = min(per_round)
    return {"pages": len(pages), "best_seconds": round(best, 4),
            "median_seconds": round(statistics.median(per_round), 4),
            "ms_per_page": round(1000 * best / len(pages), 2),
            "pages_per_second": round(len(pages) / best, 1)}


def count_fallbacks(pages: list[dict]) -> int:
    """How many pages of the set made the fast path call trafilatura."""
    calls = 0
    original = article_module.trafilatura_body

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    article_module.trafilatura_body = counting
    try:
        for page in pages:
            run_fast(page)
    finally:
        article_module.trafilatura_body = original
    return calls


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--generated", type=int, default=60, help="generated ~100 KB pages")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    sets = {"fixture pages": fixture_pages(),
            "generated ~100 KB pages (sitegen, script-heavy)": generated_pages(args.generated),
            "generated ~100 KB pages (DOM-heavy, ~1500 elements)": dom_heavy_pages(
                args.generated)}
    results: dict = {}
    for name, pages in sets.items():
        sizes = [len(p["body"]) for p in pages]
        fast = measure(pages, run_fast, args.rounds)
        slow = measure(pages, run_trafilatura, max(1, args.rounds // 2))
        results[name] = {"mean_kb": round(statistics.mean(sizes) / 1024, 1),
                         "fast_path": fast, "trafilatura_only": slow,
                         "fallbacks_to_trafilatura": count_fallbacks(pages),
                         "speedup": round(slow["best_seconds"] / fast["best_seconds"], 1)}
        print(f"{name}: {len(pages)} pages, mean {results[name]['mean_kb']} KB")
        print(f"  fast path        {fast['ms_per_page']:7.2f} ms/page  "
              f"{fast['pages_per_second']:8.1f} pages/s  (trafilatura fallbacks: "
              f"{results[name]['fallbacks_to_trafilatura']}/{len(pages)})")
        print(f"  trafilatura only {slow['ms_per_page']:7.2f} ms/page  "
              f"{slow['pages_per_second']:8.1f} pages/s  → fast path "
              f"{results[name]['speedup']}× faster")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
