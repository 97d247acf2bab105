"""Sitemaps: index, urlset, Google News and image extensions, text sitemaps, gzip, limits."""
from __future__ import annotations

import gzip
from urllib.parse import quote

import pytest

from crawler.discovery import parse_sitemap

SM_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
IMAGE_NS = 'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"'


def urlset(urls: str, ns: str = SM_NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {ns} {NEWS_NS} {IMAGE_NS}>{urls}</urlset>'.encode()


NEWS_URL = """<url><loc>https://www.kurdistan24.example/ckb/story/123456</loc>
 <lastmod>2017-06-01T10:00:00+03:00</lastmod>
 <news:news><news:publication><news:name>Kurdistan24</news:name><news:language>ckb</news:language>
 </news:publication><news:publication_date>2017-06-01T09:00:00+03:00</news:publication_date>
 <news:title>سەرۆکی هەرێم سەردانی بەغدا دەکات</news:title>
 <news:keywords>هەرێم, بەغدا ,  </news:keywords></news:news>
 <image:image><image:loc>https://cdn.kurdistan24.example/i/1.jpg</image:loc></image:image>
 <image:image><image:loc>https://cdn.kurdistan24.example/i/2.jpg</image:loc></image:image></url>"""


def test_google_news_sitemap():
    result = parse_sitemap(urlset(NEWS_URL), "https://www.kurdistan24.example/sitemap-news.xml")
    assert result.problems == [] and result.kind == "urlset" and result.sitemaps == []
    [url] = result.urls
    assert url.url == "https://www.kurdistan24.example/ckb/story/123456"
    assert url.title == "سەرۆکی هەرێم سەردانی بەغدا دەکات"
    assert url.published_at == "2017-06-01T09:00:00+03:00"
    assert url.updated_at == "2017-06-01T10:00:00+03:00"
    assert url.language == "ckb"
    assert url.tags == ["هەرێم", "بەغدا"]
    assert url.image_url == "https://cdn.kurdistan24.example/i/1.jpg"


def test_sitemap_index_with_lastmod_and_gzip():
    index = (f'<?xml version="1.0"?><sitemapindex {SM_NS}>'
             "<sitemap><loc>https://a.example/sitemap-2017-06.xml.gz</loc><lastmod>2017-06-30</lastmod></sitemap>"
             "<sitemap><loc>https://a.example/sitemap-2017-07.xml.gz</loc></sitemap>"
             "</sitemapindex>").encode()
    result = parse_sitemap(gzip.compress(index), "https://a.example/sitemap.xml",
                           timezone="Asia/Baghdad")
    assert result.kind == "sitemapindex" and result.urls == []
    assert [(s.url, s.updated_at) for s in result.sitemaps] == [
        ("https://a.example/sitemap-2017-06.xml.gz", "2017-06-30T00:00:00+03:00"),
        ("https://a.example/sitemap-2017-07.xml.gz", None)]


@pytest.mark.parametrize("lastmod, expected", [
    ("2017", "2017-01-01T00:00:00+00:00"),
    ("2017-06", "2017-06-01T00:00:00+00:00"),
    ("2017-06-01", "2017-06-01T00:00:00+00:00"),
    ("2017-06-01T10:00+03:00", "2017-06-01T10:00:00+03:00"),
    ("2017-06-01T10:00:00.5Z", "2017-06-01T10:00:00.500000+00:00"),
    (" 2017-06-01T10:00:00+0430 ", "2017-06-01T10:00:00+04:30"),
    ("yesterday-ish", None),
])
def test_w3c_datetime_lastmod(lastmod, expected):
    result = parse_sitemap(urlset(f"<url><loc>https://a.example/x</loc><lastmod>{lastmod}</lastmod></url>"),
                           "https://a.example/sitemap.xml")
    assert result.urls[0].updated_at == expected
    assert any("dates not understood" in p for p in result.problems) == (expected is None)


@pytest.mark.parametrize("ns", [
    SM_NS, 'xmlns="http://www.google.com/schemas/sitemap/0.84"', "",
], ids=["standard", "google-0.84", "no-namespace"])
def test_namespace_variants(ns):
    result = parse_sitemap(urlset("<url><loc>https://a.example/a</loc></url>", ns), "https://a.example/s.xml")
    assert [u.url for u in result.urls] == ["https://a.example/a"]


def test_bad_locs_are_dropped_or_resolved_and_reported():
    body = urlset("<url><loc>javascript:alert(1)</loc></url>"
                  "<url><loc>file:///etc/passwd</loc></url>"
                  "<url><lastmod>2017-01-01</lastmod></url>"
                  "<url><loc>/relative/story</loc></url>"
                  "<url><loc>https://a.example/الرقة-اليوم#frag</loc></url>"
                  "<url><loc>https://a.example/relative/story</loc></url>")
    result = parse_sitemap(body, "https://a.example/sitemaps/s.xml")
    assert [u.url for u in result.urls] == ["https://a.example/relative/story",
                                            "https://a.example/" + quote("الرقة-اليوم")]
    problems = " | ".join(result.problems)
    assert "2 <loc> values not usable" in problems
    assert "1 entries without <loc>" in problems
    assert "1 relative <loc>" in problems


def test_max_urls_truncates():
    body = urlset("".join(f"<url><loc>https://a.example/{i}</loc></url>" for i in range(20)))
    result = parse_sitemap(body, "https://a.example/s.xml", max_urls=5)
    assert result.truncated is True
    assert [u.url for u in result.urls] == [f"https://a.example/{i}" for i in range(5)]


def test_text_sitemap():
    body = "https://a.example/a-b-c\r\n\nhttps://a.example/?p=1&x=2\nnot a url\nhttps://a.example/كوباني\n"
    result = parse_sitemap(body.encode(), "https://a.example/sitemap.txt")
    assert result.kind == "text"
    assert [u.url for u in result.urls] == ["https://a.example/a-b-c", "https://a.example/?p=1&x=2",
                                            "https://a.example/" + quote("كوباني")]
    assert any("1 lines are not absolute" in p for p in result.problems)


def test_feed_submitted_as_sitemap():
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
            b"<item><title>t</title><link>https://a.example/feed-item-one</link>"
            b"<pubDate>Thu, 01 Jun 2017 14:05:00 +0300</pubDate></item></channel></rss>")
    result = parse_sitemap(body, "https://a.example/feed")
    assert result.kind == "feed"
    assert [(u.url, u.published_at) for u in result.urls] == [
        ("https://a.example/feed-item-one", "2017-06-01T14:05:00+03:00")]


