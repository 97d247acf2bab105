"""Charset handling: declared (BOM, header, meta, XML declaration) and undeclared legacy Arabic."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crawler.extract import decode_html, extract_article

WEB = Path(__file__).resolve().parent / "fixtures" / "web"
EXPECTED = yaml.safe_load((WEB / "expected.yaml").read_text(encoding="utf-8"))
ROUTES = yaml.safe_load((WEB / "legacy" / "_routes.yaml").read_text(encoding="utf-8"))
ARABIC = ("قالت وزارة الدفاع في بيان إن القوات تقدمت على محور الرقة الشمالي خلال الأيام الماضية، "
          "وإن عشرات العائلات نزحت من القرى القريبة إلى مخيم عين عيسى.")
CODECS = {"windows-1256": "cp1256", "iso-8859-6": "iso8859-6"}


@pytest.mark.parametrize("key", list(EXPECTED["legacy"]))
def test_legacy_fixture_pages_decode_as_declared_or_detected(key: str) -> None:
    want = EXPECTED["legacy"][key]
    raw = (WEB / want["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is in a legacy code page
    content_type = ROUTES[want["url_path"]]["content_type"]
    if want["declared"] == "none":
        assert "charset" not in content_type and b"charset" not in raw.lower()
    text, codec = decode_html(raw, content_type)
    assert codec == CODECS[want["charset"]]
    assert want["title"] in text
    assert "\ufffd" not in text


@pytest.mark.parametrize("codec", ["cp1256", "iso8859-6", "utf-8"])
def test_undeclared_arabic_is_detected(codec: str) -> None:
    raw = f"<html><body><h1>خبر</h1><p>{ARABIC}</p></body></html>".encode(codec)
    text, used = decode_html(raw, "text/html")
    assert used == codec
    assert ARABIC in text


@pytest.mark.parametrize("codec", ["cp1256", "iso8859-6"])
def test_latin1_label_on_arabic_bytes_is_corrected(codec: str) -> None:
    raw = f"<p>{ARABIC}</p>".encode(codec)
    text, used = decode_html(raw, "text/html; charset=ISO-8859-1")
    assert used == codec and ARABIC in text


def test_latin1_label_on_latin_text_is_kept() -> None:
    text, used = decode_html("<p>café crème</p>".encode("latin-1"),
                             "text/html; charset=iso-8859-1")
    assert used == "cp1252" and "café crème" in text


def test_header_charset_beats_meta() -> None:
    raw = f'<meta charset="utf-8"><p>{ARABIC}</p>'.encode("cp1256")
    text, used = decode_html(raw, "text/html; charset=windows-1256")
    assert used == "cp1256" and ARABIC in text


def test_meta_http_equiv_and_xml_declaration() -> None:
    raw = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-6">'
           f"</head><body><p>{ARABIC}</p></body></html>").encode("iso8859-6")
    assert decode_html(raw, None) == (raw.decode("iso8859-6"), "iso8859-6")
    xml = f'<?xml version="1.0" encoding="windows-1256"?><html><p>{ARABIC}</p></html>'
    text, used = decode_html(xml.encode("cp1256"), None)
    assert used == "cp1256" and ARABIC in text


def test_bom_wins_over_declarations() -> None:
    raw = b"\xef\xbb\xbf" + f'<meta charset="windows-1256"><p>{ARABIC}</p>'.encode("utf-8")
    text, used = decode_html(raw, "text/html; charset=windows-1256")
    assert used == "utf-8" and ARABIC in text and not text.startswith("\ufeff")
    utf16 = f"<p>{ARABIC}</p>".encode("utf-16")
    text, used = decode_html(utf16, "text/html")
    assert used == "utf-16" and ARABIC in text


def test_invalid_utf8_in_declared_utf8_page_is_replaced_not_fatal() -> None:
    page = ("<html><head><title>خبر</title></head><body><h1>تلوث المياه في الحسكة</h1>"
            f"<p>{ARABIC}</p>").encode()
    broken = page.replace("نزحت".encode(), b"\xff\xfe\xc3(")
    text, used = decode_html(broken, "text/html; charset=utf-8")
    assert used == "utf-8" and "\ufffd" in text and "عين عيسى" in text
    article = extract_article(broken, "http://127.0.0.1:9/a.html",
                              headers={"content-type": "text/html; charset=utf-8"})
    assert article.title == "تلوث المياه في الحسكة"
    assert "مخيم عين عيسى" in article.body


def test_declared_utf8_that_is_really_windows_1256_is_rescued() -> None:
    raw = ("<html><body>" + f"<p>{ARABIC}</p>" * 3 + "</body></html>").encode("cp1256")
    text, used = decode_html(raw, "text/html; charset=utf-8")
    assert used == "cp1256" and ARABIC in text


def test_unknown_charset_label_falls_back_to_detection() -> None:
    raw = f'<meta charset="x-no-such-charset"><p>{ARABIC}</p>'.encode("cp1256")
    text, used = decode_html(raw, "text/html; charset=bogus")
    assert used == "cp1256" and ARABIC in text
