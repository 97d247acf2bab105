"""Builders for small test outlets served by testsupport.fixtureweb (pages and feeds)."""
from __future__ import annotations

from html import escape


def article_page(title: str, paragraphs: list[str], furniture: str, published: str, *,
                 canonical: str | None = None, lang: str = "ar") -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    direction = "ltr" if lang == "kmr" else "rtl"
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title>{link}"
            f'<meta property="article:published_time" content="{published}"></head><body>'
            f"<nav><a href='/'>الرئيسية</a></nav><article><h1>{escape(title)}</h1>"
            f'<div class="entry-content">{body}<p>{furniture}</p></div></article>'
            f"<footer>© جميع الحقوق محفوظة</footer></body></html>")


def rss_feed(site: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(f"<item><title>{escape(t)}</title><link>http://{site}.fixture{p}</link>"
                      f"<pubDate>Thu, 01 Jun 2017 10:00:00 +0300</pubDate></item>"
                      for t, p in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{site}</title>{entries}</channel></rss>")


def atom_feed(site: str, items: list[tuple[str, str, str]]) -> str:
    """items: (title, path, updated ISO time)."""
    entries = "".join(
        f"<entry><title>{escape(t)}</title><link href=\"http://{site}.fixture{p}\"/>"
        f"<id>http://{site}.fixture{p}</id><updated>{u}</updated>"
        f"<published>2017-06-01T10:00:00+03:00</published></entry>" for t, p, u in items)
    return ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{site}</title><id>http://{site}.fixture/</id>"
            f"<updated>2017-06-01T10:00:00+03:00</updated>{entries}</feed>")
