"""The background service (`chavder run`) as a real subprocess with intervals of seconds.

A story published mid-run reaches the SMTP server as one alert; SIGTERM exits cleanly in time; a
restart neither re-polls at once nor duplicates or loses alerts; /healthz, /metrics and
`chavder status` report what a user needs.
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.config import SourceConfig
from testsupport.config import feed_source, write_config
from testsupport.fixtureweb import FixtureWeb
from scheduler.service import classify_reason, first_run_times
from testsupport.pages import article_page, rss_feed
from testsupport.polling import wait_for
from testsupport.processes import ServiceProcess
from testsupport.smtp_sink import SMTPSink

PARAS = [
    "أفادت مصادر محلية بأن خلايا تابعة لتنظيم داعش هاجمت نقطة عسكرية في ريف الرقة الشرقي "
    "فجر اليوم، ما أدى إلى اندلاع اشتباكات استمرت أكثر من ساعتين.",
    "وقالت المصادر إن التعزيزات وصلت إلى المنطقة بعد الهجوم، وإن حركة المرور على الطريق "
    "الرئيسي توقفت بشكل كامل حتى ساعات الظهيرة.",
]


KMR_PARAS = [
    "Çavkaniyên herêmî ragihandin ku şaneyên DAIŞê îro serê sibê êrîşî xaleke leşkerî ya li "
    "gundewarê rojhilatê Reqayê kirin û pevçûn zêdetirî du saetan dom kir.",
    "Li gorî çavkaniyan piştî êrîşê hêzên alîkar gihîştin herêmê û hatin û çûna li ser rêya "
    "sereke heta nîvro bi temamî rawestiya.",
]



class ServiceProc(ServiceProcess):
    """`chavder run`, started once it says so; ``stop()`` also says how long shutdown took."""

    def __init__(self, config: Path, log: Path):
        super().__init__(config, log, wait_started=30)

    def stop(self, timeout: float = 30) -> tuple[int, float]:  # type: ignore[override]
        began = time.monotonic()
        code = super().stop(timeout)
        return code, time.monotonic() - began


@pytest.fixture
def setup(tmp_path):
    root = tmp_path / "web"
    (root / "desk").mkdir(parents=True)
    (root / "desk" / "feed.xml").write_text(rss_feed("desk", []), "utf-8")
    web = FixtureWeb(root).start()
    sink = SMTPSink().start()
    sources = tmp_path / "sources.yaml"
    sources.write_text(web.substitute(feed_source(interval="2s")), encoding="utf-8")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text("rules:\n  - name: raqqa\n    any: [[الرقة, Reqa]]\n"
                      "    recipients: [desk@example.org]\n", encoding="utf-8")
    config = write_config(tmp_path, sources=sources, alerts=alerts, health_port=0,
                          alert_dispatch_seconds=1, alert_retry_seconds=0.5, smtp_port=sink.port)
    yield web, sink, config, tmp_path
    sink.stop()
    web.stop()


def publish(web: FixtureWeb, items: list[tuple[str, str]]) -> None:
    for title, path in items:
        kmr = title.startswith("Reqa")
        web.publish("desk", path, article_page(title, KMR_PARAS if kmr else PARAS,
                                               "Parve bike" if kmr else "111 0 شاركها",
                                               "2017-06-01T10:00:00+03:00",
                                               lang="kmr" if kmr else "ar"))
    web.publish("desk", "/feed.xml", rss_feed("desk", items))


def test_alert_mid_run_shutdown_restart_and_health(setup):
    web, sink, config, tmp = setup
    svc = ServiceProc(config, tmp / "service.log").start()
    try:
        assert wait_for(lambda: web.request_count("desk", "/feed.xml") >= 1, 15)
        published = time.monotonic()
        publish(web, [("هجوم لداعش في ريف الرقة الشرقي", "/a1.html")])
        assert wait_for(lambda: len(sink.messages) >= 1, 20), svc.text()
        latency = time.monotonic() - published
        assert latency < 2 + 10, f"publication → alert took {latency:.1f} s"
        assert sink.messages[0].rcpt_tos == ["desk@example.org"]
        assert "الرقة" in sink.messages[0].subject

        health = json.loads(urllib.request.urlopen(svc.health_url() + "/healthz").read())
        assert health["status"] == "ok" and health["sources"] == 1
        metrics = urllib.request.urlopen(svc.health_url() + "/metrics").read().decode()
        assert 'chavder_articles_stored{language="ar",source="desk"} 1.0' in metrics
        assert 'chavder_alerts{state="sent"} 1.0' in metrics
        assert "chavder_last_crawl_timestamp_seconds" in metrics
    finally:
        code, took = svc.stop()
    assert code == 0 and took < 10, (code, took)
    assert "stopped (clean)" in svc.text()

    # published while the service is down: delivered after the restart, exactly once
    publish(web, [("هجوم لداعش في ريف الرقة الشرقي", "/a1.html"),
                  ("Reqa: êrîşa nû li gundewarê Reqayê", "/a2.html")])
    web.clear_log()
    svc = ServiceProc(config, tmp / "service.log").start()
    try:
        assert wait_for(lambda: len(sink.messages) >= 2, 25), svc.text()
        time.sleep(3)  # a few more cycles: nothing more may arrive
        assert len(sink.messages) == 2
    finally:
        code, took = svc.stop()
    assert code == 0 and took < 10

    env = {**os.environ, "CHAVDER_CONFIG": str(config)}
    status = subprocess.run([sys.executable, "-m", "crawler.cli", "status"], cwd=tmp, env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith("desk"))
    assert re.search(r"desk\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-\d\d-\d\d", line), line
    assert "alerts: sent=2" in status.stdout
    from crawler.store import open_store
    store = open_store(f"sqlite:///{tmp / 'data' / 'chavder.db'}")
    try:
        assert store.integrity_check() == "ok"
        assert store.count_articles() == 2
    finally:
        store.close()


def test_restart_does_not_repoll_every_source_at_once():
    now = datetime(2026, 11, 25, 7, 0, tzinfo=timezone.utc)
    sources = [SourceConfig(id=f"s{i}", name="x", kind="feed", start_urls=["https://x.org/"],
                            interval=900) for i in range(20)]
    state = {"s0": {"next_run": (now + timedelta(minutes=10)).isoformat()},
             "s1": {"next_run": (now - timedelta(hours=3)).isoformat()}}
    firsts = first_run_times(sources, state, now, random.Random(1))
    assert firsts["s0"] == now + timedelta(minutes=10), "a source not yet due keeps its time"
    overdue = [firsts[f"s{i}"] for i in range(1, 20)]
    assert all(now <= t <= now + timedelta(seconds=60) for t in overdue)
    assert len({t for t in overdue}) == 19, "overdue sources are spread, not fired together"


@pytest.mark.parametrize("reason, label", [
    ("HTTP 404", "http_4xx"), ("HTTP 503", "http_5xx"),
    ("timed out (no complete answer within the download timeout)", "timeout"),
    ("refused: redirect to private address 169.254.169.254 (…)", "private_address"),
    ("not stored (no-article-text): …", "not_an_article"), ("weird", "other")])
def test_metric_reason_labels_are_bounded(reason, label):
    assert classify_reason(reason) == label
