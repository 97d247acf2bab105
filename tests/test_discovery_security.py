"""Hostile XML and compression: nothing expands, nothing is read from disk or network, and
time and memory stay small. Every case runs through both the feed and the sitemap parser."""
from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from crawler.discovery import MAX_DECOMPRESSED_BYTES, UnsafeXMLError, parse_feed, parse_sitemap

PARSERS = [parse_feed, parse_sitemap]
PASSWD = Path("/etc/passwd")


def _item(title: str) -> str:
    return f"<item><title>{title}</title><link>https://a.example/story-one-two</link></item>"


def _rss(doctype: str, title: str) -> bytes:
    return (f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel>{_item(title)}'
            "</channel></rss>").encode()


BILLION_LAUGHS = ('<!DOCTYPE rss [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10}">'
                            for i in range(1, 10)) + "]>")

HOSTILE = {
    "xxe-file": ('<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;",
                 "external entity"),
    "xxe-public": ('<!DOCTYPE rss [<!ENTITY x PUBLIC "-//A//B" "file:///etc/passwd">]>', "&x;",
                   "external entity"),
    "xxe-network": ('<!DOCTYPE rss [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>', "&x;",
                    "external entity"),
    "parameter-entity": ('<!DOCTYPE rss [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>', "t",
                         "parameter entity"),
    "billion-laughs": (BILLION_LAUGHS, "&lol9;", "entity expansion"),
    "char-ref-smuggling": ('<!DOCTYPE rss [<!ENTITY a "&#38;b;"><!ENTITY b "x">]>', "&a;",
                           "entity expansion"),
    "markup-in-entity": ('<!DOCTYPE rss [<!ENTITY a "<b>x</b>">]>', "&a;", "entity expansion"),
    "quadratic-blowup": (f'<!DOCTYPE rss [<!ENTITY a "{"x" * 50_000}">]>', "&a;" * 5_000,
                         "quadratic blowup"),
    "huge-doctype": (f"<!DOCTYPE rss [<!-- {'x' * 2_000_000} -->]>", "t", "larger than"),
    "unterminated-literal": ('<!DOCTYPE rss [<!ENTITY a "never closed>]>', "t", "unterminated"),
    "entity-in-comment-trick": ('<!DOCTYPE rss [<!-- ]> --><!ENTITY x SYSTEM "file:///etc/passwd">]>',
                                "&x;", "external entity"),
}


@pytest.mark.parametrize("parse", PARSERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_dtd_is_refused_quickly(parse, name):
    doctype, title, reason = HOSTILE[name]
    body = _rss(doctype, title)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(UnsafeXMLError, match=reason):
            parse(body, "https://a.example/feed")
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 8 * len(body) + 2_000_000


@pytest.mark.parametrize("parse", PARSERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress], ids=["plain", "gzip"])
def test_xxe_also_refused_inside_gzip(parse, compress):
    body = compress(_rss('<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"))
    with pytest.raises(UnsafeXMLError):
        parse(body, "https://a.example/feed")


@pytest.mark.skipif(not PASSWD.exists(), reason="needs /etc/passwd to prove it is not read")
@pytest.mark.parametrize("doc", [
    # external DTD: never loaded, so its entities stay unknown and are kept as text
    _rss('<!DOCTYPE rss SYSTEM "file:///etc/passwd">', "before &passwd; after"),
    # XInclude is not processed
    _rss("", '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
             'parse="text"/>'),
    # a stylesheet processing instruction is ignored
    b'<?xml version="1.0"?><?xml-stylesheet href="file:///etc/passwd"?>'
    + _rss("", "pi").split(b"?>", 1)[1],
], ids=["external-dtd", "xinclude", "stylesheet-pi"])
def test_local_files_never_leak(doc):
    result = parse_feed(doc, "https://a.example/feed")
    assert len(result.entries) == 1
    assert "root:" not in repr(result)


def test_simple_internal_entities_are_allowed():
    """Feeds that declare harmless text entities (old CMS templates) still parse."""
    body = _rss('<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY site \'روداو\'>]>',
                "&site;&nbsp;نيوز")
    [entry] = parse_feed(body, "https://a.example/feed").entries
    assert entry.title == "روداو نيوز"


def test_deep_nesting_is_cut_by_libxml2_limits_and_later_items_survive():
    body = (b"<rss><channel>" + b"<a>" * 100_000 + b"</a>" * 100_000 + _item("t").encode()
            + b"</channel></rss>")
    start = time.perf_counter()
    result = parse_feed(body, "https://a.example/feed")
    assert time.perf_counter() - start < 2
    assert any("depth" in p for p in result.problems)
    assert [e.url for e in result.entries] == ["https://a.example/story-one-two"]


def _zero_bomb(uncompressed: int) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)      # 31 = gzip container
    chunk = b"\0" * (1 << 20)
    return b"".join([deflate.compress(chunk) for _ in range(uncompressed >> 20)] + [deflate.flush()])


def _xml_bomb(uncompressed: int) -> bytes:
    head = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://a.example/first-story-here</loc></url>")
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [deflate.compress(head)]
    filler = b"<!-- " + b"x" * ((1 << 20) - 10) + b" -->"
    parts += [deflate.compress(filler) for _ in range(uncompressed >> 20)]
    return b"".join(parts + [deflate.flush()])


@pytest.mark.parametrize("parse", PARSERS, ids=lambda f: f.__name__)
def test_gzip_bomb_stops_at_default_cap(parse):
    bomb = _zero_bomb(MAX_DECOMPRESSED_BYTES + (16 << 20))       # 66 MiB of zeros in ~64 KiB
    assert len(bomb) < 200_000
    tracemalloc.start()
    start = time.perf_counter()
    result = parse(bomb, "https://a.example/sitemap.xml.gz")
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.truncated is True
    assert any("stopped at the cap" in p for p in result.problems)
    assert elapsed < 5
    assert peak < 2.5 * MAX_DECOMPRESSED_BYTES        # bounded by the cap, not the bomb


def test_gzip_bomb_memory_follows_the_cap_and_keeps_what_parsed():
    bomb = _xml_bomb(64 << 20)
    tracemalloc.start()
    result = parse_sitemap(bomb, "https://a.example/sitemap.xml.gz", max_bytes=1 << 20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.truncated is True
    assert [u.url for u in result.urls] == ["https://a.example/first-story-here"]
    assert peak < 8 << 20


@pytest.mark.parametrize("body, expected", [
    # mtime=0: the bytes (and so the test id) must not depend on the clock, or the two
    # pytest-xdist processes collect different tests and the run aborts
    (gzip.compress(b"<urlset><url><loc>https://a.example/a-b-c</loc></url></urlset>",
                   mtime=0)[:-12], "truncated"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate", "corrupt"),
], ids=["truncated", "corrupt"])
def test_damaged_gzip_is_reported(body, expected):
    result = parse_sitemap(body, "https://a.example/s.xml.gz")
    assert any(expected in p for p in result.problems)
