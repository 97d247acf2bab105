"""crawler.warmup: after warm_up() a process's first articles load nothing more."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.warmup import SAMPLE_PAGES, warm_up

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "tests" / "fixtures" / "web"

#: A fresh interpreter: warm up, then extract, sketch and index real fixture pages of the
#: three languages and build a crawler's components; print what those steps imported.
PROBE = r"""
import json, sys
from pathlib import Path
from scrapy.utils.project import get_project_settings
from crawler.warmup import warm_up
settings = get_project_settings()
seconds = warm_up(settings)
loaded = set(sys.modules)
from crawler.extract import extract_article
from crawler.dedup.minhash import sketch
from crawler.dedup.fingerprint import body_fingerprint
from crawler.text.analysis import index_terms
from crawler.urls import same_site
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object
languages = []
for path, lang in json.loads(sys.argv[1]):
    article = extract_article(Path(path).read_bytes(), "https://outlet.example/" + lang,
                              languages=(lang,), headers={"Content-Type": "text/html"})
    languages.append(article.language)
    sketch(article.body, article.language)
    body_fingerprint(article.body, article.language)
    index_terms(article.title + " " + article.body, article.language)
same_site("https://a.example.org/x", "https://b.example.org/y")
for name in ("DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES"):
    for component in build_component_list(settings.getwithbase(name)):
        load_object(component)
print(json.dumps({"seconds": seconds, "languages": languages,
                  "new": sorted(set(sys.modules) - loaded)}))
"""


def _page(site: str, pattern: str) -> str:
    return str(next(p for p in sorted((WEB / site).rglob(pattern)) if p.stat().st_size > 2000))


def test_after_warm_up_the_first_articles_import_nothing() -> None:
    pages = [(_page("rok", "2017/06/*/index.html"), "ar"),
             (_page("sorani", "2017/06/*.html"), "ckb"),
             (_page("kurmanji", "nuce/2017/06/*.html"), "kmr")]
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(pages)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["languages"] == ["ar", "ckb", "kmr"]
    assert report["new"] == [], f"imported after the warm-up: {report['new']}"
    assert report["seconds"] > 0


@pytest.mark.parametrize("lang,url,html", SAMPLE_PAGES, ids=[p[0] for p in SAMPLE_PAGES])
def test_the_sample_pages_are_articles_of_their_language(lang: str, url: str, html: str) -> None:
    """The warm-up pages go the whole way (a page the extractor rejected would leave the
    steps after the rejection cold)."""
    from crawler.extract import extract_article
    article = extract_article(html.encode("utf-8"), url, languages=(lang,),
                              headers={"Content-Type": "text/html; charset=utf-8"})
    assert article.language == lang
    assert (article.published_at or "").startswith("2026-12-03"), "the date parsers were not reached"
    assert len(article.body) > 100


def test_a_failing_step_is_logged_and_the_rest_still_runs(monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    import crawler.warmup as warmup
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("model file missing")

    monkeypatch.setattr(warmup, "warm_extraction", broken)
    monkeypatch.setattr(warmup, "warm_dedup", lambda: ran.append("dedup"))
    caplog.set_level("WARNING", logger="chavder.warmup")
    assert warmup.warm_up() >= 0
    assert ran == ["dedup"]
    assert "warm-up of the extraction failed" in caplog.text and "model file missing" in caplog.text


SETTLE = r"""
import gc, json
from crawler.warmup import CRAWL_GC_THRESHOLDS, settle_heap, warm_up
warm_up()
frozen = settle_heap()
for _ in range(50_000):          # cycles made after the freeze are still collected
    a = []; a.append(a)
unreachable = gc.collect()
print(json.dumps({"frozen": frozen, "count": gc.get_freeze_count(),
                  "thresholds": list(gc.get_threshold()), "want": list(CRAWL_GC_THRESHOLDS),
                  "unreachable": unreachable}))
"""


def test_settle_heap_freezes_the_warm_heap_and_still_collects_new_cycles() -> None:
    out = subprocess.run([sys.executable, "-c", SETTLE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["frozen"] == report["count"] > 50_000     # modules, models, suffix list
    assert report["thresholds"] == report["want"]
    assert report["unreachable"] > 0
