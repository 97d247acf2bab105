"""The web interface in a real browser (Playwright driving Debian's headless Chromium), end to
end: outlets on the loopback fixture web are crawled twice by ``chavder crawl`` (one article is
edited in between), then ``chavder web`` serves the store and the browser reads it as an
analyst would — over SQLite and over the real Elasticsearch node.

Screenshots of the main pages go to test-output/web/ for a person to look at.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from testsupport.articles import RAQQA_CLASHES
from testsupport.fixtureweb import FixtureWeb
from testsupport.pages import article_page, rss_feed
from testsupport.processes import chavder_env
from tests.conftest import ChavderEnv

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "test-output" / "web"
HOSTILE = (REPO / "tests" / "fixtures" / "hostile" / "title-script-injection.html").read_text(
    "utf-8")

RAQQA_SLUG = "اشتباكات-ريف-الرقة"
RAQQA_TITLE = "اشتباكات مع خلايا داعش في ريف الرقة"
RAQQA = RAQQA_CLASHES[:3]
UPDATE = ("تحديث: أعلنت قوات سوريا الديمقراطية مساء اليوم انتهاء الاشتباكات في ريف الرقة "
          "وعودة الهدوء إلى القرى.")
REPORT = [
    "أعلنت قوات سوريا الديمقراطية في بيان مقتضب أنها أحبطت هجوماً لعناصر من داعش على نقطة "
    "عسكرية شمال الرقة، مشيرة إلى أن مقاتليها ردوا على مصادر النيران.",
    "ولم يذكر البيان عدد القتلى، لكنه قال إن الوضع بات تحت السيطرة وإن عمليات التمشيط "
    "مستمرة في المزارع المحيطة بالبلدة منذ ساعات الفجر الأولى.",
]
SORANI_TITLE = "هەزاران ئاوارە لە ڕەققەوە گەیشتنە کەمپی عەین عیسا"
SORANI = [
    "بەپێی ئامارەکانی ئیدارەی کەمپەکە، لە ماوەی سێ ڕۆژی ڕابردوودا زیاتر لە چوار هەزار ئاوارە "
    "لە شاری ڕەققە (بە عەرەبی الرقة) و گوندەکانی دەوروبەری گەیشتوونەتە کەمپی عەین عیسا.",
    "ئاوارەکان دەڵێن لە ترسی شەڕ و بۆردومان ماڵەکانیان جێهێشتووە و پێویستیان بە خۆراک و "
    "دەرمان و چادر هەیە، بەتایبەتی منداڵان و بەساڵاچووان.",
]
KURMANJI_TITLE = "Bi hezaran koçberên Reqayê gihiştin kampa Eyn Îsayê"
KURMANJI = [
    "Li gorî rêveberiya kampê, di sê rojên dawî de zêdetirî çar hezar koçber ji bajarê Reqayê "
    "(bi erebî الرقة) û gundên derdorê gihiştine kampa Eyn Îsayê ya li bakurê herêmê.",
    "Koçberan got ku ji ber şer û bombebaranê malên xwe terk kirine û hewcedariya wan bi xwarin, "
    "derman û konan heye, nemaze ji bo zarok û kalan.",
]
T1 = "2017-06-01T10:00:00+03:00"
T1_COPY = "2017-06-01T13:00:00+03:00"
T2_SORANI = "2017-06-02T09:00:00+03:00"
T2_KURMANJI = "2017-06-02T12:00:00+03:00"
T3 = "2017-06-03T10:00:00+03:00"
#: Stories matching الرقة per UTC day: the raqqa story (wire + its mirror copy) and the other
#: report on the 1st; the Sorani and the Kurmanji story on the 2nd; the hostile page on the 3rd.
PER_DAY = {"2017-06-01": 2, "2017-06-02": 2, "2017-06-03": 1}
PER_DAY_LANGUAGE = {("2017-06-01", "ar"): 2, ("2017-06-02", "ckb"): 1,
                    ("2017-06-02", "kmr"): 1, ("2017-06-03", "ar"): 1}

ALERTS = """\
defaults: {mode: both, timezone: UTC, digest_time: "07:00"}
rules:
  - name: raqqa
    any:
      - [الرقة, ڕەققە, Reqa]
    recipients: [desk@example.org]
  - name: water
    any: [المياه]
    languages: [ar]
    recipients: [desk@example.org]
