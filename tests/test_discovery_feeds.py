"""Feeds: RSS 0.9x/1.0/2.0, Atom 0.3/1.0, dates, images, languages, malformed input, scale."""
from __future__ import annotations

import gzip
import time
from urllib.parse import quote

import pytest

from crawler.discovery import parse_feed

RSS_NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" '
          'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
          'xmlns:media="http://search.yahoo.com/mrss/" '
          'xmlns:atom="http://www.w3.org/2005/Atom" '
          'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"')


def rss(items: str, channel: str = "<title>روك أونلاين</title><language>ar</language>") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" {RSS_NS}><channel>'
            f"{channel}{items}</channel></rss>").encode("utf-8")


ARABIC_SLUG = "روسيا-سنقصف-عناصر-داعش"
WORDPRESS_ITEM = f"""
<item>
  <title>روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة</title>
  <link>https://rok.example/2017/06/01/{ARABIC_SLUG}/#comments</link>
  <pubDate>Thu, 01 Jun 2017 14:05:00 +0300</pubDate>
  <dc:creator><![CDATA[روك أونلاين – قامشلو]]></dc:creator>
  <category><![CDATA[سوريا]]></category><category>الرقة</category>
  <description><![CDATA[<p>قالت وزارة الدفاع الروسية اليوم الخميس إنها ستقصف عناصر تنظيم الدولة</p>]]></description>
  <content:encoded><![CDATA[<p><img src="/wp-content/uploads/2017/06/raqqa.jpg" alt=""/>النص الكامل</p>]]></content:encoded>
</item>"""


def test_wordpress_rss_item_gives_every_hint():
    result = parse_feed(rss(WORDPRESS_ITEM), "https://rok.example/feed/")
    assert result.problems == []
    assert result.title == "روك أونلاين" and result.kind == "rss2.0" and result.language == "ar"
    [entry] = result.entries
    # Arabic path percent-encoded as UTF-8, fragment dropped
    assert entry.url == f"https://rok.example/2017/06/01/{quote(ARABIC_SLUG)}/"
    assert entry.title == "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة"
    assert entry.published_at == "2017-06-01T14:05:00+03:00"
    assert entry.authors == ["روك أونلاين – قامشلو"]
    assert entry.tags == ["سوريا", "الرقة"]
    assert entry.summary.startswith("قالت وزارة الدفاع الروسية") and "<p>" not in entry.summary
    assert entry.image_url == "https://rok.example/wp-content/uploads/2017/06/raqqa.jpg"
    assert entry.language == "ar"


@pytest.mark.parametrize("date_xml, timezone, expected", [
    ("<pubDate>Thu, 01 Jun 2017 14:05:00 +0300</pubDate>", "UTC", "2017-06-01T14:05:00+03:00"),
    ("<pubDate>Thu, 01 Jun 2017 11:05:00 GMT</pubDate>", "Asia/Baghdad", "2017-06-01T11:05:00+00:00"),
    ("<pubDate>Thu, 01 Jun 2017 14:05:00</pubDate>", "Asia/Baghdad", "2017-06-01T14:05:00+03:00"),
    ("<pubDate>Thu, 01 Jun 2017 14:05:00 -0000</pubDate>", "Asia/Baghdad", "2017-06-01T14:05:00+00:00"),
    ("<pubDate>Thu, 01 Jun 2017 14:05:00 AST</pubDate>", "UTC", "2017-06-01T14:05:00+03:00"),
    ("<pubDate>1 Jun 2017 14:05 +0430</pubDate>", "UTC", "2017-06-01T14:05:00+04:30"),
    ("<dc:date>2017-06-01T14:05:00Z</dc:date>", "Asia/Baghdad", "2017-06-01T14:05:00+00:00"),
    ("<dc:date>2017-06-01T14:05:00+0300</dc:date>", "UTC", "2017-06-01T14:05:00+03:00"),
    ("<dc:date>2017-06-01</dc:date>", "Europe/Istanbul", "2017-06-01T00:00:00+03:00"),
    ("<pubDate>2017/06/01</pubDate>", "Asia/Baghdad", "2017-06-01T00:00:00+03:00"),
])
def test_dates_become_iso_with_offset(date_xml, timezone, expected):
    item = f"<item><title>t</title><link>https://a.example/x-y-z</link>{date_xml}</item>"
    [entry] = parse_feed(rss(item), "https://a.example/feed", timezone=timezone).entries
    assert entry.published_at == expected


