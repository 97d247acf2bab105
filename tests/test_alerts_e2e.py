"""Alerts end to end: real crawls of two loopback outlets, a real SMTP server (aiosmtpd).

One message per story and recipient (a syndicated copy does not alert again), nothing more after
a re-crawl, queued while SMTP is down and delivered after it is back, hostile headlines escaped
and unable to inject headers, and the outbox default without an SMTP server.
"""
from __future__ import annotations

import json
import textwrap
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from testsupport.fixtureweb import FixtureWeb
from tests.conftest import ChavderEnv
from testsupport.articles import RAQQA_REPORT as RAQQA_BODY
from testsupport.pages import article_page as page, rss_feed as feed
from testsupport.smtp_sink import SMTPSink

BARQA_BODY = [
    "شهدت مدينة برقة الليبية أمطاراً غزيرة منذ ساعات الصباح الأولى، ما أدى إلى إغلاق عدد من "
    "الطرق الرئيسية وتعطل حركة السير في وسط المدينة لساعات.",
    "وحذرت هيئة الأرصاد الجوية من استمرار الهطولات حتى نهاية الأسبوع، ودعت السكان إلى تجنب "
    "التنقل غير الضروري والابتعاد عن مجاري الأودية.",
]
HOSTILE_TITLE = "<script>alert(1)</script> هجوم في الرقة\r\nBcc: victim@example.org"


@pytest.fixture(scope="module")
def outlets(tmp_path_factory):
    root = tmp_path_factory.mktemp("alert-web")
    for site in ("wire", "mirror"):
        (root / site).mkdir()
    raqqa_title = "اشتباكات عنيفة مع خلايا داعش في ريف الرقة"
    (root / "wire" / "raqqa.html").write_text(
        page(raqqa_title, RAQQA_BODY, "111 0 شاركها", "2017-06-01T10:00:00+03:00"), "utf-8")
    (root / "wire" / "barqa.html").write_text(
        page("أمطار غزيرة في برقة", BARQA_BODY, "بدون تعليق", "2017-06-01T11:00:00+03:00"),
        "utf-8")
    (root / "wire" / "feed.xml").write_text(
        feed("wire", [(raqqa_title, "/raqqa.html"), ("أمطار", "/barqa.html")]), "utf-8")
    # the same story republished by another outlet, other furniture and a changed headline
    (root / "mirror" / "copy.html").write_text(
        page("عاجل: " + raqqa_title, RAQQA_BODY, "اترك رد", "2017-06-01T12:30:00+03:00"),
        "utf-8")
    (root / "mirror" / "feed.xml").write_text(feed("mirror", [("copy", "/copy.html")]), "utf-8")
    with FixtureWeb(root) as web:
        yield web


def make_env(tmp_path: Path, web: FixtureWeb, mail: str) -> ChavderEnv:
    sources = tmp_path / "sources.yaml"
    sources.write_text(web.substitute(textwrap.dedent("""\
        defaults: {allow_private: true, allowed_domains: [127.0.0.1], timezone: Asia/Damascus}
        sources:
          - {id: wire, name: Wire Agency, kind: feed, start_urls: ["http://wire.fixture/feed.xml"]}
          - {id: mirror, name: Mirror Daily, kind: feed, start_urls: ["http://mirror.fixture/feed.xml"]}
        """)), encoding="utf-8")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(textwrap.dedent("""\
        rules:
          - name: raqqa
            any: [[الرقة, ڕەققە, Reqa, Raqqa]]
            recipients: [desk@example.org]
          - name: floods-libya
            any: [فيضانات ليبيا]
            recipients: [other@example.org]
        """), encoding="utf-8")
    # alerts after the crawl (alert_sweep_seconds 0): the syndicated copy is stored by then,
    # so the mail can name it however slowly the loaded test machine fetches it
    return ChavderEnv.create(tmp_path, sources, alerts=alerts, alert_retry_seconds=0.2,
                             alert_sweep_seconds=0, extra=mail)


