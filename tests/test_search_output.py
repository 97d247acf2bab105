"""``chavder search`` output a person can read (issue 16): the query needs no shell quotes,
filters that can match nothing are refused, times can be relative, results can be sorted."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from crawler.models import Article

NOW = datetime.now(timezone.utc)


def _article(n: int, title: str, body: str, *, lang: str, source: str, age: timedelta) -> Article:
    url = f"https://example.org/{source}/{n}"
    return Article(source=source, url=url, canonical_url=url, title=title, body=body,
                   language=lang, published_at=(NOW - age).isoformat(timespec="seconds"),
                   content_hash=f"h{n}", fetched_at=NOW.isoformat(timespec="seconds"))


ARTICLES = [
    _article(1, "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة",
             "قالت وزارة الدفاع الروسية إنها ستقصف عناصر التنظيم.",
             lang="ar", source="rok", age=timedelta(days=3)),
    _article(2, "هێزەکان لە ڕەققە", "هێزەکانی سووریای دیموکرات گەیشتنە ناو شاری ڕەققە.",
             lang="ckb", source="sorani", age=timedelta(hours=2)),
    _article(3, "أمطار في الرقة", "هطلت أمطار على مدينة الرقة صباح اليوم. الرقة الرقة الرقة الرقة.",
             lang="ar", source="rok", age=timedelta(days=10)),
]


@pytest.fixture
def filled(chavder):
    store = chavder.open_store()
    try:
        for a in ARTICLES:
            store.upsert(a, a.url.split("://", 1)[1])
    finally:
        store.close()
    return chavder


def _titles(proc) -> list[str]:
    return [json.loads(line)["title"] for line in proc.stdout.splitlines()]


def test_unquoted_words_are_one_query(filled):
    quoted = filled.run("search", "--json", "الرقة OR ڕەققە")
    unquoted = filled.run("search", "--json", "الرقة", "OR", "ڕەققە")
    assert sorted(_titles(unquoted)) == sorted(_titles(quoted))
    assert {"هێزەکان لە ڕەققە", "أمطار في الرقة"} <= set(_titles(unquoted))


@pytest.mark.parametrize("option,value,valid", [("--lang", "xx", "ar, ckb"),
                                                ("--source", "nosuch", "rok")])
def test_unknown_lang_or_source_is_refused_with_the_valid_ones(filled, option, value, valid):
    proc = filled.run("search", option, value, "الرقة", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert repr(value) in proc.stderr and valid in proc.stderr
    assert "sorani" in proc.stderr or option == "--lang"
    assert "Traceback" not in proc.stderr


def test_known_lang_and_source_still_filter(filled):
    assert _titles(filled.run("search", "--json", "--lang", "ckb", "ڕەققە")) == ["هێزەکان لە ڕەققە"]
    assert "أمطار في الرقة" in _titles(filled.run("search", "--json", "--source", "rok", "الرقة"))


@pytest.mark.parametrize("since,expected", [
    ("24h", {"هێزەکان لە ڕەققە"}),
    ("yesterday", {"هێزەکان لە ڕەققە"}),
    ("7d", {"هێزەکان لە ڕەققە", "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة"}),
    ((NOW - timedelta(days=30)).date().isoformat(), {a.title for a in ARTICLES}),
])
def test_since_takes_relative_times(filled, since, expected):
    proc = filled.run("search", "--json", "--all", "--since", since, "الرقة", "OR", "ڕەققە")
    assert set(_titles(proc)) == expected


def test_since_rejects_nonsense(filled):
    proc = filled.run("search", "--since", "lastweek", "الرقة", check=False)
    assert proc.returncode == 2 and "24h, 7d, yesterday" in proc.stderr and "YYYY-MM-DD" in proc.stderr


def test_sort_newest_and_relevance(filled):
    newest = _titles(filled.run("search", "--json", "--sort", "newest", "الرقة"))
    assert newest == ["روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة", "أمطار في الرقة"]
    best = _titles(filled.run("search", "--json", "--sort", "relevance", "الرقة"))
    assert best == newest[::-1]  # the older story says الرقة more often
    assert best == _titles(filled.run("search", "--json", "الرقة"))  # still the default
    proc = filled.run("search", "--sort", "oldest", "الرقة", check=False)
    assert proc.returncode == 2


def _on_terminal(env, *args: str) -> str:
    """``chavder ARGS`` with stdout a pseudo-terminal, as a user at a shell sees it."""
    import os
    import pty
    import subprocess
    import sys
    from testsupport.processes import chavder_env
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=env.root,
                            env=chavder_env(env.config), stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode("utf-8")


def test_hits_are_bold_on_a_terminal_and_plain_otherwise(filled):
    tty = _on_terminal(filled, "search", "ڕەققە")
    assert "\x1b[1;4mڕەققە\x1b[22;24m" in tty
    piped = filled.run("search", "ڕەققە").stdout
    assert "ڕەققە" in piped and "\x1b" not in piped
    assert "«" not in piped and "»" not in piped


def test_json_gives_spans_not_markers(filled):
    rows = [json.loads(line) for line in filled.run("search", "--json", "الرقة").stdout.splitlines()]
    assert any(row["spans"] for row in rows)   # (a title-only hit has an excerpt without one)
    for row in rows:
        assert "«" not in row["snippet"]
        for start, end in row["spans"]:
            assert row["snippet"][start:end] == "الرقة"


# ------------------------------------------------------------------ right to left on a terminal

RLI, LRI, FSI, PDI = "\u2067", "\u2066", "\u2068", "\u2069"
ISOLATES = (RLI, LRI, FSI, PDI)


def test_result_lines_are_isolated_on_a_terminal(filled):
    tty = _on_terminal(filled, "search", "ڕەققە").replace("\r\n", "\n")
    lines = [line for line in tty.splitlines() if line.strip()]
    assert lines[0] == f"1. {RLI}هێزەکان لە ڕەققە{PDI}"     # the number stays outside
    assert lines[2] == f"   {LRI}https://example.org/sorani/2{PDI}"
    assert lines[3].startswith(f"   {RLI}") and lines[3].endswith(PDI)
    assert "\x1b[1;4mڕەققە\x1b[22;24m" in lines[3]            # highlighting still inside
    for line in lines:                                          # closed on the line it opens
        assert sum(line.count(c) for c in (RLI, LRI, FSI)) == line.count(PDI), repr(line)


def test_isolates_only_where_they_help(filled):
    piped = filled.run("search", "ڕەققە").stdout
    assert not any(c in piped for c in ISOLATES)               # scripts and grep see plain text
    forced = filled.run("search", "--bidi", "ڕەققە").stdout
    assert f"1. {RLI}هێزەکان لە ڕەققە{PDI}" in forced
    as_json = filled.run("search", "--json", "--bidi", "ڕەققە").stdout
    assert not any(c in as_json for c in ISOLATES)
    assert json.loads(as_json.splitlines()[0])["title"] == "هێزەکان لە ڕەققە"
    tty = _on_terminal(filled, "search", "--no-bidi", "ڕەققە")
    assert not any(c in tty for c in ISOLATES)


def test_story_lines_are_isolated_on_a_terminal(filled):
    story = json.loads(filled.run("search", "--json", "ڕەققە").stdout.splitlines()[0])["story_id"]
    tty = _on_terminal(filled, "story", str(story)).replace("\r\n", "\n")
    assert f"story {story}: {RLI}هێزەکان لە ڕەققە{PDI}" in tty
    assert f"{LRI}https://example.org/sorani/2{PDI}" in tty


# ------------------------------------------------------------------ decoded URLs, HTML page

DESK_PATH = "/أخبار/2017/06/هجوم-ريف-الرقة.html"
GONE_PATH = "/أخبار/2017/06/خبر-محذوف.html"
HOSTILE_TITLE = "هجوم <script>alert(1)</script> في ريف الرقة"


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A fixture outlet whose article URLs are Arabic (percent-encoded in its feed, as real
    sites send them), one of them gone (404), crawled once with ``chavder crawl``; served
    while the module's tests run."""
    from urllib.parse import quote

    from tests.conftest import ChavderEnv
    from testsupport.fixtureweb import FixtureWeb
    from testsupport.pages import article_page, rss_feed
    tmp = tmp_path_factory.mktemp("desk")
    (tmp / "web" / "desk").mkdir(parents=True)
    (tmp / "web" / "desk" / "feed.xml").write_text(rss_feed("desk", []), "utf-8")
    web = FixtureWeb(tmp / "web").start()
    try:
        web.publish("desk", DESK_PATH, article_page(
            HOSTILE_TITLE, ["أفادت مصادر محلية بأن اشتباكات اندلعت في ريف الرقة الشرقي فجر "
                            "اليوم واستمرت أكثر من ساعتين قبل وصول التعزيزات."] * 3,
            "شاركها", "2017-06-01T10:00:00+03:00", lang="ar"))
        web.publish("desk", "/feed.xml", rss_feed("desk", [
            (HOSTILE_TITLE, quote(DESK_PATH)), ("خبر محذوف", quote(GONE_PATH))]))
        sources = tmp / "sources.yaml"
        sources.write_text(web.substitute(
            'sources:\n  - id: desk\n    name: "مكتب الرقة — Raqqa desk"\n    kind: feed\n'
            '    start_urls: ["http://desk.fixture/feed.xml"]\n    allow_private: true\n'
            "    allowed_domains: [127.0.0.1]\n    languages: [ar]\n    interval: 1h\n"), "utf-8")
        env = ChavderEnv.create(tmp, sources)
        crawl = env.crawl(check=False)
        yield env, crawl
    finally:
        web.stop()


