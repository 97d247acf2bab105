"""`chavder sources doctor ID|URL` (subprocess) against the fixture webs on 127.0.0.1: one
verdict per kind of thing a person meets when fixing a source."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.config import load_sources
from testsupport.config import write_config
from testsupport.fixtureweb import FixtureWeb

OUTLETS = Path(__file__).resolve().parent / "fixtures" / "outlets"


@pytest.fixture(scope="module")
def webs(tmp_path_factory, fixture_web):
    tmp = tmp_path_factory.mktemp("doctor")
    outlets = FixtureWeb(OUTLETS).start()
    try:
        outlet_sources = outlets.write_sources(tmp / "outlets.yaml", OUTLETS / "sources.yaml")
        news_sources = fixture_web.write_sources(tmp / "news.yaml")
        config = write_config(tmp, store=f"sqlite:///{tmp / 'data' / 'c.db'}",
                              sources=outlet_sources, contact_url="https://example.org/t",
                              download_timeout=None)
        yield {"tmp": tmp, "outlets": outlets, "news": fixture_web, "config": config,
               "news_sources": news_sources}
    finally:
        outlets.stop()


def doctor(webs, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHAVDER_CONFIG": str(webs["config"])}
    return subprocess.run([sys.executable, "-m", "crawler.cli", "sources", "doctor",
                           "--delay", "0", *args], cwd=webs["tmp"], env=env,
                          capture_output=True, text=True, timeout=120)


def field(out: str, name: str) -> str:
    return next(ln.split(":", 1)[1].strip() for ln in out.splitlines()
                if ln.strip().startswith(name + ":"))


def test_feed_source_works_with_samples_and_robots_respected(webs):
    webs["news"].clear_log()
    proc = doctor(webs, "--file", str(webs["news_sources"]), "rok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert field(out, "kind").startswith("feed (rss2.0")
    assert field(out, "robots.txt").startswith("allows this URL")
    assert field(out, "items").startswith("8; newest: 2017-06-10T12:45:00+03:00")
    assert field(out, "verdict") == "works — 8 items, 3 sample article(s) extracted"
    assert field(out, "next step") == "keep kind: feed; set verified: true"
    assert "مفوضية الانتخابات في الشمال السوري تعلن موعد انتخابات الكومينات" in out
    assert "2017-06-10T12:45:00+03:00 · ar · " in out
    paths = [p for s, _m, p, _st in webs["news"].requests if s == "rok"]
    assert not any(p.startswith("/private/") for p in paths), paths   # robots.txt disallows
    assert len(paths) <= 6


def test_sitemap_index_is_followed_into_its_news_sitemap(webs):
    proc = doctor(webs, "--file", str(webs["news_sources"]), "sorani")
    assert proc.returncode == 0, proc.stdout
    assert field(proc.stdout, "kind") == "sitemap index"
    assert "sitemap-news.xml: news sitemap, 3 items" in proc.stdout
    assert " · ckb · " in proc.stdout
    assert field(proc.stdout, "next step") == "keep kind: sitemap; set verified: true"


def test_listing_source(webs):
    proc = doctor(webs, "--file", str(webs["news_sources"]), "kurmanji")
    assert proc.returncode == 0, proc.stdout
    assert field(proc.stdout, "kind").startswith("listing (3 article links; next page ")
    assert " · kmr · " in proc.stdout


def test_json_api_source(webs):
    proc = doctor(webs, "rudaw-kmr")
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    assert field(out, "kind") == "JSON API (2 items at Data.CategoryNews.Articles; max page 2)"
    assert "2025-10-19T14:05:00+03:00 · kmr · " in out
    assert "Hewlêr (Rûdaw) – Pêşangeha pirtûkan" in out


def test_json_api_url_gets_a_guessed_api_block(webs):
    base = webs["outlets"].base("rudaw")
    proc = doctor(webs, "--file", "/nonexistent.yaml", "--allow-private",
                  f"{base}/API/News/Listing/?lang=Sorani&CurrentPage=1")
    # the API wants Accept: application/json; a bare URL gets the default: 406
    assert proc.returncode == 1 and field(proc.stdout, "kind") == "error (HTTP 406)"
    webs["outlets"].publish("rudaw", "/open-api.json",
                            (OUTLETS / "rudaw" / "api" / "kmr-1.json").read_bytes(),
                            "application/json")
    proc = doctor(webs, "--file", "/nonexistent.yaml", "--allow-private",
                  f"{base}/open-api.json")
    assert proc.returncode == 0, proc.stdout
    assert "api: {items: Data.CategoryNews.Articles, link: Link, title: Title, date: " \
           "AMPDateTime, body: BodyStripped" in proc.stdout
    assert "max_page: Data.MaxPage" in proc.stdout and "kind: api" in proc.stdout


def test_challenge_verdict_names_the_vendor_and_what_to_do(webs):
    proc = doctor(webs, "guarded-sucuri")
    assert proc.returncode == 1
    assert field(proc.stdout, "verdict") == "blocked by Sucuri (an anti-bot challenge)"
    assert "needs a real browser" in field(proc.stdout, "next step")


def test_challenged_articles_fall_back_to_whole_feed_items(webs):
    proc = doctor(webs, "guarded-cf")
    out = proc.stdout
    assert "cf/short-story: not extracted (blocked by Cloudflare)" in out
    assert "Council approves new bakery market" in out and "from the feed item" in out


def test_js_only_page_needs_a_browser(webs):
    url = webs["news"].base("hostile") + "/js-only.html"
    proc = doctor(webs, "--allow-private", url)
    assert proc.returncode == 1
    assert field(proc.stdout, "kind").startswith("JS-only page")
    assert "needs render: browser" in field(proc.stdout, "next step")


def test_bare_site_discovers_the_feed_and_prints_a_valid_entry(webs, tmp_path):
    base = webs["news"].base("rok")
    proc = doctor(webs, "--allow-private", base + "/")
    assert proc.returncode == 0, proc.stdout
    out = proc.stdout
    assert "candidates:" in out and f"feed           {base}/feed/  (8 items" in out
    assert field(out, "best candidate") == f"feed {base}/feed/"
    entry = out[out.index("sources.yaml entry:") + len("sources.yaml entry:"):]
    path = tmp_path / "sources.yaml"
    assert entry.startswith("\n  - id: site-127-0-0-1\n")
    path.write_text("sources:" + entry, encoding="utf-8")
    (source,) = load_sources(path)
    assert source.kind == "feed" and source.start_urls == [f"{base}/feed/"]
    assert source.languages == ["ar"] and source.verified is False


def test_loopback_url_is_refused_without_allow_private(webs):
    proc = doctor(webs, webs["news"].base("rok") + "/")
    assert proc.returncode == 1
    assert "refused: 127.0.0.1 is a private address" in field(proc.stdout, "reachable")


def test_unknown_target(webs):
    proc = doctor(webs, "no-such-source")
    assert proc.returncode == 1 and "neither a source id nor an http(s) URL" in proc.stdout


def test_sources_check_online_prints_one_table(webs):
    env = {**os.environ, "CHAVDER_CONFIG": str(webs["config"])}
    sources = webs["tmp"] / "outlets.yaml"
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "sources", "check", "--online",
                           "--delay", "0", str(sources)], cwd=webs["tmp"], env=env,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr   # some fixture sources are broken
    rows = {ln.split()[0]: ln for ln in proc.stdout.splitlines()[1:]}
    assert proc.stdout.splitlines()[0].split() == ["source", "kind", "found", "items",
                                                   "newest", "verdict"]
    assert set(rows) == {s.id for s in load_sources(sources)}
    assert "JSON API" in rows["rudaw-kmr"] and "works — 2 items" in rows["rudaw-kmr"]
    assert "feed" in rows["anf"] and "works" in rows["anf"]
    assert "challenge" in rows["guarded-sucuri"] and "blocked by Sucuri" in rows["guarded-sucuri"]
    assert "blocked by Imperva/Incapsula" in rows["guarded-incapsula"]
    assert "error" in rows["guarded-plain403"] and "does not work" in rows["guarded-plain403"]
