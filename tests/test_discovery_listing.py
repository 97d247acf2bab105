"""Listing pages: selectors, the same-site article heuristic, pagination, encodings."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from crawler.discovery import extract_listing_links, looks_like_article

BASE = "https://www.rok.example/ar/news/"
SLUG = "روسيا-سنقصف-عناصر-داعش"

LISTING = f"""<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>أخبار</title>
</head><body>
<header class="site-header"><a href="/2017/06/01/header-promo-story-here/">خبر ترويجي في رأس الصفحة هنا</a>
  <nav><a href="/ar/middle-east-and-africa/">الشرق الأوسط وأفريقيا والعالم</a></nav></header>
<div id="breadcrumb"><a href="/2017/06/01/breadcrumb-story-link-here/">رابط في مسار التنقل للموقع</a></div>
<main>
 <article class="post">
  <a href="/2017/06/01/{SLUG}/"><img src="data:image/gif;base64,R0lG" data-src="/img/raqqa.jpg"></a>
  <header class="entry-header"><h2><a href="/2017/06/01/{SLUG}/#respond">روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة</a></h2></header>
  <time datetime="2017-06-01T14:05:00+03:00">١ حزيران</time>
  <a href="/category/سوريا/">سوريا وكل أخبارها من كل المدن</a> <a href="/author/rok/">روك أونلاين – المحرر العام</a>
  <footer class="entry-footer"><a href="/tag/الرقة-داعش-روسيا/">الرقة داعش روسيا وسوم</a></footer>
 </article>
 <ul class="news-list">
  <li><a href="/ckb/story/123456">هەواڵی کوردستان لە ئەمڕۆدا</a></li>
  <li><a href="https://other.example/2017/06/01/a-b-c">External site story here now</a></li>
  <li><a href="/files/report-2017-annual-final.pdf">تقرير سنوي كامل عن الوضع</a></li>
  <li><a href="/news/raqqa-today-now">الرقة</a></li>
  <li><a href="/news/another-story-here">اقرأ المزيد</a></li>
  <li><a href="javascript:void(0)">رابط جافا سكربت لا يعمل هنا</a></li>
 </ul>
 <a href="https://m.rok.example/ku/nuçe/kobanê-şer-berdewam-e">Kobanê: şer berdewam e li bajêr</a>
 <a href="/2017/05/30/story-in-main-again/" title="عنوان من السمة وليس من النص"><img src="/t.jpg"></a>
 <div class="sidebar-widget"><a href="/2017/05/30/most-read-story-sidebar/">الأكثر قراءة في الموقع اليوم</a></div>
