"""End to end: `chavder crawl` (real spiders, subprocess) against the fixture news web.

Asserts what a user checks: stored titles, bodies without furniture, dates, languages, counts per
source, nothing duplicated by a second crawl, one clear log line per bad input, search results.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from crawler.sampleweb import default_root
from tests.conftest import ChavderEnv

EXPECTED = yaml.safe_load((default_root() / "expected.yaml").read_text(encoding="utf-8"))
GOOD_SITES = ["rok", "sorani", "kurmanji", "legacy"]


def _path(url: str) -> str:
    return _norm_path(urlsplit(url).path)


def _norm_path(path: str) -> str:
    """Decoded, leading slash, no trailing slash (stored URLs keep the site's own form)."""
    path = unquote(path).rstrip("/")
    return path if path.startswith("/") else "/" + path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, fixture_web):
    """Crawl every fixture source twice; keep both summaries and the logs."""
    tmp = tmp_path_factory.mktemp("e2e")
    env = ChavderEnv.create(tmp, fixture_web.write_sources(tmp / "sources.yaml"))
    fixture_web.clear_log()
    first = env.crawl()
    first_requests = list(fixture_web.requests)
    fixture_web.clear_log()
    second = env.crawl()
    second_requests = list(fixture_web.requests)
    return {"env": env, "first": first, "second": second,
            "first_summary": json.loads(first.stdout), "second_summary": json.loads(second.stdout),
            "first_requests": first_requests, "second_requests": second_requests}


def stored_by_path(env: ChavderEnv) -> dict[tuple[str, str], dict]:
    store = env.open_store()
    try:
        return {(row["source"], _path(row["canonical_url"])): row for row in store.iter_articles()}
    finally:
        store.close()


@pytest.mark.parametrize("site", GOOD_SITES)
def test_every_expected_article_is_stored_correctly(crawled, site):
    rows = stored_by_path(crawled["env"])
    for path, want in EXPECTED[site].items():
        key = (site, _norm_path(path))
        assert key in rows, f"{site}{path} not stored; stored: {sorted(k for k in rows if k[0] == site)}"
        row = rows[key]
        assert row["title"] == want["title"]
        assert row["language"] == want["language"], (path, row["language"])
        if want.get("published_at"):
            from datetime import datetime
            assert datetime.fromisoformat(row["published_at"]) == datetime.fromisoformat(
                want["published_at"]), (path, row["published_at"])
        for phrase in want.get("body_contains", []):
            assert phrase in row["body"], (path, phrase)
        for junk in want.get("body_excludes", []):
            assert junk not in row["body"], (path, junk)
        if want.get("authors"):
            assert json.loads(row["authors"]) == want["authors"]


def test_counts_per_source_match_the_fixture_web(crawled):
    summary = crawled["first_summary"]["sources"]
    for site in GOOD_SITES:
        assert summary[site]["new"] == len(EXPECTED[site]), (site, summary[site])
        assert summary[site]["errors"] == 0, (site, summary[site])
    store = crawled["env"].open_store()
    try:
        for site in GOOD_SITES:
            assert store.count_articles(site) == len(EXPECTED[site])
    finally:
        store.close()


def test_second_crawl_adds_nothing_and_uses_conditional_get(crawled):
    second = crawled["second_summary"]["sources"]
    for site in GOOD_SITES:
        assert second[site]["new"] == 0 and second[site]["updated"] == 0, (site, second[site])
        assert second[site]["not_modified"] >= 1, (site, second[site])
    # no article page of a good site is requested again
    article_paths = {(site, _norm_path(p)) for site in GOOD_SITES for p in EXPECTED[site]}
    refetched = [(s, p) for s, m, p, st in crawled["second_requests"]
                 if (s, _norm_path(p)) in article_paths]
    assert refetched == []
    # every index request of the second crawl carried validators and got 304
    statuses = {(s, p): st for s, m, p, st in crawled["second_requests"] if s in GOOD_SITES
                and p != "/robots.txt"}
    assert statuses and set(statuses.values()) == {304}, statuses
    store = crawled["env"].open_store()
    try:
        assert store.integrity_check() == "ok"
        total = sum(len(EXPECTED[s]) for s in GOOD_SITES)
        good = sum(store.count_articles(s) for s in GOOD_SITES)
        assert good == total
    finally:
        store.close()


def test_robots_txt_is_obeyed(crawled):
    private = [r for r in crawled["first_requests"] if r[0] == "rok" and r[2].startswith("/private/")]
    assert private == []
    assert any(r[0] == "rok" and r[2] == "/robots.txt" for r in crawled["first_requests"])


def test_user_agent_and_politeness_settings_reach_the_server(crawled, fixture_web):
    # the fixture server saw every request; none went to another host, and the log has no
    # Scrapy tracebacks (one clear line per problem instead)
    assert "Traceback" not in crawled["first"].stderr