def test_unparseable_date_is_reported_not_invented():
    item = "<item><link>https://a.example/x-y-z</link><pubDate>قريباً جداً</pubDate></item>"
    result = parse_feed(rss(item), "https://a.example/feed")
    assert result.entries[0].published_at is None
    assert any("dates not understood" in p for p in result.problems)


def test_unknown_timezone_is_a_configuration_error():
    with pytest.raises(ValueError, match="timezone"):
        parse_feed(rss(WORDPRESS_ITEM), "https://a.example/feed", timezone="Mars/Olympus")


@pytest.mark.parametrize("item_body, expected_image", [
    ('<media:content url="https://cdn.example/a.jpg" medium="image"/>', "https://cdn.example/a.jpg"),
    ('<media:content url="https://cdn.example/v.mp4" type="video/mp4"/>'
     '<media:thumbnail url="/thumb.png"/>', "https://a.example/thumb.png"),
    ('<media:group><media:content url="https://cdn.example/g.webp" type="image/webp"/></media:group>',
     "https://cdn.example/g.webp"),
    ('<enclosure url="https://cdn.example/e.jpg" type="image/jpeg" length="1"/>', "https://cdn.example/e.jpg"),
    ('<enclosure url="https://cdn.example/e.mp3" type="audio/mpeg" length="1"/>', None),
    ('<description>&lt;img src="pic.gif"&gt; text</description>', "https://a.example/news/pic.gif"),
])
def test_images_from_media_enclosure_and_content(item_body, expected_image):
    item = f"<item><title>t</title><link>https://a.example/x-y-z</link>{item_body}</item>"
    [entry] = parse_feed(rss(item), "https://a.example/news/feed").entries
    assert entry.image_url == expected_image


@pytest.mark.parametrize("item_body, expected_url", [
    # FeedBurner's origLink is the real article, <link> only a redirect
    ("<link>https://feedproxy.example/~r/x/1</link>"
     "<feedburner:origLink>https://a.example/real-story-here</feedburner:origLink>",
     "https://a.example/real-story-here"),
    ('<guid isPermaLink="true">https://a.example/guid-story</guid>', "https://a.example/guid-story"),
    ("<guid>https://a.example/guid-default</guid>", "https://a.example/guid-default"),
    ('<atom:link rel="alternate" href="/atom-link-story"/>', "https://a.example/atom-link-story"),
    ("<link>  /relative/story-path  </link>", "https://a.example/relative/story-path"),
    ("<link>https://a.example/?p=12&amp;lang=ar#more</link>", "https://a.example/?p=12&lang=ar"),
])
def test_link_sources(item_body, expected_url):
    [entry] = parse_feed(rss(f"<item><title>t</title>{item_body}</item>"),
                         "https://a.example/feed/").entries
    assert entry.url == expected_url


@pytest.mark.parametrize("item_body", [
    '<guid isPermaLink="false">123456</guid>',
    "<link>javascript:alert(1)</link>",
    "<link>mailto:x@a.example</link>",
    "<title>no link at all</title>",
])
def test_entries_without_usable_link_are_skipped_and_reported(item_body):
    result = parse_feed(rss(f"<item>{item_body}</item>"), "https://a.example/feed/")
    assert result.entries == []
    assert any("without a usable" in p for p in result.problems)


def test_duplicate_links_give_one_entry_in_document_order():
    items = "".join(f"<item><title>{t}</title><link>https://a.example/{u}</link></item>"
                    for t, u in [("one", "a-b-c"), ("two", "d-e-f"), ("again", "a-b-c#x")])
    result = parse_feed(rss(items), "https://a.example/feed")
    assert [e.title for e in result.entries] == ["one", "two"]