</main>
<aside><a href="/2017/05/29/aside-story-long-slug/">قصة في الشريط الجانبي للموقع</a></aside>
<footer><a href="/about-us-and-our-team-here/">من نحن وفريق العمل لدينا</a></footer>
</body></html>"""


def test_heuristic_picks_main_content_headlines_in_order():
    result = extract_listing_links(LISTING.encode(), BASE)
    assert result.problems == []
    assert [(a.url, a.title) for a in result.articles] == [
        (f"https://www.rok.example/2017/06/01/{quote(SLUG)}/",
         "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة"),
        ("https://www.rok.example/ckb/story/123456", "هەواڵی کوردستان لە ئەمڕۆدا"),
        ("https://m.rok.example/ku/nu%C3%A7e/koban%C3%AA-%C5%9Fer-berdewam-e",
         "Kobanê: şer berdewam e li bajêr"),
        ("https://www.rok.example/2017/05/30/story-in-main-again/", "عنوان من السمة وليس من النص"),
    ]
    first = result.articles[0]
    assert first.published_at == "2017-06-01T14:05:00+03:00"        # from the card's <time>
    assert first.image_url == "https://www.rok.example/img/raqqa.jpg"  # lazy-loaded src


def test_heuristic_without_main_element_still_skips_page_chrome():
    page = LISTING.replace("<main>", "<div id='content'>").replace("</main>", "</div>")
    urls = [a.url for a in extract_listing_links(page, BASE).articles]
    assert f"https://www.rok.example/2017/06/01/{quote(SLUG)}/" in urls
    assert not any(word in u for u in urls for word in ("header-promo", "breadcrumb", "sidebar",
                                                         "aside-story", "about-us"))


@pytest.mark.parametrize("selector, expected", [
    ("article h2 a", [f"https://www.rok.example/2017/06/01/{quote(SLUG)}/"]),
    ("article", [f"https://www.rok.example/2017/06/01/{quote(SLUG)}/"]),          # container → first link
    ("ul.news-list li a::attr(href)", ["https://www.rok.example/ckb/story/123456",
                                       "https://www.rok.example/files/report-2017-annual-final.pdf",
                                       "https://www.rok.example/news/raqqa-today-now",
                                       "https://www.rok.example/news/another-story-here"]),
    ("//aside//a/@href", ["https://www.rok.example/2017/05/29/aside-story-long-slug/"]),
])
def test_selector_is_trusted_but_still_same_site(selector, expected):
    result = extract_listing_links(LISTING, BASE, article_links=selector)
    assert [a.url for a in result.articles] == expected


def test_selector_titles_come_from_the_link():
    [article] = extract_listing_links(LISTING, BASE, article_links="ul.news-list li:first-child a").articles
    assert article.title == "هەواڵی کوردستان لە ئەمڕۆدا"


def test_selector_matching_nothing_is_reported():
    result = extract_listing_links(LISTING, BASE, article_links="div.does-not-exist a")
    assert result.articles == []
    assert any("matched no link" in p for p in result.problems)


@pytest.mark.parametrize("kwargs", [{"article_links": "a[[["}, {"next_page": "//a[@"}])
def test_invalid_selector_is_a_configuration_error(kwargs):
    with pytest.raises(ValueError, match="invalid"):
        extract_listing_links(LISTING, BASE, **kwargs)


def test_allowed_domains_replace_the_base_host():
    page = ('<main><a href="https://other.example/2017/06/01/a-b-c">Other site story is here</a>'
            '<a href="https://news.rok.example/2017/06/01/d-e-f">Subdomain story is here</a>'
            '<a href="https://www.rok.example/2017/06/01/g-h-i">Own site story is here</a></main>')
    only_base = extract_listing_links(page, BASE)
    assert [a.url.split("/")[2] for a in only_base.articles] == ["news.rok.example", "www.rok.example"]
    other = extract_listing_links(page, BASE, allowed_domains=["other.example"])
    assert [a.url.split("/")[2] for a in other.articles] == ["other.example"]


NEXT_CASES = {
    "link-rel": '<head><link rel="next" href="/ar/news/page/2/"></head><a href="/ar/news/page/9/">9</a>',
    "a-rel": '<a rel="nofollow next" href="?page=2">2</a>',
    "wordpress-class": '<a class="next page-numbers" href="/ar/news/page/2/">»</a>',
    "li-class": '<ul class="pagination"><li class="next"><a href="/ar/news/2">»</a></li></ul>',
    "arabic": '<div><a href="/ar/news/page/2/">التالي »</a></div>',
    "sorani": '<div><a href="/ckb/news?p=2">دواتر</a></div>',
    "kurmanji": '<div><a href="/ku/nuce/2">Pêş ›</a></div>',
    "english": '<div><a href="/en/news/2">Next page</a></div>',
}
NEXT_EXPECTED = {
    "link-rel": "https://www.rok.example/ar/news/page/2/",
    "a-rel": "https://www.rok.example/ar/news/?page=2",
    "wordpress-class": "https://www.rok.example/ar/news/page/2/",
    "li-class": "https://www.rok.example/ar/news/2",
    "arabic": "https://www.rok.example/ar/news/page/2/",
    "sorani": "https://www.rok.example/ckb/news?p=2",
    "kurmanji": "https://www.rok.example/ku/nuce/2",
    "english": "https://www.rok.example/en/news/2",
}


@pytest.mark.parametrize("case", list(NEXT_CASES))
def test_next_page_heuristics(case):
    page = f"<html>{NEXT_CASES[case]}<body><a href='/ar/news/page/1/'>السابق</a></body></html>"
    assert extract_listing_links(page, BASE).next_pages == [NEXT_EXPECTED[case]]


def test_next_page_selector_and_filters():
    page = ('<a class="more" href="/ar/news/?page=3#top">المزيد</a>'
            '<a class="more" href="https://evil.example/ar/news/?page=3">المزيد</a>'
            f'<a class="more" href="{BASE}">المزيد</a>')
    result = extract_listing_links(page, BASE, next_page="a.more")
    assert result.next_pages == ["https://www.rok.example/ar/news/?page=3"]


def test_no_pagination_no_guessing():
    page = '<main><a href="/ar/news/page/1/">١</a><a href="#">التالي</a></main>'
    assert extract_listing_links(page, BASE).next_pages == []


def test_base_href_is_honoured():
    page = ('<html><head><base href="https://www.rok.example/ckb/"></head><body>'
            '<main><a href="story/98765">هەواڵێکی گرنگ لە سلێمانی</a></main></body></html>')
    [article] = extract_listing_links(page, BASE).articles
    assert article.url == "https://www.rok.example/ckb/story/98765"


@pytest.mark.parametrize("encode", [
    lambda html: html.replace("utf-8", "windows-1256").encode("cp1256"),
    lambda html: html.replace('<meta charset="utf-8">', "").encode("utf-8"),
    lambda html: html.replace('<meta charset="utf-8">', "").encode("cp1256"),
], ids=["declared-cp1256", "undeclared-utf8", "undeclared-cp1256"])
def test_encodings(encode):
    html = ('<html><head><meta charset="utf-8"></head><body><main>'
            '<a href="/2017/06/01/raqqa-story-today/">الرقة: تقدم قوات سوريا الديمقراطية</a>'
            "</main></body></html>")
    [article] = extract_listing_links(encode(html), BASE).articles
    assert article.title == "الرقة: تقدم قوات سوريا الديمقراطية"


@pytest.mark.parametrize("body", [b"", "   ", b"<html><body><p>no links</p></body></html>"])
def test_empty_pages_report_a_problem(body):
    result = extract_listing_links(body, BASE)
    assert result.articles == [] and result.next_pages == []
    assert result.problems


@pytest.mark.parametrize("url, expected", [
    ("https://x.example/2017/06/01/roj-x/", True),
    ("https://x.example/2017/06/01/", False),            # day archive
    ("https://x.example/2017/06/", False),
    ("https://x.example/news/1234", True),
    ("https://x.example/news/2017", False),               # a year, not an id
    ("https://x.example/ckb/story/123456-slug", True),
    ("https://x.example/" + quote("روسيا-سنقصف-عناصر"), True),
    ("https://x.example/a-b", False),
    ("https://x.example/?p=123", True),
    ("https://x.example/news.php?id=55", True),
    ("https://x.example/?page=2", False),
    ("https://x.example/category/a-b-c-d/", False),
    ("https://x.example/tag/a-b-c", False),
    ("https://x.example/author/some-long-name/", False),
    ("https://x.example/" + quote("تصنيف") + "/a-b-c", False),
    ("https://x.example/files/a-b-c.pdf", False),
    ("https://x.example/wp-content/uploads/2017/06/a-b-c.jpg", False),
    ("https://x.example/news/a-b-c.html", True),
    ("https://x.example/story_20170601.html", True),
    ("https://x.example/news-12345.html", True),
    ("https://x.example/about-us", False),
    ("https://x.example/contact", False),
    ("https://x.example/login", False),
    ("https://x.example/page/2/", False),
    ("https://x.example/", False),
])
def test_article_shaped_urls(url, expected):
    assert looks_like_article(url) is expected
