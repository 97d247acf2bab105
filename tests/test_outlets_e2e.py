"""Outlets as they publish: `chavder crawl` (subprocess, real spiders) against the outlet-shaped
fixture web (tests/fixtures/outlets): a Rudaw-like JSON listing API, ANF-like .rss feeds with
whole articles, challenge pages of each anti-bot vendor, and broken JSON APIs.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from testsupport.fixtureweb import FixtureWeb
from tests.conftest import CONTACT_URL, ChavderEnv
from testsupport.config import write_config

ROOT = Path(__file__).resolve().parent / "fixtures" / "outlets"


@pytest.fixture(scope="module")
def outlets_web():
    web = FixtureWeb(ROOT).start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, outlets_web):
    tmp = tmp_path_factory.mktemp("outlets")
    env = ChavderEnv.create(tmp, outlets_web.write_sources(tmp / "sources.yaml",
                                                           ROOT / "sources.yaml"),
                            contact_url=CONTACT_URL)
    outlets_web.clear_log()
    first = env.crawl()
    headers = list(outlets_web.request_headers)
    requests = list(outlets_web.requests)
    status = env.run("status")
    status_json = json.loads(env.run("status", "--json").stdout)
    return {"env": env, "first": first, "summary": json.loads(first.stdout),
            "headers": headers, "requests": requests, "status": status.stdout,
            "status_json": status_json}


def rows(env: ChavderEnv, source: str | None = None) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(env.db_path)
    db.row_factory = sqlite3.Row
    try:
        sql = "SELECT * FROM articles" + (" WHERE source=?" if source else "")
        return {urlsplit(r["url"]).path: r for r in db.execute(sql, (source,) if source else ())}
    finally:
        db.close()


def lines(crawled, source: str) -> list[str]:
    return [ln for ln in crawled["first"].stderr.splitlines() if f"source={source} " in ln
            and "WARNING" in ln]


# ---------------------------------------------------------------------------- kind api

def test_api_source_stores_every_item_of_every_page_with_iraq_local_dates(crawled):
    stored = rows(crawled["env"], "rudaw-kmr")
    assert set(stored) == {"/kurmanci/kurdistan/1910202501", "/kurmanci/kurdistan/1910202502",
                           "/kurmanci/kurdistan/1810202503"}   # page 2 item included
    first = stored["/kurmanci/kurdistan/1910202501"]
    assert first["title"] == "Li Hewlêrê pêşangeha pirtûkan a navneteweyî dest pê kir"
    assert first["language"] == "kmr"
    assert "Serdanvan dikarin her roj" in first["body"]
    assert "© Rudaw" not in first["body"] and "Kurmancî" not in first["body"]
    # the API's naive "2025-10-19T14:05:00" is Iraq time (UTC+3), from the source's timezone
    assert datetime.fromisoformat(first["published_at"]) == datetime.fromisoformat(
        "2025-10-19T14:05:00+03:00")
    assert first["extracted_from"] == "page"
    sorani = rows(crawled["env"], "rudaw-ckb")
    (row,) = sorani.values()
    assert row["language"] == "ckb" and row["title"].startswith("لە هەولێر پێشانگەی")
    assert crawled["summary"]["sources"]["rudaw-kmr"]["errors"] == 0
    assert crawled["summary"]["sources"]["rudaw-ckb"]["errors"] == 0


def test_api_pages_stop_at_the_declared_max_page(crawled):
    api = [p for s, _m, p, _st in crawled["requests"] if s == "rudaw" and "/API/" in p]
    assert api.count("/API/News/Listing/") == 3      # Kurmanci 1, 2; Sorani 1 (paths only)
    pages = [full for site, full, _h in crawled["headers"] if "CurrentPage=" in full]
    assert not any("Kurmanci&CurrentPage=3" in p for p in pages), pages   # MaxPage is 2


def test_source_headers_and_user_agent_are_sent(crawled):
    sent = {full: h for site, full, h in crawled["headers"] if site == "rudaw"}
    kmr = sent["/API/News/Listing/?lang=Kurmanci&CurrentPage=1"]
    assert kmr["Accept"] == "application/json, text/plain, */*"
    assert kmr["User-Agent"] == "Mozilla/5.0 (compatible; ChavderTest/1.0; " \
                                "+https://example.org/chavder-tests)"
    assert kmr["Referer"].endswith("/kurmanci")
    ckb = sent["/API/News/Listing/?lang=Sorani&CurrentPage=1"]
    assert ckb["Accept"] == "application/json"
    assert ckb["User-Agent"].startswith("Chavder/")     # no override: the settings' agent


def test_bad_json_apis_get_one_line_each_and_the_rest_goes_on(crawled):
    got = lines(crawled, "badapi")
    expect = {"/api/html.json": "not JSON: the API answered with HTML",
              "/api/invalid.json": "invalid JSON",
              "/api/huge.json": "6000 items: read the first 5000",
              "/api/deep.json": "JSON nested deeper than 64 levels",
              "/api/types.json": "link field 'Link' is a number",
              "/api/notalist.json": "item list 'Data.Articles' is an object, not a list"}
    for path, reason in expect.items():
        hits = [ln for ln in got if f"{path} " in ln]
        assert len(hits) == 1, (path, got)
        assert reason in hits[0], (path, hits[0])
    stored = rows(crawled["env"], "badapi")
    assert set(stored) == {"/news/7001", "/news/7002"}   # good.json, and types.json's one item
    assert datetime.fromisoformat(stored["/news/7001"]["published_at"]) == datetime.fromisoformat(
        "2025-10-19T08:00:00+03:00")                    # naive, placed in Asia/Damascus
    assert stored["/news/7002"]["title"] == "Second water station planned"   # page's, not a list
    assert crawled["summary"]["unexpected_errors"] == 0
    assert crawled["first"].returncode == 0


# ---------------------------------------------------------------------------- whole feed items

def test_feed_items_with_the_whole_article_stand_in_for_pages_that_fail(crawled):
    stored = rows(crawled["env"], "anf")
    page = stored["/rojane/serdana-malbatan-1001"]
    assert page["extracted_from"] == "page" and "(malper)" in page["body"]
    feed = stored["/rojane/civina-sarederiye-1002"]          # page is a 404
    assert feed["extracted_from"] == "feed"
    assert feed["title"] == "Civîna şaredariyê li ser ava vexwarinê hat kirin"
    assert "boriyên kevn dê di nav sê mehan de" in feed["body"] and feed["language"] == "kmr"
    assert datetime.fromisoformat(feed["published_at"]) == datetime.fromisoformat(
        "2025-10-19T10:01:00+03:00")
    assert "/rojane/kurte-nuce-1003" not in stored            # a teaser is not an article
    assert any("kurte-nuce-1003 reason=HTTP 404" in ln for ln in lines(crawled, "anf"))


# ---------------------------------------------------------------------------- challenges

@pytest.mark.parametrize("source, vendor", [
    ("guarded-cf", "Cloudflare"), ("guarded-sucuri", "Sucuri"),
    ("guarded-incapsula", "Imperva/Incapsula"), ("guarded-generic", "generic")])
def test_challenges_are_reported_with_vendor_and_advice_and_never_stored(crawled, source, vendor):
    got = lines(crawled, source)
    blocked = [ln for ln in got if f"blocked by an anti-bot challenge ({vendor}," in ln]
    assert blocked, got
    assert all("the page was not stored;" in ln for ln in blocked)
    for row in rows(crawled["env"], source).values():
        assert row["extracted_from"] == "feed"               # only a feed's own full text
        for junk in ("Just a moment", "being redirected", "Incapsula", "Access denied"):
            assert junk not in row["title"] + row["body"]
    out = crawled["status"]
    line = next(ln for ln in out.splitlines() if ln.startswith(source + " "))
    assert f"blocked by an anti-bot challenge ({vendor})" in line
    advice = out.splitlines()[out.splitlines().index(line) + 1]
    assert advice.strip().startswith("what to do:")
    reason = crawled["status_json"]["sources"][source]["last_error"]["reason"]
    assert reason.startswith(f"blocked by an anti-bot challenge ({vendor},")


def test_challenged_article_uses_the_feed_text_and_teasers_are_not_stored(crawled):
    stored = rows(crawled["env"], "guarded-cf")
    assert set(stored) == {"/cf/full-story"}
    row = stored["/cf/full-story"]
    assert row["extracted_from"] == "feed" and row["title"] == "Council approves new bakery market"
    assert "sixty stalls" in row["body"]


def test_a_plain_403_is_an_http_error_not_a_challenge(crawled):
    got = lines(crawled, "guarded-plain403")
    assert len(got) == 1 and got[0].endswith("reason=HTTP 403"), got


def test_a_challenged_source_backs_off_for_the_rest_of_the_crawl(tmp_path, outlets_web):
    """After the first challenge, the source's further pages on that host are not requested."""
    many = "".join(f"""<item><title>Story {n}</title><link>http://guarded.fixture/cf/s{n}</link>
<pubDate>Mon, 20 Oct 2025 0{n}:00:00 +0300</pubDate><description>Short.</description></item>"""
                   for n in range(8))
    outlets_web.publish("guarded", "/cf/many.xml", f"""<?xml version="1.0"?><rss version="2.0">
<channel><title>Many</title>{many}</channel></rss>""")
    challenge = (ROOT / "guarded" / "cf" / "challenge.html").read_text(encoding="utf-8")
    for n in range(8):
        outlets_web.publish("guarded", f"/cf/s{n}", challenge, content_type="text/html")
    base = outlets_web.base("guarded")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"""sources:
  - id: many
    kind: feed
    start_urls: [{base}/cf/many.xml]
    allow_private: true
    interval: 1m
""", encoding="utf-8")
    env = ChavderEnv.create(tmp_path, sources, store=f"sqlite:///{tmp_path / 'data'}/c.db",
                            concurrent_per_domain=1)
    outlets_web.clear_log()
    proc = env.crawl(check=False)
    fetched = [p for s, _m, p, _st in outlets_web.requests if s == "guarded" and
               p.startswith("/cf/s")]
    assert len(fetched) == 1, fetched        # one challenge, then the source backs off
    blocked = [ln for ln in proc.stderr.splitlines() if "blocked by an anti-bot challenge" in ln]
    assert len(blocked) == 1, proc.stderr
    assert env.open_store().count_articles("many") == 0
    # the only source got nothing: the crawl says so in its exit status (issue 16)
    assert proc.returncode == 1 and "every source failed (1 of 1)" in proc.stderr, proc.stderr


