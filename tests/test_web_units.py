"""The web interface's framework-free parts: who may connect, what is escaped, the word diff of
revisions, the Atom writer, the SVG charts and the search form (no server, no browser)."""
from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from crawler.store.roles import AttentionBucket
from crawler.web.charts import attention_svg, periods, sparkline_svg
from crawler.web.feeds import Entry, atom
from crawler.web.search_view import SearchForm, direction, highlight
from crawler.web.security import Credentials, bind_problem, credentials_from_env
from crawler.web.story_view import word_diff

NOW = datetime(2017, 6, 3, 12, 0, tzinfo=timezone.utc)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_loopback_needs_nothing_other_addresses_need_credentials():
    none = Credentials()
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert bind_problem(host, none) is None, host
    problem = bind_problem("0.0.0.0", none)
    assert problem and "CHAVDER_WEB_TOKEN" in problem and "\n" not in problem
    assert bind_problem("192.0.2.7", Credentials(token="t")) is None
    assert bind_problem("192.0.2.7", Credentials(user="u", password="p")) is None
    assert bind_problem("192.0.2.7", Credentials(user="u")) is not None, "a user alone is not"


def test_credentials_accept_the_token_or_the_user_and_password():
    token = Credentials(token="s3cret")
    assert token.accepts("Bearer s3cret") and not token.accepts("Bearer s3cre")
    assert token.accepts(basic("anyone", "s3cret")) and not token.accepts(basic("s3cret", "x"))
    assert not token.accepts(None) and not token.accepts("Basic !!!not-base64")
    pair = Credentials(user="ana", password="pw")
    assert pair.accepts(basic("ana", "pw")) and not pair.accepts(basic("ana", "pW"))
    assert not pair.accepts("Bearer pw")
    assert Credentials().accepts(None), "nothing required: everyone on loopback"


def test_token_file_and_environment(tmp_path):
    path = tmp_path / "token"
    path.write_text("from-file\n", "utf-8")
    assert credentials_from_env(str(path), {}).token == "from-file"
    assert credentials_from_env(str(path), {"CHAVDER_WEB_TOKEN": "env"}).token == "env"
    assert not credentials_from_env(str(tmp_path / "missing"), {}).required
    both = credentials_from_env("", {"CHAVDER_WEB_USER": "u", "CHAVDER_WEB_PASSWORD": "p"})
    assert both.required and both.user == "u"


def test_direction_per_language():
    assert [direction(x) for x in ("ar", "ckb", "fa", "kmr", "en", None)] == \
        ["rtl", "rtl", "rtl", "ltr", "ltr", "auto"]


def test_highlight_escapes_the_text_around_and_inside_marks():
    text = "<b>الرقة</b> & more"
    out = str(highlight(text, [(3, 8)]))
    assert out == "&lt;b&gt;<mark>الرقة</mark>&lt;/b&gt; &amp; more"


def test_word_diff_marks_what_changed_and_escapes():
    old = "one two three <script>x</script>\nsecond paragraph"
    new = "one two four <script>x</script>\nsecond paragraph\nan added paragraph"
    out = str(word_diff(old, new))
    assert "<del>three</del> <ins>four</ins>" in out
    assert "<ins><br>an added paragraph</ins>" in out
    assert "<script>" not in out and "&lt;script&gt;x&lt;/script&gt;" in out
    long_old = " ".join(f"w{i}" for i in range(100))
    short = str(word_diff(long_old, long_old + " end"))
    assert "…" in short and "w10 " not in short and short.endswith("<ins>end</ins>")


def test_atom_feed_is_well_formed_with_hostile_text():
    entries = [Entry("urn:chavder:story:1", "<script>alert(1)</script> \x01 قصف على الرقة",
                     "http://127.0.0.1/story/1?a=1&b=2", "2017-06-01T10:00:00+03:00",
                     summary="x < y & z", author="Wire «وكالة»", language="ar",
                     categories=("الرقة",))]
    doc = atom("urn:chavder:rule:raqqa", "rule raqqa", "http://h/f.atom", "http://h/", entries)
    root = ET.fromstring(doc)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = root.find("a:entry", ns)
    assert entry.find("a:title", ns).text == "<script>alert(1)</script>  قصف على الرقة"
    assert entry.find("a:link", ns).get("href") == "http://127.0.0.1/story/1?a=1&b=2"
    assert entry.find("a:updated", ns).text == "2017-06-01T07:00:00Z"
    assert root.find("a:updated", ns).text == "2017-06-01T07:00:00Z"


def test_attention_periods_fill_gaps_and_the_svg_escapes_keys():
    day = datetime(2017, 6, 1, tzinfo=timezone.utc)
    buckets = [AttentionBucket(day, "ar", 2), AttentionBucket(day, "<x>", 1),
               AttentionBucket(day + timedelta(days=2), "ar", 1)]
    rows = periods(buckets, "day")
    assert [(p.start.day, p.total) for p in rows] == [(1, 3), (2, 0), (3, 1)]
    svg = str(attention_svg(rows, "day", ["ar", "<x>"]))
    assert 'data-key="&lt;x&gt;"' in svg and "<x>" not in svg
    assert svg.count('class="period"') == 3
    spark = str(sparkline_svg([0, 1, 5]))
    assert 'data-counts="0,1,5"' in spark and "6 articles in 3 days" in spark


def test_search_form_ranges_dates_and_bad_input():
    last_day = SearchForm.from_params({"q": "الرقة", "range": "24h"}).query(NOW)
    assert last_day.since == NOW - timedelta(hours=24) and last_day.until is None
    dated = SearchForm.from_params({"q": "x", "since": "2017-06-01", "until": "2017-06-02"})
    query = dated.query(NOW)
    assert query.since == datetime(2017, 6, 1, tzinfo=timezone.utc)
    assert query.until == datetime(2017, 6, 3, tzinfo=timezone.utc), "the 'to' day included"
    bad = SearchForm.from_params({"q": "x", "since": "yesterday-ish", "offset": "-5",
                                  "sort": "evil", "limit": "100000"})
    assert bad.problems and bad.since == "" and bad.offset == 0
    assert bad.sort == "relevance" and bad.limit == 100
    page2 = SearchForm.from_params({"q": "x", "split": "none"}).params(offset=20)
    assert page2 == {"q": "x", "offset": "20", "split": "none"}
