"""Responses that are not articles get a stable reason; hostile HTML never crashes extraction."""
from __future__ import annotations

import pickle
import random
import time

import pytest

from crawler.extract import ExtractionError, extract_article
from crawler.models import LinkHint

URL = "http://127.0.0.1:9/news/item.html"
TEXT = ("أعلنت الإدارة الذاتية في قامشلو عن افتتاح مدرسة جديدة في حي الهلالية، وقال مسؤول في هيئة "
        "التربية إن المدرسة تستوعب ستمئة طالب وطالبة وستبدأ التدريس مطلع العام الدراسي المقبل.")


def reason_of(body: bytes | str, headers: dict | None = None, **kw) -> str:
    with pytest.raises(ExtractionError) as info:
        extract_article(body, URL, headers=headers, **kw)
    assert str(info.value)  # a human explanation, not just the slug
    return info.value.reason


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", ""])
def test_empty_body(body: bytes | str) -> None:
    assert reason_of(body) == "empty-body"


@pytest.mark.parametrize("body,content_type", [
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
    (b"%PDF-1.4\n1 0 obj", "text/html"),                   # lying content type: magic wins
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"GIF89a\x01\x00\x01\x00", None),
    (b"PK\x03\x04\x14\x00\x06\x00", "application/zip"),
    (b"<html><body><p>x</p></body></html>", "image/png"),   # HTML-looking bytes, image type
    (b'{"title": "not a page"}', "application/json"),
    (b"\x00\x01\x02\x03binary\x00data" * 10, "application/octet-stream"),
    (b'<?xml version="1.0"?><rss><channel></channel></rss>', "application/rss+xml"),
])
def test_not_html(body: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    assert reason_of(body, headers) == "not-html"


def test_javascript_only_page_has_no_article_text() -> None:
    page = ("<html><head><title>الفرات اليوم</title><script src='/app.js'></script></head>"
            "<body><noscript>يرجى تفعيل جافاسكريبت</noscript><div id='app'></div>"
            "<script>render({title: 'خبر'})</script></body></html>")
    assert reason_of(page.encode(), {"content-type": "text/html"}) == "no-article-text"


def test_navigation_only_page_has_no_article_text() -> None:
    links = "".join(f"<li><a href='/c/{i}/'>قسم رقم {i}</a></li>" for i in range(40))
    page = (f"<html><head><title>الأقسام</title></head><body><nav><ul>{links}</ul></nav>"
            f"<footer>جميع الحقوق محفوظة</footer></body></html>")
    assert reason_of(page.encode()) == "no-article-text"


def test_article_without_any_title_is_no_title_but_a_hint_title_rescues_it() -> None:
    page = (f"<html><body><div class='entry-content'><p>{TEXT}</p><p>{TEXT[:90]}</p></div>"
            "</body></html>")
    assert reason_of(page.encode()) == "no-title"
    article = extract_article(page.encode(), URL, hint=LinkHint(url=URL, title="مدرسة جديدة"))
    assert article.title == "مدرسة جديدة" and TEXT in article.body


def test_repeated_filler_is_not_an_article() -> None:
    chunk = b"<p>" + "\u062d\u0634\u0648 ".encode() * 50 + b"</p>\n"
    body = (b"<html><body>" + chunk * 3000)[:2_000_000]
    hint = LinkHint(url=URL, title="صفحة ضخمة")
    assert reason_of(body, {"content-type": "text/html; charset=utf-8"}, hint=hint) \
        == "no-article-text"


def test_errors_survive_pickling_for_worker_processes() -> None:
    try:
        extract_article(b"", URL)
    except ExtractionError as exc:
        clone = pickle.loads(pickle.dumps(exc))
        assert (clone.reason, str(clone)) == (exc.reason, str(exc))


def _timed(body: bytes | str) -> float:
    started = time.perf_counter()
    try:
        extract_article(body, URL, headers={"content-type": "text/html; charset=utf-8"})
    except ExtractionError:
        pass
    return time.perf_counter() - started


def test_deeply_nested_html_does_not_crash_and_is_bounded() -> None:
    page = "<html><body>" + "<div><span>" * 50_000 + TEXT + "</span></div>" * 50_000
    assert _timed(page) < 5.0
    # moderately deep but legal nesting still extracts
    nested = "<html><head><title>عنوان</title></head><body>" + "<div>" * 200 + \
        f"<p>{TEXT}</p>" + "</div>" * 200 + "</body></html>"
    assert TEXT in extract_article(nested, URL).body


def test_huge_body_is_truncated_not_fatal() -> None:
    paragraph = f"<p>{TEXT} رقم {{}}</p>\n"
    page = ("<html><head><title>تقرير طويل جداً</title></head><body><article>"
            + "".join(paragraph.format(i) for i in range(40_000)) + "</article></body></html>")
    raw = page.encode()
    assert len(raw) > 10_000_000
    started = time.perf_counter()
    article = extract_article(raw, URL, headers={"content-type": "text/html; charset=utf-8"})
    assert time.perf_counter() - started < 10.0
    assert article.title == "تقرير طويل جداً"
    assert 10_000 < len(article.body) <= 210_000


@pytest.mark.parametrize("seed", range(8))
def test_random_garbage_never_raises_anything_but_extraction_error(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["<div>", "</div>", "<p>", "</p", "<a href='", "'>", "<script>", "</script>",
              "<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#x", ";", "<table><tr><td>", "<br",
              "<meta charset='", "windows-1256", "'>", TEXT[:40], "\x00", "\ufffd", "<h1>",
              "<title>", '<script type="application/ld+json">{"@type": "NewsArticle", "headline"']
    page = "".join(rng.choice(pieces) for _ in range(3000))
    raw = page.encode("utf-8", "replace") + bytes(rng.randrange(256) for _ in range(500))
    try:
        extract_article(raw, URL)
    except ExtractionError:
        pass


def test_trafilatura_fallback_recovers_text_the_fast_path_cannot_see(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.extract import article as article_module

    calls: list[int] = []
    original = article_module.trafilatura_body

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = original(*args, **kwargs)
        calls.append(len(found))
        return found

    monkeypatch.setattr(article_module, "trafilatura_body", counting)
    # one word per <span>: no block holds enough text for the density heuristic
    words = "".join(f"<span>{w} </span>" for w in (TEXT + " " + TEXT).split())
    page = f"<html><head><title>خبر</title></head><body><h1>مدرسة جديدة</h1><div>{words}</div>"
    article = extract_article(page.encode(), URL)
    assert calls and calls[0] > 0
    assert "افتتاح مدرسة جديدة في حي الهلالية" in article.body
