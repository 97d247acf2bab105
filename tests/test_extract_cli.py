"""`chavder extract FILE --url URL --json`: the extraction contract on saved pages."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from crawler.models import ARTICLE_FIELDS

SORANI = ("هێزەکانی سووریای دیموکرات ڕایانگەیاند کە شەڕێکی توند لە دەوروبەری شاری ڕەققە "
          "ڕوویدا و چەند چەکدارێکی داعش کوژران. بەرپرسێکی سەربازی ڕایگەیاند کە ئۆپەراسیۆنەکە "
          "بەردەوام دەبێت تا ناوچەکە بە تەواوی پاک دەکرێتەوە لە شانەکانی ڕێکخراوەکە.")
PERSIAN = ("نیروهای دموکراتیک سوریه اعلام کردند که درگیری شدیدی در اطراف شهر رقه رخ داده و "
           "چند عضو داعش کشته شده‌اند. یک مقام نظامی گفت این عملیات تا پاکسازی کامل منطقه از "
           "هسته‌های این گروه ادامه خواهد داشت.")


def page(title: str, body: str, dateline: str, lang: str) -> str:
    return (f'<html lang="{lang}" dir="rtl"><head><meta charset="utf-8"><title>{title}</title>'
            f'</head><body><article><h1>{title}</h1><span class="date">{dateline}</span>'
            f'<div class="entry-content"><p>{body}</p><p>{body[::-1][:40]}</p></div>'
            f"</article></body></html>")


def extract(tmp_path, html: str, *extra: str) -> dict:
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "extract", str(path), "--url",
                           "https://www.example.org/news/1/?utm_source=x", "--json", *extra],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_fields_are_exactly_the_contract_with_visible_sorani_date(tmp_path):
    data = extract(tmp_path, page("شەڕ لە ڕەققە", SORANI, "١٥ی ئایاری ٢٠١٧", "ckb"))
    assert list(data) == list(ARTICLE_FIELDS)
    assert data["language"] == "ckb"
    assert data["published_at"].startswith("2017-05-15")
    assert data["canonical_url"] == "https://www.example.org/news/1/"
    assert len(data["content_hash"]) == 64 and "ڕەققە" in data["body"]


def test_persian_is_not_sorani(tmp_path):
    assert extract(tmp_path, page("درگیری در رقه", PERSIAN, "", "fa"))["language"] == "fa"


def test_relative_visible_date_resolves_against_fetch_time(tmp_path):
    before = datetime.now(timezone.utc)
    data = extract(tmp_path, page("اشتباكات في الرقة", "قالت مصادر محلية إن اشتباكات عنيفة "
                                  "اندلعت في ريف الرقة الشمالي وأسفرت عن مقتل عدد من المسلحين "
                                  "ونزوح عشرات العائلات من القرى القريبة.", "منذ 3 ساعات", "ar"))
    published = datetime.fromisoformat(data["published_at"])
    assert abs(published - (before - timedelta(hours=3))) < timedelta(minutes=5)


def test_not_an_article_is_a_clear_error(tmp_path):
    path = tmp_path / "app.html"
    path.write_text("<html><body><div id=app></div><script>x()</script></body></html>")
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "extract", str(path), "--url",
                           "https://x.org/", "--json"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "no-article-text" in proc.stderr
