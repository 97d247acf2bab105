"""Which source of truth wins (selectors > JSON-LD > OpenGraph/meta > page body > hint), the
canonical URL, the furniture filter and the language correction."""
from __future__ import annotations

import json

import pytest

from crawler.extract import extract_article
from crawler.extract import fields
from crawler.models import LinkHint

URL = "http://127.0.0.1:8801/2017/06/raqqa-offensive/"
BODY = ["قالت قوات سوريا الديمقراطية اليوم الثلاثاء إنها دخلت حي المشلب في الطرف الشرقي من مدينة "
        "الرقة، في أول تقدم لها داخل المدينة منذ بدء الحملة العسكرية قبل سبعة أشهر.",
        "وقال متحدث باسم القوات إن المعارك مستمرة على ثلاثة محاور، وإن طائرات التحالف الدولي نفذت "
        "عشرات الغارات على مواقع تنظيم داعش في محيط المدينة القديمة.",
        "وتقدر منظمات إنسانية أن عشرات الآلاف من المدنيين ما زالوا عالقين داخل الرقة."]


def page(head: str = "", body_top: str = "", *, h1: str = "عنوان الصفحة الظاهر",
         content: list[str] | None = None, after: str = "") -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in (BODY if content is None else content))
    return (f"<!DOCTYPE html><html lang='ar'><head><meta charset='utf-8'>"
            f"<title>عنوان الوسم - الموقع</title>{head}</head><body>"
            f"<article><h1 class='entry-title'>{h1}</h1>{body_top}"
            f"<div class='entry-content'>{paragraphs}</div>{after}</article></body></html>"
            ).encode()


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def og(prop: str, value: str) -> str:
    return f'<meta property="{prop}" content="{value}">'


def extract(raw: bytes, url: str = URL, **kw):
    return extract_article(raw, url, timezone="Asia/Damascus", **kw)


def test_json_ld_beats_opengraph_which_beats_the_page() -> None:
    head = (ld({"@context": "https://schema.org", "@type": "NewsArticle",
                "headline": "عنوان JSON-LD", "datePublished": "2017-06-06T15:45:00+03:00",
                "author": {"@type": "Person", "name": "ريم حسن"}})
            + og("og:title", "عنوان OG") + og("article:published_time", "2017-06-01T10:00:00+03:00")
            + '<meta name="author" content="كاتب من الوسوم">')
    article = extract(page(head))
    assert article.title == "عنوان JSON-LD"
    assert article.published_at == "2017-06-06T15:45:00+03:00"
    assert article.authors == ["ريم حسن"]
    # without JSON-LD the OpenGraph/meta values are used …
    article = extract(page(og("og:title", "عنوان OG") + og("article:published_time",
                                                          "2017-06-01T10:00:00+03:00")
                           + '<meta name="author" content="كاتب من الوسوم">'))
    assert (article.title, article.published_at, article.authors) == (
        "عنوان OG", "2017-06-01T10:00:00+03:00", ["كاتب من الوسوم"])
    # … and without either, the page's own headline
    assert extract(page()).title == "عنوان الصفحة الظاهر"


def test_source_selectors_beat_json_ld() -> None:
    head = ld({"@type": "NewsArticle", "headline": "عنوان JSON-LD",
               "datePublished": "2017-06-06T15:45:00+03:00"})
    top = ("<div class='dateline'>نشر في 7 حزيران 2017 - 09:15</div>"
           "<span class='by'>بقلم: سلام علي</span>")
    article = extract(page(head, top), selectors={
        "title": "h1.entry-title", "date": ".dateline", "author": ".by",
        "body": ".entry-content", "remove": ".entry-content p:last-child"})
    assert article.title == "عنوان الصفحة الظاهر"
    assert article.published_at == "2017-06-07T09:15:00+03:00"
    assert article.authors == ["سلام علي"]
    assert BODY[0] in article.body and BODY[2] not in article.body


def test_invalid_selector_is_ignored_not_fatal() -> None:
    article = extract(page(), selectors={"body": "div[[[", "title": "::nonsense("})
    assert article.title == "عنوان الصفحة الظاهر" and BODY[1] in article.body