"""


def atom(site: str, entries: list[tuple[str, str, str, str]]) -> str:
    """An Atom feed; entries: (title, path, published, updated)."""
    from html import escape
    items = "".join(
        f'<entry><title>{escape(t)}</title><link href="http://{site}.fixture{p}"/>'
        f"<id>http://{site}.fixture{p}</id><published>{pub}</published><updated>{upd}</updated>"
        "</entry>" for t, p, pub, upd in entries)
    return ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{site}</title><id>http://{site}.fixture/</id><updated>{T3}</updated>"
            f"{items}</feed>")


def build_outlets(root: Path) -> None:
    for site in ("wire", "mirror", "sorani", "kurmanji"):
        (root / site).mkdir(parents=True)
    wire = root / "wire"
    (wire / RAQQA_SLUG).mkdir()
    (wire / RAQQA_SLUG / "index.html").write_text(
        article_page(RAQQA_TITLE, RAQQA, "شاركها", T1), "utf-8")
    (wire / "report.html").write_text(
        article_page("قسد تحبط هجوماً لداعش شمال الرقة", REPORT, "بدون تعليق", T1), "utf-8")
    (wire / "hostile.html").write_text(HOSTILE.replace(
        "<title>", f'<meta property="article:published_time" content="{T3}"><title>'), "utf-8")
    (wire / "feed.xml").write_text(atom("wire", [
        (RAQQA_TITLE, f"/{quote(RAQQA_SLUG)}/", T1, T1),
        ("report", "/report.html", T1, T1),
        ("hostile", "/hostile.html", T3, T3)]), "utf-8")
    (root / "mirror" / "copy.html").write_text(article_page(
        "عاجل | " + RAQQA_TITLE, RAQQA, "اترك تعليقاً", T1_COPY), "utf-8")
    (root / "mirror" / "feed.xml").write_text(rss_feed("mirror", [("copy", "/copy.html")]),
                                              "utf-8")
    (root / "sorani" / "awara.html").write_text(
        article_page(SORANI_TITLE, SORANI, "", T2_SORANI, lang="ckb"), "utf-8")
    (root / "sorani" / "feed.xml").write_text(atom("sorani", [
        (SORANI_TITLE, "/awara.html", T2_SORANI, T2_SORANI)]), "utf-8")
    (root / "kurmanji" / "koc.html").write_text(
        article_page(KURMANJI_TITLE, KURMANJI, "", T2_KURMANJI, lang="kmr"), "utf-8")
    (root / "kurmanji" / "feed.xml").write_text(atom("kurmanji", [
        (KURMANJI_TITLE, "/koc.html", T2_KURMANJI, T2_KURMANJI)]), "utf-8")


SOURCES = """\
defaults: {allow_private: true, allowed_domains: [127.0.0.1], timezone: Asia/Damascus}
sources:
  - {id: wire, name: "Wire «وكالة»", kind: feed, languages: [ar],
     start_urls: ["http://wire.fixture/feed.xml"]}
  - {id: mirror, name: Mirror, kind: feed, languages: [ar],
     start_urls: ["http://mirror.fixture/feed.xml"]}
  - {id: sorani, name: دەنگی هەولێر, kind: feed, languages: [ckb],
     start_urls: ["http://sorani.fixture/feed.xml"]}
  - {id: kurmanji, name: Nûçe, kind: feed, languages: [kmr],
     start_urls: ["http://kurmanji.fixture/feed.xml"]}
  - {id: gone, name: Gone Daily, kind: feed, languages: [ar],
     start_urls: ["http://wire.fixture/no-such-feed.xml"]}