@pytest.mark.parametrize("language_xml, expected", [
    ("<language>ar-SA</language>", "ar"),
    ("<language>ckb</language>", "ckb"),
    ("<language>ku-Latn</language>", "kmr"),
    ("<language>ku_Arab_IQ</language>", "ckb"),
    ("<dc:language>ku</dc:language>", "ku"),
    ("<language>not a language!</language>", None),
])
def test_channel_language_normalised(language_xml, expected):
    result = parse_feed(rss("<item><link>https://a.example/1-2-3</link></item>", language_xml),
                        "https://a.example/feed")
    assert result.language == expected
    assert result.entries[0].language == expected


def test_kurmanji_feed_with_authors_and_escaped_title():
    items = """<item><title>Kobanê: &lt;b&gt;şer&lt;/b&gt; berdewam e &amp;amp; xelk direve</title>
      <link>https://anf.example/nuce/kobane-ser-berdewam-e</link>
      <author>desk@anf.example (Nûçegihanê ANF)</author><dc:creator>Rêdaksiyon</dc:creator>
      <category domain="https://anf.example/c">Rojava</category></item>"""
    [entry] = parse_feed(rss(items, "<title>ANF Kurdî</title><language>ku</language>"),
                         "https://anf.example/feed.rss").entries
    assert entry.title == "Kobanê: şer berdewam e & xelk direve"
    assert entry.authors == ["Nûçegihanê ANF", "Rêdaksiyon"]
    assert entry.tags == ["Rojava"]


def test_rss_091_with_netscape_doctype_and_html_entities():
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Caf&eacute; &amp; news&nbsp;desk</title><language>en</language>
<item><title>Story &ndash; one &copy;</title><link>http://old.example/story-one-here</link>
<description>A &lt;b&gt;bold&lt;/b&gt; claim</description></item></channel></rss>"""
    start = time.perf_counter()
    result = parse_feed(body, "http://old.example/rss091.xml")
    assert time.perf_counter() - start < 1          # the external DTD is never fetched
    assert result.kind == "rss0.91"
    assert result.title == "Café & news desk"
    assert result.entries[0].title == "Story – one ©"
    assert result.entries[0].summary == "A bold claim"


def test_rss_10_rdf():
    body = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="https://hawar.example/"><title>ANHA</title><dc:language>ar</dc:language></channel>
 <item rdf:about="https://hawar.example/ar/news/1001"><title>خبر من قامشلو عن الانتخابات</title>
   <link>https://hawar.example/ar/news/1001</link><dc:date>2017-06-01T10:00+03:00</dc:date>
   <dc:creator>ANHA</dc:creator><dc:subject>سياسة</dc:subject><description>ملخص</description></item>
 <item rdf:about="https://hawar.example/ar/news/1002"><title>بدون رابط</title></item>
</rdf:RDF>""".encode()
    result = parse_feed(body, "https://hawar.example/rdf")
    assert result.kind == "rdf" and result.title == "ANHA" and result.language == "ar"
    assert [e.url for e in result.entries] == ["https://hawar.example/ar/news/1001",
                                               "https://hawar.example/ar/news/1002"]
    first = result.entries[0]
    assert (first.published_at, first.authors, first.tags, first.summary) == (
        "2017-06-01T10:00:00+03:00", ["ANHA"], ["سياسة"], "ملخص")