@pytest.mark.parametrize("shape", ["graph", "list", "typelist", "trailing-comma"])
def test_json_ld_shapes(shape: str) -> None:
    article_obj = {"@type": "NewsArticle", "headline": "عنوان من البيانات المنظمة",
                   "datePublished": "2017-06-06T12:00:00Z", "author": {"@id": "#writer"},
                   "keywords": "الرقة, داعش", "articleSection": "أخبار",
                   "image": {"@type": "ImageObject", "url": "/img/raqqa.jpg"}}
    writer = {"@type": "Person", "@id": "#writer", "name": "جوان محمد"}
    if shape == "graph":
        script = ld({"@context": "https://schema.org", "@graph": [
            {"@type": "WebPage", "@id": URL, "name": "صفحة"}, article_obj, writer]})
    elif shape == "list":
        script = ld([{"@type": "BreadcrumbList"}, article_obj, writer])
    elif shape == "typelist":
        script = ld([{**article_obj, "@type": ["ReportageNewsArticle", "NewsArticle"]}, writer])
    else:
        raw = json.dumps([article_obj, writer], ensure_ascii=False)
        script = f'<script type="application/ld+json">{raw[:-2]}}},]</script>'
    article = extract(page(script))
    assert article.title == "عنوان من البيانات المنظمة"
    assert article.published_at == "2017-06-06T12:00:00+00:00"
    assert article.authors == ["جوان محمد"]
    assert article.tags == ["الرقة", "داعش"] and article.section == "أخبار"
    assert article.image_url == "http://127.0.0.1:8801/img/raqqa.jpg"


def test_broken_json_ld_falls_back_to_opengraph() -> None:
    head = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
            + og("og:title", "عنوان OG"))
    assert extract(page(head)).title == "عنوان OG"


def test_json_ld_article_body_is_used_when_the_markup_has_no_text() -> None:
    head = ld({"@type": "NewsArticle", "headline": "خبر", "articleBody": "\n".join(BODY)})
    article = extract(page(head, content=[]))
    assert article.body == "\n\n".join(BODY)


def test_og_title_site_name_suffix_is_stripped() -> None:
    head = og("og:title", "الرقة: معارك في حي المشلب - روك أونلاين") + og("og:site_name",
                                                                       "روك أونلاين")
    assert extract(page(head)).title == "الرقة: معارك في حي المشلب"


def test_truncated_json_ld_headline_is_completed_from_the_page() -> None:
    full = "قوات سوريا الديمقراطية تدخل حي المشلب في الطرف الشرقي من الرقة بعد معارك عنيفة"
    head = ld({"@type": "NewsArticle", "headline": full[:40] + "…"})
    assert extract(page(head, h1=full)).title == full


@pytest.mark.parametrize("declared,expected", [
    ('<link rel="canonical" href="/2017/06/raqqa-offensive-main/">',
     "http://127.0.0.1:8801/2017/06/raqqa-offensive-main/"),          # relative, same site
    ('<link rel="canonical" href="http://other-outlet.example/copy/">', URL),  # syndication
    ('<link rel="canonical" href="http://127.0.0.1:8801/">', URL),       # CMS bug: home page
    (og("og:url", "http://127.0.0.1:8801/2017/06/raqqa/"), "http://127.0.0.1:8801/2017/06/raqqa/"),
    ('<link rel="canonical" href="http://127.0.0.1:8899/2017/06/x/">', URL),  # another port
])
def test_canonical_url(declared: str, expected: str) -> None:
    assert extract(page(declared)).canonical_url == expected


def test_hint_fills_what_the_page_lacks_only() -> None:
    hint = LinkHint(url=URL, title="عنوان الخلاصة", published_at="2017-06-06T18:30:00+03:00",
                    updated_at="2017-06-07T08:00:00+03:00", authors=["مراسل الخلاصة"],
                    tags=["الرقة"], image_url="http://127.0.0.1:8801/feed.jpg", summary="ملخص")
    bare = ("<html><body><div class='entry-content'>" + "".join(f"<p>{p}</p>" for p in BODY)
            + "</div></body></html>").encode()
    article = extract(bare, hint=hint)
    assert (article.title, article.published_at, article.updated_at) == (
        "عنوان الخلاصة", "2017-06-06T18:30:00+03:00", "2017-06-07T08:00:00+03:00")
    assert article.authors == ["مراسل الخلاصة"] and article.tags == ["الرقة"]
    assert article.image_url == "http://127.0.0.1:8801/feed.jpg" and article.summary == "ملخص"
    rich = page(og("og:title", "عنوان OG") + og("article:published_time",
                                                "2017-06-01T10:00:00+03:00"))
    article = extract(rich, hint=hint)
    assert (article.title, article.published_at) == ("عنوان OG", "2017-06-01T10:00:00+03:00")