def test_hostile_inputs_each_give_one_clear_line_and_the_crawl_goes_on(crawled):
    log = crawled["first"].stderr
    lines = [ln for ln in log.splitlines() if "source=hostile" in ln]
    reasons = "\n".join(lines)
    for path, fragment in [("/missing", "HTTP 404"), ("/gone", "HTTP 410"),
                           ("/error", "HTTP 500")]:
        assert re.search(re.escape(path) + r".*" + re.escape(fragment), reasons), (path, reasons)
    assert "timed out" in reasons
    assert "redirect" in reasons.lower()
    assert "169.254.169.254" in reasons and "refused" in reasons
    assert "empty-body" in reasons and "not-html" in reasons and "no-article-text" in reasons
    # every problem line names source, url and reason
    for line in lines:
        assert re.search(r"source=\S+ url=\S+ reason=.+", line), line
    # good articles of the hostile outlet are still stored
    assert crawled["first_summary"]["sources"]["hostile"]["new"] >= 2


def test_hostile_xml_is_refused_without_expansion(crawled):
    log = crawled["first"].stderr
    lines = [ln for ln in log.splitlines() if "source=hostile-xml" in ln]
    assert any("billion-laughs" in ln for ln in lines), lines
    assert any("xxe" in ln for ln in lines), lines
    assert any("not-a-feed" in ln for ln in lines), lines
    store = crawled["env"].open_store()
    try:
        assert all("root:" not in row["body"] for row in store.iter_articles())
        assert store.count_articles("hostile-xml") == 0
    finally:
        store.close()


def test_search_cli_finds_raqqa_and_not_barqa(crawled):
    env = crawled["env"]
    out = env.run("search", "الرقة", "--json").stdout
    hits = [json.loads(line) for line in out.splitlines()]
    assert hits, "a search for الرقة must find the Raqqa articles"
    for hit in hits:
        assert set(hit) >= {"url", "title", "source", "language", "published_at", "snippet",
                            "score"}
        assert "برقة" not in hit["snippet"].replace("«", "").replace("»", "") or "الرقة" in hit["snippet"]
    assert any(h["source"] == "rok" for h in hits)
    text = env.run("search", "الرقة", "--lang", "ar", "--limit", "1").stdout
    assert text.startswith("1. ") and "http://127.0.0.1:" in text


def test_scrapy_crawl_command_works_for_one_source(crawled, fixture_web):
    import os
    import subprocess
    import sys
    env = crawled["env"]
    repo = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "feed", "-a", "source=rok",
         "-s", f"CHAVDER_STORE={env.store_url}", "-s", f"CHAVDER_SOURCES={env.sources}",
         "-s", "LOG_LEVEL=INFO"],
        cwd=repo, capture_output=True, text=True, timeout=120, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'chavder/not_modified': 1" in proc.stderr or "chavder/skipped_known" in proc.stderr


def test_unreachable_source_is_one_line_and_a_summary(tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - id: offline\n    kind: feed\n    allow_private: true\n"
                       "    start_urls: [http://127.0.0.1:9/feed/]\n", encoding="utf-8")
    env = ChavderEnv.create(tmp_path, sources, data_dir=None,
                            store=f"sqlite:///{tmp_path / 'c.db'}")
    proc = env.run("crawl", "--progress-interval", "0", check=False)
    lines = [ln for ln in proc.stderr.splitlines() if "source=offline" in ln]
    assert len(lines) == 1, proc.stderr
    assert "url=http://127.0.0.1:9/feed/" in lines[0] and "connection refused" in lines[0]
    assert "offline" in proc.stdout and "TOTAL" in proc.stdout
    # the only source failed: a script or cron job must see a failure (issue 16)
    assert proc.returncode == 1 and "every source failed (1 of 1)" in proc.stderr, proc.stderr


def test_failed_articles_are_backed_off_not_requested_on_every_poll(crawled, fixture_web):
    """An article that failed (404, timeout, not an article…) waits article_retry_seconds
    (default 15 min, doubling) before its next request; the index is read again meanwhile."""
    store = crawled["env"].open_store()
    try:
        failed = {_path(e["url"]) for e in store.fetch_errors() if e["source"] == "hostile"}
        stored = {_path(r["canonical_url"]) for r in store.iter_articles("hostile")}
    finally:
        store.close()
    first = {_norm_path(p) for s, m, p, st in crawled["first_requests"] if s == "hostile"}
    second = {_norm_path(p): st for s, m, p, st in crawled["second_requests"] if s == "hostile"}
    index_like = re.compile(r"(\.xml|\.gz|/feed|/robots\.txt|\.rss|\.atom)$")
    failed_articles = {p for p in failed & first if not index_like.search(p)} - stored
    assert len(failed_articles) >= 3, failed
    assert not failed_articles & set(second), sorted(failed_articles & set(second))
    assert crawled["second_summary"]["sources"]["hostile"]["errors"] < \
        crawled["first_summary"]["sources"]["hostile"]["errors"]
    # without the backoff (article_retry_seconds: 0) the same crawl asks for them again
    env = crawled["env"]
    eager = env.root / "eager.yaml"
    eager.write_text(env.config.read_text(encoding="utf-8") + "article_retry_seconds: 0\n",
                     encoding="utf-8")
    fixture_web.clear_log()
    env.run("--config", str(eager), "crawl", "--json", "--progress-interval", "0",
            "--source", "hostile")
    third = {_norm_path(p) for s, m, p, st in fixture_web.requests if s == "hostile"}
    assert failed_articles <= third, sorted(failed_articles - third)