def test_the_service_backs_off_a_challenged_source_across_crawls(tmp_path, outlets_web):
    """`chavder run` polling every second: the source behind a bot check is asked once, then
    waits (max(interval, 60 s) after the first challenge); a source with a plain 403 is polled
    on every interval, as before."""
    import signal
    import subprocess
    import sys
    import os
    import time

    from testsupport.polling import wait_for

    base = outlets_web.base("guarded")
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"""defaults: {{allow_private: true, interval: 1s}}
sources:
  - id: botcheck
    kind: feed
    start_urls: [{base}/generic/feed.xml]
  - id: forbidden
    kind: feed
    start_urls: [{base}/plain403/feed.xml]
""", encoding="utf-8")
    config = write_config(tmp_path, store=f"sqlite:///{tmp_path / 'data'}/c.db",
                          sources=sources, health_port=0)
    log = tmp_path / "service.log"
    outlets_web.clear_log()
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "run"], cwd=tmp_path,
                                env={**os.environ, "CHAVDER_CONFIG": str(config)},
                                stdout=handle, stderr=subprocess.STDOUT)
        try:
            assert wait_for(lambda: outlets_web.request_count("guarded", "/plain403/feed.xml")
                            >= 4, 40), log.read_text(encoding="utf-8")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert outlets_web.request_count("guarded", "/generic/feed.xml") == 1, text
    backed = [ln for ln in text.splitlines() if "source=botcheck" in ln
              and "recently; next try in" in ln]
    assert backed, text           # each later poll says why nothing was fetched