def test_rss_090_netscape_rdf():
    body = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>Old</title></channel>
 <item><title>First story of the day</title><link>http://old.example/first-story-day</link></item></rdf:RDF>"""
    result = parse_feed(body, "http://old.example/")
    assert result.title == "Old"
    assert [e.title for e in result.entries] == ["First story of the day"]


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
      xml:lang="ckb" xml:base="https://www.rudaw.example/sorani/">
 <title type="html">ڕووداو &amp;amp; هەواڵ</title>
 <author><name>ڕووداو</name></author>
 <entry xml:base="kurdistan/">
  <title>هەواڵێکی نوێ لە هەولێر</title>
  <link rel="alternate" type="text/html" href="01062017#top"/>
  <link rel="enclosure" type="image/jpeg" href="/img/erbil.jpg"/>
  <id>tag:rudaw.example,2017:1</id>
  <published>2017-06-01T09:00:00+03:00</published><updated>2017-06-02T10:00:00Z</updated>
  <summary type="html">&lt;p&gt;کورتەی &lt;i&gt;هەواڵ&lt;/i&gt;&lt;/p&gt;</summary>
  <category term="kurdistan" label="کوردستان"/><category term="erbil"/>
 </entry>
 <entry xml:lang="kmr">
  <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Kobanê <b>nû</b></div></title>
  <link rel="self" href="https://www.rudaw.example/api/2"/>
  <link href="https://www.rudaw.example/kurmanci/kobane-nu-ji-nu-ve"/>
  <updated>2017-06-01</updated><author><name>Nûçegihan</name></author>
  <content type="html">&lt;p&gt;&lt;img src="k.png"&gt;Nivîs&lt;/p&gt;</content>
 </entry>
 <entry><title>id only</title><id>https://www.rudaw.example/arabic/id-only-story</id></entry>
</feed>"""


def test_atom_10_xml_base_dates_types_and_inheritance():
    result = parse_feed(ATOM.encode(), "https://www.rudaw.example/rss")
    assert result.problems == []
    assert result.kind == "atom1.0" and result.language == "ckb"
    assert result.title == "ڕووداو & هەواڵ"
    first, second, third = result.entries
    # xml:base on feed and entry stack up; the link's fragment goes
    assert first.url == "https://www.rudaw.example/sorani/kurdistan/01062017"
    assert first.image_url == "https://www.rudaw.example/img/erbil.jpg"
    assert (first.published_at, first.updated_at) == ("2017-06-01T09:00:00+03:00",
                                                      "2017-06-02T10:00:00+00:00")
    assert first.summary == "کورتەی هەواڵ"
    assert first.tags == ["کوردستان", "erbil"]
    assert first.authors == ["ڕووداو"]                  # inherited from the feed
    assert first.language == "ckb"
    assert second.url == "https://www.rudaw.example/kurmanci/kobane-nu-ji-nu-ve"   # not rel=self
    assert second.title == "Kobanê nû"
    assert second.published_at is None and second.updated_at == "2017-06-01T00:00:00+00:00"
    assert second.authors == ["Nûçegihan"] and second.language == "kmr"
    assert second.summary == "Nivîs" and second.image_url == "https://www.rudaw.example/sorani/k.png"
    assert third.url == "https://www.rudaw.example/arabic/id-only-story"


def test_atom_03_escaped_and_base64_content():
    body = b"""<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">
<title>Old Atom</title>
<entry><title mode="escaped">A &amp;amp; B</title>
 <link rel="alternate" type="text/html" href="http://a.example/x/y-z-w"/>
 <issued>2004-01-01T10:00:00+02:00</issued><modified>2004-01-02T10:00:00Z</modified>
 <content type="text/html" mode="escaped">&lt;p&gt;body&lt;img src="i.png"&gt;&lt;/p&gt;</content></entry>
