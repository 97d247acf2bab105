"""End to end: `chavder crawl` of an Arabic-declared outlet whose feed and pages disagree.

The outlet (tests/fixtures/extract_patterns/web/levant, served on 127.0.0.1) lists three
articles in its RSS feed: one whose feed date contradicts the page's JSON-LD datePublished by
four days (the page's date is kept; the disagreement is logged at debug level), a Persian
article on the Arabic-declared source (stored as ``fa``), and an Arabic article whose page shows
only a visible date a day before the feed's (the feed's date wins).
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from testsupport.fixtureweb import FixtureWeb
from tests.conftest import ChavderEnv

WEB = Path(__file__).parent / "fixtures" / "extract_patterns" / "web"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    web = FixtureWeb(WEB).start()
    try:
        tmp = tmp_path_factory.mktemp("levant")
        env = ChavderEnv.create(tmp, web.write_sources(tmp / "sources.yaml",
                                                       WEB / "sources.yaml"))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CHAVDER_LOG_LEVEL", "DEBUG")
            proc = env.crawl()
        store = env.open_store()
        try:
            rows = {row["url"].rstrip("/").rsplit("/", 1)[-1]: row
                    for row in store.iter_articles()}
        finally:
            store.close()
        yield {"proc": proc, "rows": rows, "summary": json.loads(proc.stdout),
               "base": web.base("levant")}
    finally:
        web.stop()


def test_every_article_is_stored(crawled):
    assert sorted(crawled["rows"]) == ["bakery-flour", "bridge-reopens", "persian-report"], \
        crawled["proc"].stderr[-3000:]


def test_the_pages_structured_date_beats_a_disagreeing_feed_date_and_is_logged(crawled):
    row = crawled["rows"]["bridge-reopens"]
    assert datetime.fromisoformat(row["published_at"]) == \
        datetime.fromisoformat("2024-03-10T09:00:00+03:00")
    url = crawled["base"] + "/2024/03/bridge-reopens/"
    lines = [line for line in crawled["proc"].stderr.splitlines() if "disagree" in line]
    assert len(lines) == 1, crawled["proc"].stderr[-3000:]
    assert "DEBUG" in lines[0] and "levant" in lines[0] and url in lines[0]
    assert "2024-03-10T09:00:00+03:00" in lines[0] and "2024-03-14T08:00:00+03:00" in lines[0]


def test_a_persian_article_on_an_arabic_source_stays_persian(crawled):
    rows = crawled["rows"]
    assert rows["persian-report"]["language"] == "fa"
    assert rows["persian-report"]["title"] == "گزارش: بازگشت کشاورزان به روستاهای مرزی"
    assert rows["bridge-reopens"]["language"] == "ar" and rows["bakery-flour"]["language"] == "ar"


def test_the_feeds_date_beats_a_visible_date(crawled):
    row = crawled["rows"]["bakery-flour"]
    assert datetime.fromisoformat(row["published_at"]) == \
        datetime.fromisoformat("2024-03-12T18:30:00+03:00")
    assert row["title"] == "أصحاب الأفران يطالبون بزيادة مخصصات الطحين"
