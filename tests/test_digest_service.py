"""Digests end to end: `chavder run` as a real subprocess crawls two loopback outlets, and a
digest e-mail arrives on a real SMTP server (aiosmtpd) — once, also across a restart.

The digest time is a couple of minutes ahead in the recipient's zone (Asia/Baghdad). The first
run only crawls (the digest is not due). The second run starts with the digest clock shifted past
the digest time by ``CHAVDER_CLOCK_OFFSET`` (a test hook, see crawler/digests/), as if the
service had been down at 07:00 and came back within the grace period: the catch-up at start-up
sends it. A third start sends nothing more.
"""
from __future__ import annotations

import re
import sqlite3
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from testsupport.articles import RAQQA_REPORT as BODY
from testsupport.config import write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.pages import article_page, rss_feed
from testsupport.polling import wait_for
from testsupport.processes import Finished, ServiceProcess, chavder_env, run_chavder
from testsupport.smtp_sink import SMTPSink

TITLE = "اشتباكات عنيفة مع خلايا داعش في ريف الرقة"
TZ = "Asia/Baghdad"



class Service(ServiceProcess):
    """`chavder run` with extra environment (the digest clock), started once it says so."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None):
        super().__init__(config, log, chavder_env(config, env), wait_started=30)


def chavder(config: Path, *args: str, env: dict[str, str]) -> Finished:
    return run_chavder(config, *args, env=chavder_env(config, env), timeout=60, pipes=True)


def db_count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:       # not migrated yet
        return 0


@pytest.fixture
def setup(tmp_path):
    root = tmp_path / "web"
    for site in ("wire", "mirror"):
        (root / site).mkdir(parents=True)
    (root / "wire" / "raqqa.html").write_text(
        article_page(TITLE, BODY, "111 0 شاركها", "2017-06-01T10:00:00+03:00"), "utf-8")
    (root / "wire" / "feed.xml").write_text(rss_feed("wire", [(TITLE, "/raqqa.html")]), "utf-8")
    (root / "mirror" / "copy.html").write_text(
        article_page("عاجل: " + TITLE, BODY, "اترك رد", "2017-06-01T12:30:00+03:00"), "utf-8")
    (root / "mirror" / "feed.xml").write_text(rss_feed("mirror", [("copy", "/copy.html")]),
                                              "utf-8")
    web = FixtureWeb(root).start()
    sink = SMTPSink().start()
    # the digest time: two to three minutes from now in Baghdad (not due during the first run)
    due_local = (datetime.now(ZoneInfo(TZ)) + timedelta(minutes=3)).replace(second=0,
                                                                            microsecond=0)
    sources = tmp_path / "sources.yaml"
    sources.write_text(web.substitute(textwrap.dedent("""\
        defaults: {allow_private: true, allowed_domains: [127.0.0.1], interval: 2s}
        sources:
          - {id: wire, name: Wire Agency, kind: feed,
             start_urls: ["http://wire.fixture/feed.xml"]}
          - {id: mirror, name: Mirror Daily, kind: feed,
             start_urls: ["http://mirror.fixture/feed.xml"]}
        """)), encoding="utf-8")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(textwrap.dedent(f"""\
        rules:
          - name: raqqa
            any: [[الرقة, Reqa]]
            mode: digest
            recipients:
              - {{email: desk@example.org, timezone: {TZ}, digest_time: "{due_local:%H:%M}"}}
        """), encoding="utf-8")
    config = write_config(tmp_path, sources=sources, alerts=alerts, health_port=0,
                          alert_dispatch_seconds=1, digest_check_seconds=1, digest_grace_hours=6,
                          smtp_port=sink.port, mail={"sender": "Chavder <digest@chavder.test>"})
    yield sink, config, tmp_path, due_local.astimezone(timezone.utc)
    sink.stop()
    web.stop()


def test_service_sends_the_digest_once_and_catches_up_after_downtime(setup):
    sink, config, tmp, due = setup
    db = tmp / "data" / "chavder.db"
    log = tmp / "service.log"

    # 1. crawl and match; the digest is not due yet
    svc = Service(config, log).start()
    try:
        assert wait_for(lambda: db_count(db, "SELECT COUNT(*) FROM articles") == 2
                        and db_count(db, "SELECT COUNT(*) FROM digest_items") == 1, 20), \
            svc.text()
        time.sleep(1.5)                     # a digest check or two
        assert sink.messages == []
        assert db_count(db, "SELECT COUNT(*) FROM digests") == 0
    finally:
        assert svc.stop() == 0

    # 2. "back" five minutes after the digest time: sent at start-up, once
    offset = (due + timedelta(minutes=5) - datetime.now(timezone.utc)).total_seconds()
    clock = {"CHAVDER_CLOCK_OFFSET": f"{offset:.0f}"}
    svc = Service(config, log, clock).start()
    try:
        assert wait_for(lambda: len(sink.messages) >= 1, 15), svc.text()
        time.sleep(2.5)
        assert len(sink.messages) == 1, [m.subject for m in sink.messages]
    finally:
        assert svc.stop() == 0
    assert "digest sent" in svc.text()
    msg = sink.messages[0]
    assert msg.rcpt_tos == ["desk@example.org"]
    period = due.astimezone(ZoneInfo(TZ)).date().isoformat()
    assert msg.subject.startswith(f"[Chavder] Digest {period}: 1 story — ")
    assert "الرقة" in msg.subject
    text, html = msg.body("plain"), msg.body("html")
    assert 'Rule "raqqa": 1 story' in text
    # one entry for the story (whichever copy matched first), the other outlet named with it
    assert re.search(r"(Wire Agency|Mirror Daily) · 2017-06-01 \d\d:\d\d \(UTC\+03:00\) · "
                     r"2 outlets\s+Also reported by: (Mirror Daily|Wire Agency)", text), text
    assert text.count("Also reported by") == 1
    assert "http://127.0.0.1:" in text and "قالت مصادر محلية" in text
    assert 'lang="ar" dir="rtl"' in html and "Also reported by: <bdi>" in html

    # 3. a restart (same clock) sends nothing more; the CLI sees it sent and refuses a second
    svc = Service(config, log, clock).start()
    try:
        time.sleep(3)
    finally:
        assert svc.stop() == 0
    assert len(sink.messages) == 1
    again = chavder(config, "digest", "send", "--recipient", "desk@example.org", "--now",
                    env=clock)
    assert again.returncode == 0 and "already-sent" in again.stdout, again.stderr
    listed = chavder(config, "digest", "list", env=clock)
    assert re.search(rf"desk@example\.org\s+{period}\s+sent\s+\S+\s+1\b", listed.stdout), \
        listed.stdout
    assert len(sink.messages) == 1