def test_result_urls_are_decoded(desk):
    env, _ = desk
    out = env.run("search", "الرقة").stdout
    url_line = next(line for line in out.splitlines() if "://" in line).strip()
    assert url_line.endswith(DESK_PATH), url_line
    tty = _on_terminal(env, "search", "الرقة")
    shown = "/".join(f"{FSI}{seg}{PDI}" if seg and not seg.isascii() else seg
                     for seg in DESK_PATH.split("/"))
    assert f"{LRI}http://127.0.0.1:" in tty and shown + PDI in tty   # segments stay in order
    rule_free_json = json.loads(env.run("search", "--json", "الرقة").stdout.splitlines()[0])
    assert rule_free_json["url"].isascii()   # --json keeps the stored, requestable form


def test_log_lines_print_urls_decoded(desk):
    _, crawl = desk
    lines = [line for line in crawl.stderr.splitlines() if "خبر-محذوف" in line]
    assert len(lines) == 1 and "404" in lines[0], crawl.stderr
    assert "%D8" not in crawl.stderr.upper(), crawl.stderr


def test_sources_doctor_prints_urls_decoded(desk):
    env, _ = desk
    out = env.run("sources", "doctor", "desk").stdout
    assert f"{GONE_PATH}: not extracted (HTTP 404)" in out, out   # the gone one, by URL
    assert "%D8" not in out.upper(), out


