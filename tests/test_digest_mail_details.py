"""The digest a reader gets (issue 16), driven as a user: ``chavder crawl`` of two loopback
outlets, then ``chavder digest preview`` and ``chavder digest send --now`` as subprocesses.

* preview and the sent digest carry the same date label (subject, heading, period);
* the long Arabic URL is shown decoded and may wrap (``overflow-wrap: anywhere``), its href
  still the encoded, working URL;
* the matched terms are highlighted (``<mark>``) in the title and lead, as in instant alerts;
* mixed Arabic/English outlet names are isolated with ``<bdi>``.
"""
from __future__ import annotations

import re
import textwrap
from email import message_from_bytes, policy
from urllib.parse import quote

from testsupport.articles import RAQQA_REPORT
from testsupport.config import write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.pages import article_page, rss_feed
from testsupport.processes import chavder_env, run_chavder

TITLE = "اشتباكات عنيفة مع خلايا داعش في ريف الرقة"
SLUG = ("/ar/news/2017/06/01/اشتباكات-عنيفة-مع-خلايا-تنظيم-داعش-في-ريف-الرقة-الشمالي-وقوات-سوريا"
        "-الديمقراطية-تتقدم.html")
WIRE = "ANHA — وكالة أنباء هاوار"
MIRROR = "Mirror Daily — المرآة"


def test_preview_and_sent_digest_agree_and_read_well(tmp_path):
    root = tmp_path / "web"
    (root / "wire" / SLUG.lstrip("/")).parent.mkdir(parents=True)
    (root / "mirror").mkdir()
    (root / "wire" / SLUG.lstrip("/")).write_text(article_page(
        TITLE, RAQQA_REPORT, "شاركها", "2017-06-01T10:00:00+03:00"), "utf-8")
    (root / "wire" / "feed.xml").write_text(rss_feed("wire", [(TITLE, SLUG)]), "utf-8")
    (root / "mirror" / "copy.html").write_text(article_page(
        "عاجل: " + TITLE, RAQQA_REPORT, "اترك رد", "2017-06-01T12:30:00+03:00"), "utf-8")
    (root / "mirror" / "feed.xml").write_text(rss_feed("mirror", [("copy", "/copy.html")]),
                                              "utf-8")
    (tmp_path / "alerts.yaml").write_text(textwrap.dedent("""\
        rules:
          - name: raqqa
            any: [[الرقة, Raqqa]]
            mode: digest
            recipients:
              - {email: desk@example.org, timezone: Asia/Baghdad, digest_time: "07:00"}
        """), "utf-8")
    (tmp_path / "data").mkdir()
    with FixtureWeb(root) as web:
        sources = tmp_path / "sources.yaml"
        sources.write_text(web.substitute(textwrap.dedent(f"""\
            defaults: {{allow_private: true, allowed_domains: [127.0.0.1]}}
            sources:
              - {{id: wire, name: "{WIRE}", kind: feed, start_urls: ["http://wire.fixture/feed.xml"]}}
              - {{id: mirror, name: "{MIRROR}", kind: feed, start_urls: ["http://mirror.fixture/feed.xml"]}}
            """)), "utf-8")
        config = write_config(tmp_path, sources=sources, alerts=tmp_path / "alerts.yaml")
        env = chavder_env(config)
        crawl = run_chavder(config, "crawl", env=env, timeout=120, pipes=True)
        assert crawl.returncode == 0, crawl.stderr[-3000:]

    html_file = tmp_path / "preview.html"
    preview = run_chavder(config, "digest", "preview", "--recipient", "desk@example.org",
                          "--html", str(html_file), env=env, timeout=60, pipes=True)
    assert preview.returncode == 0, preview.stderr
    sent = run_chavder(config, "digest", "send", "--recipient", "desk@example.org", "--now",
                       env=env, timeout=60, pipes=True)
    assert sent.returncode == 0, sent.stderr
    [eml] = (tmp_path / "data" / "outbox").glob("*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()

    # one date label: the preview's header, subject and period are the sent digest's
    key = re.search(r"^digest (\d{4}-\d\d-\d\d) for desk@example.org", preview.stdout, re.M)
    assert key, preview.stdout
    day = key.group(1)
    assert f"{day}: sent, 1 story" in sent.stdout, sent.stdout
    assert f"Subject: [Chavder] Digest {day}: 1 story" in preview.stdout
    assert str(mail["Subject"]).startswith(f"[Chavder] Digest {day}: 1 story")
    shown = preview.stdout.split("\n\n", 1)[1].splitlines()
    assert shown[0] == text.splitlines()[0] == f"Chavder digest {day}"
    start = lambda label: label.split(" → ")[0]   # noqa: E731 - the end is "now": its minute
    assert start(shown[1]) == start(text.splitlines()[1]), (shown[1], text.splitlines()[1])

    for part in (html, html_file.read_text(encoding="utf-8")):
        # the URL: decoded where it is read, encoded in the href, and allowed to wrap
        link = re.search(r'<p class="meta link" style="([^"]+)"><a href="([^"]+)"[^>]*>([^<]+)</a>',
                         part)
        assert link, part
        assert "overflow-wrap:anywhere" in link.group(1)
        assert link.group(2).endswith(quote(SLUG)) and link.group(3).endswith(SLUG)
        # matched terms highlighted as in instant alerts; mixed-script names isolated
        assert "ريف <mark>الرقة</mark>" in part
        assert part.count("<mark>الرقة</mark>") >= 2          # title and lead
        assert f"<bdi>{WIRE}</bdi>" in part or f"<bdi>{MIRROR}</bdi>" in part
        assert "Also reported by: <bdi>" in part
    assert SLUG in text and "%D8" not in text