def received(sink: SMTPSink) -> list:
    return list(sink.messages)


def test_alert_mail_once_per_story_then_outage_and_recovery(tmp_path, outlets):
    sink = SMTPSink().start()
    try:
        env = make_env(tmp_path, outlets,
                       f"mail:\n  smtp_host: 127.0.0.1\n  smtp_port: {sink.port}\n"
                       f"  security: none\n  sender: Chavder <alerts@chavder.test>\n")
        summary = json.loads(env.crawl().stdout)
        assert summary["sources"]["wire"]["new"] == 2 and summary["sources"]["mirror"]["new"] == 1
        assert summary["alerts"] == {"sent": 1, "retrying": 0, "failed": 0}
        msgs = received(sink)
        assert len(msgs) == 1, [m.subject for m in msgs]
        msg = msgs[0]
        assert msg.rcpt_tos == ["desk@example.org"]
        assert msg.subject.startswith("[Chavder] raqqa: ")
        assert "الرقة" in msg.subject
        html = msg.body("html")
        assert 'dir="rtl"' in html and "<mark>" in html
        text = msg.body("plain")
        # the syndicated copy is the same story: named as "also reported by", not alerted again
        assert "Mirror Daily" in text and "Wire Agency" in text, text
        store = env.open_store()
        try:
            rows = store.iter_articles()
            assert len({r["story_id"] for r in rows if "الرقة" in r["title"]}) == 1
        finally:
            store.close()

        # a re-crawl sends nothing
        env.crawl()
        assert len(received(sink)) == 1

        # SMTP down: a new story is queued, not lost; delivered once the server is back
        sink.stop()
        outlets.publish("wire", "/attack.html", page(
            HOSTILE_TITLE, [p.replace("اشتباكات عنيفة", "هجوم مسلح") + " تفاصيل جديدة."
                            for p in RAQQA_BODY[::-1]] + [BARQA_BODY[1]],
            "111 0 شاركها", "2017-06-02T09:00:00+03:00"))
        outlets.publish("wire", "/feed.xml", feed("wire", [
            ("t", "/raqqa.html"), ("b", "/barqa.html"), ("h", "/attack.html")]))
        down = json.loads(env.crawl().stdout)
        assert down["sources"]["wire"]["new"] == 1
        assert down["alerts"]["sent"] == 0 and down["alerts"]["retrying"] == 1
        sink.start()
        time.sleep(0.5)
        out = env.run("alerts", "send").stdout
        assert "1 sent" in out, out
        msgs = received(sink)
        assert len(msgs) == 2
        hostile = msgs[1]
        assert hostile.rcpt_tos == ["desk@example.org"], "no injected Bcc recipient"
        parsed = message_from_bytes(hostile.raw, policy=policy.default)
        assert parsed["Bcc"] is None
        assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
        html = hostile.body("html")
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
        # nothing more on a further send or crawl
        env.run("alerts", "send")
        env.crawl()
        assert len(received(sink)) == 2
        store = env.open_store()
        try:
            assert store.alert_counts() == {"sent": 2}
            assert store.integrity_check() == "ok"
        finally:
            store.close()
    finally:
        sink.stop()
        outlets.unpublish("wire", "/attack.html")
        outlets.unpublish("wire", "/feed.xml")


def test_outbox_is_the_default_without_smtp(tmp_path, outlets):
    env = make_env(tmp_path, outlets, "")
    summary = json.loads(env.crawl().stdout)
    assert summary["alerts"]["sent"] == 1
    files = list((tmp_path / "data" / "outbox").glob("*.eml"))
    assert len(files) == 1
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "desk@example.org" and msg["Subject"].startswith("[Chavder] raqqa: ")
    env.crawl()
    assert len(list((tmp_path / "data" / "outbox").glob("*.eml"))) == 1