@pytest.mark.parametrize("body, expected", [
    (b"<!doctype html><html><body>404</body></html>", "not a sitemap: looks like HTML"),
    (b"<?xml version='1.0'?><opml/>", "not a sitemap: root element <opml>"),
    (b"", "empty body"),
    (b"nothing useful here\n", "not a sitemap: neither XML nor a list of URLs"),
])
def test_not_a_sitemap(body, expected):
    result = parse_sitemap(body, "https://a.example/sitemap.xml")
    assert result.urls == [] and result.sitemaps == []
    assert expected in result.problems


def test_multi_member_gzip():
    head = gzip.compress(f'<urlset {SM_NS}><url><loc>https://a.example/1</loc></url>'.encode())
    tail = gzip.compress(b"<url><loc>https://a.example/2</loc></url></urlset>")
    result = parse_sitemap(head + tail, "https://a.example/s.xml.gz")
    assert [u.url for u in result.urls] == ["https://a.example/1", "https://a.example/2"]


def test_50k_url_sitemap():
    body = urlset("".join(f"<url><loc>https://a.example/2017/06/01/story-{i}/</loc>"
                          f"<lastmod>2017-06-01T10:00:00+03:00</lastmod></url>" for i in range(50_000)))
    result = parse_sitemap(body, "https://a.example/s.xml")
    assert len(result.urls) == 50_000 and result.truncated is False
    assert result.urls[-1].url == "https://a.example/2017/06/01/story-49999/"
