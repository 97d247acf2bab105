"""Generate a synthetic outlet of N realistic article pages (Arabic, Sorani, Kurmanji).

Pages are 60–150 KB like real news pages: menus, sidebars with other headlines, inline scripts
and styles, share counters, comment forms around a 4–12 paragraph article. Deterministic (seeded).
Used by the crawl, soak and comparison benchmarks.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

SENTENCES = {
    "ar": [
        "قالت مصادر محلية إن اشتباكات عنيفة اندلعت صباح اليوم في ريف الرقة الشمالي",
        "وأعلنت قوات سوريا الديمقراطية أنها سيطرت على عدة قرى بعد معارك استمرت ثلاثة أيام",
        "وأفاد مراسلنا بأن طائرات التحالف الدولي نفذت غارات على مواقع تنظيم داعش قرب دير الزور",
        "وذكر بيان رسمي أن عشرات العائلات نزحت من المنطقة باتجاه مخيمات الحسكة",
        "وأكد مسؤول في الإدارة الذاتية أن المفاوضات مع الحكومة السورية ما زالت متوقفة",
        "وارتفعت أسعار الخبز والوقود في مدينة القامشلي للمرة الثالثة هذا الشهر",
        "وقال الناطق باسم المجلس العسكري إن الهجوم يهدف إلى تأمين الطريق الدولي",
        "وشهدت مدينة أربيل اجتماعاً موسعاً لبحث ملف النازحين وعودتهم إلى قراهم",
        "وأشار التقرير إلى أن منظمات الإغاثة تواجه صعوبات في إيصال المساعدات",
        "ودعت الأمم المتحدة جميع الأطراف إلى احترام القانون الدولي الإنساني وحماية المدنيين",
        "وأوضح شهود عيان أن دوي الانفجارات سمع في أرجاء المدينة حتى ساعات الفجر",
        "وتعد هذه المرة الأولى منذ عامين التي تتعرض فيها المنطقة لقصف بهذا الحجم",
    ],
    "ckb": [
        "سەرچاوە ناوخۆییەکان ڕایانگەیاند کە بەیانی ئەمڕۆ شەڕێکی توند لە دەوروبەری ڕەققە ڕوویدا",
        "هێزەکانی سووریای دیموکرات ڕایانگەیاند کە کۆنترۆڵی چەند گوندێکیان کردووە",
        "فڕۆکەکانی هاوپەیمانی نێودەوڵەتی هێرشیان کردە سەر بنکەکانی داعش لە نزیک دێرەزوور",
        "بەپێی ڕاگەیەندراوێکی فەرمی دەیان خێزان ناوچەکەیان بەجێهێشتووە و ڕوویان لە کەمپەکان کردووە",
        "بەرپرسێکی ئیدارەی خۆسەر ڕایگەیاند کە دانوستانەکان لەگەڵ حکومەتی سووریا ڕاگیراون",
        "نرخی نان و سووتەمەنی لە شاری قامیشلۆ بۆ سێیەمین جار لەم مانگەدا بەرزبووەوە",
        "لە هەولێر کۆبوونەوەیەکی فراوان بۆ تاوتوێکردنی دۆسیەی ئاوارەکان ئەنجامدرا",
        "ڕێکخراوەکانی هاوکاری ڕووبەڕووی کێشەی زۆر دەبنەوە لە گەیاندنی کۆمەکەکان",
        "نەتەوە یەکگرتووەکان داوای لە هەموو لایەنەکان کرد ڕێز لە یاسای نێودەوڵەتی بگرن",
        "شایەتحاڵان دەڵێن دەنگی تەقینەوەکان تا بەرەبەیان لە هەموو شارەکەدا دەبیسترا",
        "پەرلەمانی کوردستان دانیشتنێکی نائاسایی بۆ گفتوگۆکردنی بودجەی هەرێم ئەنجامدا",
        "وەزارەتی تەندروستی ڕایگەیاند کە نەخۆشخانەکانی دهۆک ئامادەباشییان ڕاگەیاندووە",
    ],
    "kmr": [
        "Çavkaniyên herêmî ragihandin ku îro serê sibê li gundewarê Reqayê şerekî giran derket",
        "Hêzên Sûriyeya Demokratîk ragihandin ku piştî sê rojan şer kontrola çend gundan girtin",
        "Balafirên hevpeymaniya navneteweyî êrîşî ser navendên DAIŞê yên li nêzî Dêra Zorê kirin",
        "Li gorî daxuyaniyeke fermî bi dehan malbat ji herêmê koçber bûn û berê xwe dan kampan",
        "Berpirsekî Rêveberiya Xweser diyar kir ku danûstandinên bi hikûmeta Sûriyeyê re sekinîne",
        "Bihayê nan û sotemeniyê li bajarê Qamişloyê cara sêyem di vê mehê de bilind bû",
        "Li Hewlêrê civîneke berfireh ji bo nîqaşkirina dosyeya koçberan hat lidarxistin",
        "Rêxistinên alîkariyê di gihandina alîkariyan de bi zehmetiyên mezin re rû bi rû dimînin",
        "Neteweyên Yekbûyî bang li hemû aliyan kir ku rêzê li qanûnên navneteweyî bigirin",
        "Şahidan got ku dengê teqînan heta berbangê li seranserê bajêr dihat bihîstin",
        "Parlamentoya Kurdistanê ji bo nîqaşkirina budçeya herêmê civîneke awarte li dar xist",
        "Wezareta Tenduristiyê ragihand ku nexweşxaneyên Duhokê di rewşa amadebaşiyê de ne",
    ],
}
FURNITURE = {
    "ar": ["الرئيسية", "أخبار", "سياسة", "اقتصاد", "رياضة", "منوعات", "اتصل بنا", "من نحن"],
    "ckb": ["سەرەکی", "هەواڵ", "سیاسەت", "ئابووری", "وەرزش", "پەیوەندی", "دەربارەی ئێمە"],
    "kmr": ["Serûpel", "Nûçe", "Siyaset", "Aborî", "Werzîş", "Têkilî", "Derbarê me"],
}
SHARE = {"ar": "111 0 شاركها", "ckb": "٢٣ ٠ بڵاوی بکەرەوە", "kmr": "45 0 Parve bike"}
COMMENT = {"ar": "اترك رد", "ckb": "کۆمێنت بنووسە", "kmr": "Şîroveyekê binivîse"}
TZ = timezone(timedelta(hours=3))


def _headline(rng: random.Random, lang: str) -> str:
    words = rng.choice(SENTENCES[lang]).split()
    start = rng.randrange(0, max(1, len(words) - 8))
    return " ".join(words[start:start + rng.randint(5, 9)])


_VOCAB = {lang: sorted({w for s in sents for w in s.split()}) for lang, sents in SENTENCES.items()}


def _paragraph(rng: random.Random, lang: str, n: int) -> str:
    """One real sentence plus words drawn from the language's vocabulary: each article is
    distinct (no accidental near-duplicates for the dedup stage) yet in the right language."""
    words = [rng.choice(_VOCAB[lang]) for _ in range(rng.randint(25, 45))]
    sep = ", " if lang == "kmr" else "، "
    return rng.choice(SENTENCES[lang]) + sep + " ".join(words) + f" ({n})."


def article_page(n: int, lang: str, base: str, rng: random.Random) -> tuple[str, str, str]:
    """Return (path, html, published ISO) for article ``n``."""
    title = _headline(rng, lang) + f" {n}"
    published = (datetime(2024, 1, 1, tzinfo=TZ) + timedelta(minutes=17 * n)).isoformat()
    paragraphs = [_paragraph(rng, lang, n) for _ in range(rng.randint(4, 12))]
    direction = "ltr" if lang == "kmr" else "rtl"
    nav = "".join(f'<li><a href="{base}/section/{i}/">{escape(w)}</a></li>'
                  for i, w in enumerate(FURNITURE[lang] * 5))
    sidebar = "".join(f'<li><a href="{base}/news/{(n + i) % 997}/">{escape(_headline(rng, lang))}'
                      f"</a></li>" for i in range(40))
    script = "<script>var cfg=" + json.dumps({"k": ["x" * 60] * rng.randint(200, 900)}) + ";</script>"
    style = "<style>" + ".c{color:#333;margin:0 auto;padding:4px}\n" * rng.randint(100, 400) + "</style>"
    ld = ""
    if n % 2 == 0:
        ld = ('<script type="application/ld+json">' + json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
            "datePublished": published, "author": {"@type": "Person", "name": "Desk"},
            "inLanguage": lang}, ensure_ascii=False) + "</script>")
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    path = f"/news/{n}/"
    html = f"""<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">
