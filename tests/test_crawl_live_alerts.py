"""``chavder crawl`` while one source waits on a slow page (issue 16), driven as a user runs it:

* the instant alert of another source's article reaches the SMTP server (aiosmtpd) while the
  slow page is still being served — not when the whole batch is done;
* progress lines stop repeating the source that is finished, and keep showing the one waiting;
* the alert mail shows the article's Arabic URL decoded (text and HTML), the link itself still
  works, and the log lines show it decoded too.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from urllib.parse import quote

import pytest

from testsupport.articles import RAQQA_REPORT
from testsupport.config import write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.pages import article_page, rss_feed
from testsupport.processes import chavder_env
from testsupport.smtp_sink import SMTPSink

SLOW_SECONDS = 6.0
SLUG = "/2017/06/هجوم-داعش-الرقة.html"


@pytest.fixture
def web(tmp_path):
    root = tmp_path / "web"
    for site in ("quick", "slow"):
        (root / site).mkdir(parents=True)
    quick, slow = root / "quick", root / "slow"
    (quick / SLUG.lstrip("/")).parent.mkdir(parents=True)
    (quick / SLUG.lstrip("/")).write_text(article_page(
        "اشتباكات عنيفة مع خلايا داعش في ريف الرقة", RAQQA_REPORT, "شاركها",
        "2017-06-01T10:00:00+03:00"), "utf-8")
    (quick / "feed.xml").write_text(rss_feed("quick", [("الرقة", SLUG)]), "utf-8")
    (slow / "calm.html").write_text(article_page(
        "Weather in Erbil", ["A calm and sunny week is expected in Erbil and Duhok, with "
                             "mild winds and no rain until the weekend."] * 3, "Share",
        "2017-06-01T09:00:00+03:00", lang="en"), "utf-8")
    (slow / "slow.html").write_text(article_page(
        "Traffic in Duhok", ["Road works slow down traffic on the main road of Duhok this "
                             "week, the city council said on Thursday."] * 3, "Share",
        "2017-06-01T08:00:00+03:00", lang="en"), "utf-8")
    (slow / "_routes.yaml").write_text(f"/slow.html: {{sleep: {SLOW_SECONDS}}}\n", "utf-8")
    (slow / "feed.xml").write_text(rss_feed("slow", [("calm", "/calm.html"),
                                                     ("slow", "/slow.html")]), "utf-8")
    with FixtureWeb(root) as served:
        yield served


def test_alert_goes_out_while_another_source_waits_on_a_slow_page(tmp_path, web):
    sources = tmp_path / "sources.yaml"
    sources.write_text(web.substitute(textwrap.dedent("""\
        defaults: {allow_private: true, allowed_domains: [127.0.0.1], timezone: Asia/Damascus}
        sources:
          - {id: quick, name: Quick Wire, kind: feed, start_urls: ["http://quick.fixture/feed.xml"]}
          - {id: slow, name: Slow Daily, kind: feed, start_urls: ["http://slow.fixture/feed.xml"]}
        """)), "utf-8")
    (tmp_path / "alerts.yaml").write_text(textwrap.dedent("""\
        rules:
          - name: raqqa
            any: [[الرقة, Raqqa]]
            recipients: [desk@example.org, editor@example.org]
        """), "utf-8")
    (tmp_path / "data").mkdir()
    with SMTPSink() as sink:
        config = write_config(tmp_path, sources=sources, alerts=tmp_path / "alerts.yaml",
                              download_timeout=30, smtp_port=sink.port,
                              mail={"sender": "Chavder <alerts@chavder.test>"})
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--json",
                                 "--progress-interval", "0.5"], cwd=tmp_path,
                                env=chavder_env(config), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            while len(sink.messages) < 2 and time.monotonic() - started < SLOW_SECONDS * 3:
                assert proc.poll() is None or len(sink.messages) >= 2, proc.communicate()
                time.sleep(0.05)
            arrived = time.monotonic() - started
            slow_answered = web.request_count("slow", "/slow.html")
            still_crawling = proc.poll() is None
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err[-3000:]
    # the two alerts (one per recipient) came while the slow page was still being served
    assert sorted(m.rcpt_tos[0] for m in sink.messages) == ["desk@example.org",
                                                            "editor@example.org"]
    assert slow_answered == 0 and still_crawling, (arrived, err[-2000:])
    summary = json.loads(out)
    assert summary["alerts"] == {"sent": 2, "retrying": 0, "failed": 0}   # counted once each
    assert summary["sources"]["slow"]["new"] == 2 and summary["sources"]["quick"]["new"] == 1

    # progress: the finished source is not repeated; the waiting one is shown with its request
    progress = [line for line in err.splitlines() if "progress source=" in line]
    quick = [line.split("progress ", 1)[1] for line in progress if "source=quick " in line]
    slow = [line for line in progress if "source=slow " in line]
    done = [line for line in quick if "in_flight" not in line]
    assert len(done) <= 1 and quick[-1:] == done, progress   # once done, one last line
    assert sum("in_flight=1" in line for line in slow) >= 4, progress
    assert len(quick) < len(slow) / 2, progress

    # the mail and the log show the Arabic path decoded; the link itself still works
    msg = sink.messages[0]
    text, html = msg.body("plain"), msg.body("html")
    assert SLUG in text and "%D8" not in text, text
    shown = re.search(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', html.split("Link:", 1)[1])
    assert shown and shown.group(2).endswith(SLUG), html
    assert shown.group(1).endswith(quote(SLUG)), "the href stays the encoded, working URL"
    queued = [line for line in err.splitlines() if "alert queued" in line]
    assert queued and SLUG in queued[0] and "%D8" not in queued[0], queued
    sent = [line for line in err.splitlines() if "alert sent" in line]
    assert any("→ desk@example.org:" in line for line in sent), sent
    assert not any("['" in line or "('" in line for line in err.splitlines()
                   if "@example.org" in line), err