<entry><title>b64</title><link rel="alternate" href="http://a.example/b64-entry-here"/>
 <summary type="text/html" mode="base64">PHA+2YXZhNiu2LU8L3A+</summary></entry></feed>"""
    result = parse_feed(body, "http://a.example/atom.xml")
    assert result.kind == "atom0.3"
    first, second = result.entries
    assert first.title == "A & B"
    assert (first.published_at, first.updated_at) == ("2004-01-01T10:00:00+02:00",
                                                      "2004-01-02T10:00:00+00:00")
    assert first.summary == "body" and first.image_url == "http://a.example/i.png"
    assert second.summary == "ملخص"


@pytest.mark.parametrize("body, expected_problem", [
    (b"<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</p></body></html>",
     "not a feed: looks like HTML"),
    (b"  <html lang='ar'><body>\xd8\xae\xd8\xb7\xd8\xa3</body></html>", "not a feed: looks like HTML"),
    (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
     "not a feed: looks like a sitemap"),
    (b"<opml version='1.0'><body/></opml>", "not a feed: root element <opml>"),
    (b"just some text", "not a feed: no XML element found"),
    (b"   ", "empty body"),
])
def test_not_a_feed(body, expected_problem):
    result = parse_feed(body, "https://a.example/feed")
    assert result.entries == []
    assert expected_problem in result.problems


def test_broken_markup_keeps_every_entry_that_parses():
    body = rss("<item><title>one <b>bold</title><link>https://a.example/one-two-three</link></item>"
               "<item><title>two</title><link>https://a.example/four-five-six</link></item>"
               "<item><title>three</title><link>https://a.example/seven-eight-nine</link></item>")
    result = parse_feed(body, "https://a.example/feed")
    assert [e.url for e in result.entries] == ["https://a.example/one-two-three",
                                               "https://a.example/four-five-six",
                                               "https://a.example/seven-eight-nine"]
    assert [e.title for e in result.entries[1:]] == ["two", "three"]
    assert any(p.startswith("XML error") for p in result.problems)


def test_truncated_download_keeps_complete_items():
    body = rss("".join(f"<item><title>t{i}</title><link>https://a.example/story-{i}-x</link></item>"
                       for i in range(5)))
    result = parse_feed(body[:body.index(b"<item><title>t4")] + b"<item><title>t4</ti",
                        "https://a.example/feed")
    assert [e.title for e in result.entries] == ["t0", "t1", "t2", "t3"]
    assert any("XML error" in p for p in result.problems)


def test_sloppy_xml_bare_ampersands_undefined_entities_and_leading_junk():
    body = (b"<br />\n<b>Warning</b>: Cannot modify header information in feed.php\n"
            + rss("<item><title>Q&A &nbsp;&hellip; &bogus; today</title>"
                  "<link>https://a.example/read.php?id=5&cat=2</link></item>"))
    result = parse_feed(body, "https://a.example/feed")
    [entry] = result.entries
    assert entry.url == "https://a.example/read.php?id=5&cat=2"
    assert entry.title == "Q&A … &bogus; today"
    assert any("non-XML text before the document" in p for p in result.problems)
    assert any("unescaped '&'" in p for p in result.problems)


@pytest.mark.parametrize("encode", [
    lambda xml: xml.replace(b'encoding="UTF-8"', b'encoding="windows-1256"').decode("utf-8")
    .encode("cp1256"),
    lambda xml: xml.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode("utf-8").encode("utf-16"),
    lambda xml: b"\xef\xbb\xbf" + xml,
    gzip.compress,
], ids=["windows-1256", "utf-16", "utf-8-bom", "gzip"])
def test_encodings_and_compression(encode):
    item = "<item><title>الرقة اليوم</title><link>https://a.example/الرقة-اليوم-خبر</link></item>"
    result = parse_feed(encode(rss(item)), "https://a.example/feed")
    [entry] = result.entries
    assert entry.title == "الرقة اليوم"
    assert entry.url == "https://a.example/" + quote("الرقة-اليوم-خبر")


def test_max_items_truncates():
    items = "".join(f"<item><link>https://a.example/story-{i}-x</link></item>" for i in range(10))
    result = parse_feed(rss(items), "https://a.example/feed", max_items=3)
    assert result.truncated is True
    assert [e.url for e in result.entries] == [f"https://a.example/story-{i}-x" for i in range(3)]
    assert parse_feed(rss(items), "https://a.example/feed", max_items=10).truncated is False


def test_100k_item_feed_is_bounded_and_fast():
    items = b"".join(
        b"<item><title>\xd8\xae\xd8\xa8\xd8\xb1 %d</title><link>https://a.example/2017/06/01/story-%d/</link>"
        b"<pubDate>Thu, 01 Jun 2017 14:05:00 +0300</pubDate><description>&lt;p&gt;s %d&lt;/p&gt;"
        b"</description></item>\n" % (i, i, i) for i in range(100_000))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>' + items + b"</channel></rss>"
    start = time.perf_counter()
    result = parse_feed(body, "https://a.example/feed")
    elapsed = time.perf_counter() - start
    assert result.truncated is True and len(result.entries) == 5000
    assert result.entries[-1].url == "https://a.example/2017/06/01/story-4999/"
    assert elapsed < 3, f"100k-item feed took {elapsed:.2f}s"