def test_dates_mentioned_in_the_body_are_not_the_publication_date() -> None:
    content = ["أعلنت القوات في 15 من شهر آيار/ مايو 2017 عن مهلة للمقاتلين " + BODY[0],
               "ومددت المهلة حتى 2017/5/31 بحسب بيان رسمي. " + BODY[1]]
    assert extract(page(content=content)).published_at is None
    top = "<div class='post-date'>الأحد 4 حزيران 2017</div>"
    assert extract(page(body_top=top, content=content)).published_at == "2017-06-04T00:00:00+03:00"


def test_furniture_inside_the_content_container_is_dropped() -> None:
    content = BODY[:1] + ["111 0 شاركها"] + BODY[1:] + ["بدون تعليق", "اترك رد",
                                                     "اقرأ أيضاً: روسيا تهدد بقصف أرتال داعش",
                                                     "الوسوم: الرقة، داعش", "بقلم: فريق التحرير",
                                                     "نشر في 6 حزيران 2017"]
    after = ("<div class='related-posts'><h3>مقالات ذات صلة</h3><ul><li><a href='/a/'>خبر آخر</a>"
             "</li></ul></div><div id='comments'><h3>اترك رد</h3><p>" + BODY[2] + " تعليق</p>"
             "<form><label>البريد الإلكتروني</label><input name='email'></form></div>")
    article = extract(page(content=content, after=after))
    assert article.body == "\n\n".join(BODY)


def test_share_bar_of_links_is_dropped_by_link_density() -> None:
    top = "<div class='parve'>Parve bike <a href='#'>Facebook</a> <a href='#'>Twitter</a></div>"
    article = extract(page(body_top=top, content=[]).replace(
        b"<div class='entry-content'></div>",
        ("<div class='naverok'>" + "".join(f"<p>{p}</p>" for p in BODY) + "</div>").encode()))
    assert "Facebook" not in article.body and BODY[0] in article.body


def test_text_density_finds_a_table_layout_body() -> None:
    filler = "".join(f"<tr><td><a href='/n/{i}'>خبر قصير رقم {i}</a></td></tr>" for i in range(30))
    raw = ("<html><head><title>شبكة :: خبر</title></head><body><table><tr>"
           f"<td class='side'><table>{filler}</table></td><td><font size='2'>"
           + "<br><br>".join(BODY) + "</font></td></tr></table></body></html>").encode()
    article = extract(raw)
    assert article.body == "\n\n".join(BODY)


def detected(code: str, confidence: float):
    """A stand-in for langid.identify: this code at this confidence, for any text."""
    return lambda text, sure_at: (code, confidence >= sure_at)


def test_language_correction_uses_the_source_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_identify(text: str, sure_at: float) -> tuple[str, bool]:
        calls.append(text)
        return "fa", 0.7 >= sure_at

    monkeypatch.setattr(fields, "identify", fake_identify)
    text = "نرخی دۆلار لە بازاڕی هەولێر دابەزی"
    assert fields.pick_language(text, [], (None,), None) == "fa"
    assert fields.pick_language(text, ["ckb"], (None,), None) == "ckb"
    assert fields.pick_language(text, ["kmr"], (None,), None) == "fa"  # other script: kept
    monkeypatch.setattr(fields, "identify", detected("tr", 0.6))
    assert fields.pick_language("Bihayê nan zêde bû", ["kmr"], (None,), None) == "kmr"
    assert fields.pick_language("Ekmek fiyatı arttı", ["ar"], (None,), None) == "tr"
    # a confident answer stands: outlets publish in more than one language
    monkeypatch.setattr(fields, "identify", detected("tr", 0.99))
    assert fields.pick_language("Ekmek fiyatı arttı", ["kmr"], (None,), None) == "tr"
    monkeypatch.setattr(fields, "identify", detected("ckb", 0.99))
    assert fields.pick_language("هەواڵ", ["ar"], (None,), None) == "ckb"
    monkeypatch.setattr(fields, "identify", detected("und", 0.0))
    assert fields.pick_language("…", ["ckb"], ("ku-Arab",), None) == "ckb"
    assert calls


def test_summary_and_defaults() -> None:
    article = extract(page(og("og:description", "وصف الخبر")), source_id="rok")
    assert article.summary == "وصف الخبر" and article.source == "rok"
    assert extract(page()).summary == BODY[0]
    assert article.language == "ar"