<title>{escape(title)} | Bench Outlet</title>
<meta property="og:title" content="{escape(title)}"><meta property="og:url" content="{base}{path}">
<meta property="article:published_time" content="{published}">
<link rel="canonical" href="{base}{path}">{ld}{style}{script}</head><body>
<header><nav><ul>{nav}</ul></nav></header>
<div class="wrap"><main><article class="post"><h1 class="entry-title">{escape(title)}</h1>
<div class="share">{SHARE[lang]}</div><time datetime="{published}">{published[:10]}</time>
<div class="entry-content">{body}</div></article>
<section class="comments"><h3>{COMMENT[lang]}</h3><form><textarea></textarea></form></section>
</main><aside class="sidebar"><ul>{sidebar}</ul></aside></div>
<footer><ul>{nav}</ul><p>© Bench Outlet</p></footer>{script}</body></html>"""
    return path, html, published


def generate_site(root: Path, n: int, *, name: str = "bench", seed: int = 7) -> Path:
    """Write a site with ``n`` articles and a sitemap listing them; return the site dir."""
    rng = random.Random(seed)
    site = root / name
    base = f"http://{name}.fixture"
    langs = ["ar", "ckb", "kmr"]
    entries = []
    for i in range(n):
        lang = langs[i % 3]
        path, html, published = article_page(i, lang, base, rng)
        target = site / path.strip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        entries.append(f"<url><loc>{base}{path}</loc><lastmod>{published}</lastmod></url>")
    (site / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
        'schemas/sitemap/0.9">' + "\n".join(entries) + "</urlset>", encoding="utf-8")
    (site / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    return site