def test_html_page_is_self_contained_escaped_and_directional(desk, tmp_path):
    from html.parser import HTMLParser
    env, _ = desk
    page = tmp_path / "results.html"
    proc = env.run("search", "--format", "html", "-o", str(page), "الرقة")
    assert proc.stdout == "" and f"1 result(s) written to {page}" in proc.stderr
    html = page.read_text(encoding="utf-8")
    def undated(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.endswith(" UTC</p>")]
    assert undated(html) == undated(env.run("search", "--format", "html", "الرقة").stdout)

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.articles, self.marks, self.stack, self.links = [], [], [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.stack.append(tag)
            if tag == "article":
                self.articles.append(dict(attrs))
            if tag == "a":
                self.links.append(dict(attrs)["href"])

        def handle_endtag(self, tag):
            self.stack.pop()

        def handle_data(self, data):
            if self.stack and self.stack[-1] == "mark":
                self.marks.append(data)

    parsed = Page()
    parsed.feed(html)
    assert "script" not in parsed.tags and "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html      # the title, shown as text
    assert parsed.articles == [{"id": parsed.articles[0]["id"], "lang": "ar", "dir": "rtl"}]
    assert parsed.marks and set(parsed.marks) == {"الرقة"}
    shown = "/".join(f"<bdi>{seg}</bdi>" if seg and not seg.isascii() else seg
                     for seg in DESK_PATH.split("/"))
    assert shown + "</a>" in html   # decoded, each Arabic segment isolated, in URL order …
    assert all(link.isascii() and link.startswith("http://127.0.0.1:") for link in parsed.links)
    assert "<bdi>مكتب الرقة — Raqqa desk</bdi> (desk)" in html   # the outlet, isolated
    assert not any(tag in parsed.tags for tag in ("link", "img", "iframe"))   # self-contained


def test_html_is_refused_with_a_rule(desk):
    env, _ = desk
    proc = env.run("search", "--format", "html", "--rule", "x", check=False)
    assert proc.returncode == 2 and "--format html" in proc.stderr