"""


class WebProcess:
    """``chavder web --port 0`` of an installation, as a user starts it."""

    def __init__(self, env: ChavderEnv, *args: str, extra_env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "web", "--port", "0", *args], cwd=env.root,
            env={**chavder_env(env.config), **(extra_env or {})}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"(http://\S+/)", line)
        if not match:
            self.proc.kill()
            raise AssertionError(f"chavder web did not start: {line!r} "
                                 f"{self.proc.stderr.read()[-2000:]}")
        self.url = match.group(1).rstrip("/")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module", params=["sqlite", "elasticsearch"])
def site(request, tmp_path_factory):
    """A crawled installation (SQLite, or the real Elasticsearch node) and its web server."""
    tmp = tmp_path_factory.mktemp(f"web-{request.param}")
    build_outlets(tmp / "outlets")
    store = None
    if request.param == "elasticsearch":
        from tests.test_store_contract import with_params
        node = request.getfixturevalue("elasticsearch_node")
        alias = f"web-{os.getpid()}-{int(time.time() * 1000) % 10**8}"
        store = with_params(node.store_url, alias=alias, alerts_alias=f"{alias}-alerts")
    with FixtureWeb(tmp / "outlets") as web:
        sources = tmp / "sources.yaml"
        sources.write_text(web.substitute(SOURCES), "utf-8")
        (tmp / "alerts.yaml").write_text(ALERTS, "utf-8")
        settings = {"data_dir": tmp / "data", "alerts": tmp / "alerts.yaml"}
        if store:
            settings["store"] = store
        env = ChavderEnv.create(tmp, sources, **settings)
        env.crawl(check=False)
        web.publish("wire", f"/{RAQQA_SLUG}/", article_page(RAQQA_TITLE, RAQQA + [UPDATE],
                                                           "شاركها", T1))
        feed = (tmp / "outlets" / "wire" / "feed.xml").read_text("utf-8")
        web.publish("wire", "/feed.xml", web.substitute(feed.replace(
            f"<published>{T1}</published><updated>{T1}</updated></entry><entry><title>report",
            f"<published>{T1}</published><updated>2017-06-01T18:00:00+03:00</updated></entry>"
            "<entry><title>report")))
        env.crawl("wire", check=False)
    if store:        # what the index's 5 s refresh interval would show a moment later
        node.request("POST", f"/{alias}/_refresh")
    server = WebProcess(env)
    yield env, server.url, request.param
    server.stop()
    if store:
        for path in (f"/{alias}-0*", f"/{alias}-alerts-0*", f"/_index_template/{alias}",
                     f"/_index_template/{alias}-alerts"):
            try:
                node.request("DELETE", path)
            except AssertionError:
                pass


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from crawler.browser import find_executable
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=find_executable(), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def shoot(page, name: str, backend: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{backend}-{name}.png"), full_page=True)


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET"
        ) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# ---------------------------------------------------------------------------------------- pages

def test_search_shows_each_language_in_its_direction(site, page):
    env, url, backend = site
    page.goto(f"{url}/?q={quote('الرقة')}")
    results = page.locator("li.result")
    rows = results.evaluate_all(
        "els => els.map(e => ({lang: e.lang, dir: getComputedStyle(e).direction, "
        "title: e.querySelector('h2').textContent, "
        "also: (e.querySelector('.also') || {}).textContent || '', "
        "marks: [...e.querySelectorAll('.snippet mark')].map(m => m.textContent), "
        "url: e.querySelector('.url a').textContent}))")
    by_title = {r["title"]: r for r in rows}
    assert {r["lang"] for r in rows} == {"ar", "ckb", "kmr"}, rows
    assert by_title[SORANI_TITLE]["dir"] == "rtl"
    assert by_title[KURMANJI_TITLE]["dir"] == "ltr"
    raqqa = next(r for r in rows if RAQQA_TITLE in r["title"])
    assert raqqa["dir"] == "rtl"
    assert len([r for r in rows if RAQQA_TITLE in r["title"]]) == 1, "one row per story"
    other = "Mirror" if "عاجل" not in raqqa["title"] else "Wire «وكالة»"
    assert raqqa["also"] == f"also reported by: {other}", "the other outlet, by its name"
    assert all(r["marks"] for r in rows), "every snippet highlights its hit"
    wire_row = next(r for r in rows if r["url"].startswith("http") and RAQQA_SLUG in r["url"]
                    ) if other == "mirror" else None
    if wire_row:                                    # the readable, decoded URL
        assert "%D8" not in wire_row["url"]
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    shoot(page, "search", backend)


def test_search_filters_dates_and_pages(site, page):
    env, url, backend = site
    q = quote("الرقة")
    page.goto(f"{url}/?q={q}&since=2017-06-02&until=2017-06-02")
    langs = page.locator("li.result").evaluate_all("els => els.map(e => e.lang)")
    assert sorted(langs) == ["ckb", "kmr"], "the 'to' date includes its whole day"
    page.goto(f"{url}/?q={q}&range=24h")
    assert page.locator("li.result").count() == 0, "nothing of 2017 in the last 24 hours"
    page.goto(f"{url}/?q={q}&lang=kmr")
    assert page.locator("li.result h2").all_inner_texts() == [KURMANJI_TITLE]
    page.goto(f"{url}/?q={q}&limit=2&sort=newest")
    first = page.locator("li.result h2").all_inner_texts()
    page.click("a[rel=next]")
    second = page.locator("li.result h2").all_inner_texts()
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    assert "Stories 3–4 of 5" in page.locator("main").inner_text()
    assert "sort=newest" in page.url and "offset=2" in page.url


def test_attention_chart_counts_stories_per_day(site, page):
    env, url, backend = site
    page.goto(f"{url}/?q={quote('الرقة')}&interval=day")
    periods = page.locator("section.attention svg.chart g.period").evaluate_all(
        "els => els.map(g => [g.dataset.start, Number(g.dataset.total)])")
    assert {d: n for d, n in periods if n} == PER_DAY
    bars = page.locator("section.attention svg.chart rect.bar").evaluate_all(
        "els => els.map(r => [r.parentNode.dataset.start, r.dataset.key, Number(r.dataset.count)])")
    assert {(d, k): n for d, k, n in bars} == PER_DAY_LANGUAGE
    box = page.locator("section.attention svg.chart").bounding_box()
    assert box and box["height"] > 100, "the chart is drawn"
    api = json.loads(get(f"{url}/api/attention?q={quote('الرقة')}&interval=day&split=none")[2])
    assert {p["start"]: p["total"] for p in api["periods"] if p["total"]} == PER_DAY


def test_story_page_has_copies_and_the_revision(site, page):
    env, url, backend = site
    page.goto(f"{url}/?q={quote('الرقة')}")
    also = page.locator("li.result", has_text=RAQQA_TITLE).first.locator("p.also")
    assert also.evaluate("e => getComputedStyle(e).direction") == "ltr", "the label reads in order"
    page.locator("li.result h2 a", has_text=RAQQA_TITLE).first.click()
    page.wait_for_url(re.compile(r"/story/\d+$"))
    assert "also reported by" in page.locator("p.also").inner_text()
    outlets = page.locator("table.copies tbody tr").evaluate_all(
        "els => els.map(e => e.dataset.source)")
    assert sorted(outlets) == ["mirror", "wire"]
    wire_url = page.locator("table.copies tr[data-source=wire] span.url").inner_text()
    assert f"/{RAQQA_SLUG}/" in wire_url and "%D8" not in wire_url, "the URL decoded to read"
    body = page.locator("article.story .body")
    assert UPDATE in body.inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('.body')).direction") == "rtl"
    revision = page.locator("section.revision[data-source=wire]")
    assert revision.get_attribute("data-revision") == "1"
    assert "تحديث" in revision.locator("ins").first.inner_text(), "the added paragraph"
    shoot(page, "story", backend)


def test_sources_page_shows_health_and_error_reason(site, page):
    env, url, backend = site
    page.goto(f"{url}/sources")
    gone = page.locator("tr[data-source=gone]")
    assert "404" in gone.locator(".error-reason").inner_text()
    wire = page.locator("tr[data-source=wire]")
    assert wire.locator("svg.sparkline").count() == 1
    assert "«وكالة»" in wire.inner_text(), "names shown as text"
    api = json.loads(get(f"{url}/api/sources")[2])
    rows = {s["id"]: s for s in api["sources"]}
    assert rows["gone"]["last_error"]["reason"] in gone.inner_text()
    assert rows["wire"]["articles_total"] == 3
    shoot(page, "sources", backend)
    page.click("a[href='/sources/sorani']")
    assert SORANI_TITLE in page.locator("ol.results").inner_text()


def test_alerts_page_rule_test_and_atom_feed(site, page):
    import feedparser
    env, url, backend = site
    page.goto(f"{url}/alerts")
    rule = page.locator("tr[data-rule=raqqa]")
    assert "ڕەققە" in rule.inner_text() and "desk@example.org" in rule.inner_text()
    page.select_option("select[name=rule]", "raqqa")
    page.fill("textarea[name=text]", "Bi dehan malbat ji Reqayê derketin")
    page.click("form.rule-test button")
    result = page.locator("section.test-result")
    assert "MATCH" in result.inner_text()
    assert result.locator("mark").first.inner_text() == "Reqayê"
    assert "/alerts?" in page.url, "the test is a GET: nothing is changed"
    states = page.locator("table.ledger tbody tr").evaluate_all(
        "els => els.map(e => e.dataset.state)")
    assert states and set(states) <= {"sent", "retrying", "queued", "failed", "sending"}
    assert page.locator("section.digest").count() == 1
    shoot(page, "alerts", backend)
    href = page.locator("tr[data-rule=raqqa] a[type='application/atom+xml']").get_attribute("href")
    status, headers, body = get(url + href)
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    titles = [e.title for e in feed.entries]
    assert SORANI_TITLE in titles and KURMANJI_TITLE in titles
    assert any(RAQQA_TITLE in t for t in titles)
    assert all(re.search(r"/story/\d+$", e.link) for e in feed.entries)
    search_feed = feedparser.parse(get(f"{url}/feeds/search.atom?q={quote('الرقة')}")[2])
    assert not search_feed.bozo and len(search_feed.entries) == 5


def test_hostile_titles_render_as_text(site, page):
    env, url, backend = site
    page.goto(f"{url}/?q={quote('قصف')}")
    title = page.locator("li.result h2").first.inner_text()
    assert "<script>alert(document.cookie)</script>" in title
    assert page.evaluate("document.querySelectorAll('script, img').length") == 0
    page.locator("li.result h2 a").first.click()
    page.wait_for_url(re.compile(r"/story/\d+$"))
    assert "<img src=x onerror=alert(1)>" in page.locator("h1").inner_text()
    assert page.evaluate("document.querySelectorAll('script, img').length") == 0
    assert page.dialogs == [], "no script ran"
    status, headers, body = get(f"{url}/feeds/search.atom?q={quote('قصف')}")
    assert b"<script>" not in body and b"&lt;script&gt;" in body


# ---------------------------------------------------------------------------------------- safety

def test_read_only_with_a_csp_and_no_script(site):
    env, url, backend = site
    status, headers, body = get(url + "/")
    assert "script-src" not in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert b"<script" not in body
    assert get(url + "/", method="POST")[0] == 405
    assert get(url + "/", {"Host": "rebound.example:80"})[0] == 400, "DNS rebinding refused"
    assert get(url + "/", {"Host": "localhost"})[0] == 200
    head = get(url + "/?q=x", method="HEAD")
    assert head[0] == 200 and head[2] == b""
    paths = json.loads(get(url + "/openapi.json")[2])["paths"]
    assert {"/api/search", "/api/attention", "/api/story/{story_id}", "/api/sources",
            "/feeds/rule/{name}.atom", "/feeds/search.atom"} <= set(paths)
    font = get(url + "/static/fonts/noto-naskh-arabic-arabic-400-normal.woff2")
    assert font[0] == 200 and font[2][:4] == b"wOF2"


def test_other_addresses_need_a_token(site, monkeypatch):
    env, url, backend = site
    bare = {k: v for k, v in chavder_env(env.config).items() if not k.startswith("CHAVDER_WEB")}
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "web", "--host", "0.0.0.0",
                           "--port", "0"], cwd=env.root, env=bare, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "CHAVDER_WEB_TOKEN" in proc.stderr, proc.stderr
    monkeypatch.setenv("CHAVDER_WEB_TOKEN", "s3cret-token")
    from crawler.config import load_settings
    from crawler.web.server import start_thread
    guarded = start_thread(load_settings(env.config), "127.0.0.1", 0)   # in process: faster
    base = guarded.url.rstrip("/")
    try:
        assert get(base + "/")[0] == 401
        login = base64.b64encode(b"analyst:s3cret-token").decode()
        assert get(base + "/", {"Authorization": f"Basic {login}"})[0] == 200
        assert get(base + "/api/sources", {"Authorization": "Bearer s3cret-token"})[0] == 200
        assert get(base + "/", {"Authorization": "Bearer wrong"})[0] == 401
    finally:
        guarded.stop()
