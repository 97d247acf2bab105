"""kill -9 of the running service (`chavder run`, 1–2 s intervals) at random points while an
outlet keeps publishing matching articles and alerts go to a real SMTP server; restart after
each kill. At the end: every published article stored exactly once, every story alerted to
every recipient, duplicate e-mails only from kills that interrupted a delivery (README,
"Delivery semantics"), and `PRAGMA integrity_check` = ok.

CI: 20 kills; CHAVDER_RELIABILITY_FULL=1: 50.
"""
from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from testsupport.config import feed_source, write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.articles import story_page
from tests.reliability.harness import scaled
from testsupport.processes import ServiceProcess, chavder_env
from testsupport.polling import wait_for
from testsupport.pages import rss_feed
from testsupport.smtp_sink import SMTPSink

RECIPIENTS = ["desk@example.org", "night@example.org"]


class Publisher(threading.Thread):
    """Publishes one new matching article every ``gap`` seconds until stopped."""

    def __init__(self, web: FixtureWeb, gap: float, seed: int):
        super().__init__(daemon=True)
        self.web, self.gap, self.rng = web, gap, random.Random(seed)
        self.items: list[tuple[str, str]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            n = len(self.items)
            title, page = story_page(n, self.rng)
            path = f"/news/{n}.html"
            self.web.publish("desk", path, page)
            self.items.append((title, path))
            self.web.publish("desk", "/feed.xml", rss_feed("desk", self.items[::-1]))
            self.halt.wait(self.gap)


def ledger(db: Path, sql: str) -> list[tuple]:
    """Read the store as an outside observer (read-only), e.g. right after a kill."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:   # killed before the schema existed
        return []
    finally:
        con.close()


def test_kill9_at_random_points_loses_and_duplicates_nothing(tmp_path: Path):
    kills = scaled(20, 50)
    rng = random.Random(20170601)
    root = tmp_path / "web"
    (root / "desk").mkdir(parents=True)
    (root / "desk" / "feed.xml").write_text(rss_feed("desk", []), "utf-8")
    data = tmp_path / "data"
    db = data / "chavder.db"
    with FixtureWeb(root) as web, SMTPSink() as sink:
        sources = tmp_path / "sources.yaml"
        sources.write_text(web.substitute(feed_source(interval="1s")), encoding="utf-8")
        alerts = tmp_path / "alerts.yaml"
        alerts.write_text("rules:\n  - name: raqqa\n    any: [الرقة]\n    recipients: ["
                          + ", ".join(RECIPIENTS) + "]\n", encoding="utf-8")
        config = write_config(tmp_path, store=f"sqlite:///{db}", sources=sources, alerts=alerts,
                              health_port=-1, alert_dispatch_seconds=1, alert_retry_seconds=0.5,
                              smtp_port=sink.port)
        log = tmp_path / "service.log"
        env = chavder_env(config)
        publisher = Publisher(web, gap=0.7, seed=7)
        publisher.start()
        interrupted: set[tuple[int, int]] = set()   # (ledger id, attempt) cut mid-delivery
        phases = Counter()
        try:
            for k in range(kills):
                svc = ServiceProcess(config, log, env).start()
                if k % 5 == 4:               # every fifth kill lands during start-up
                    time.sleep(rng.uniform(0.2, 1.5))  # a random kill time, not a wait
                else:
                    assert wait_for(svc.started, 60), svc.text()[-3000:]
                    wait_for(lambda: not svc.alive(), rng.uniform(0.1, 2.5))
                assert svc.alive(), f"the service died on its own:\n{svc.text()[-3000:]}"
                phases["running" if svc.started() else "start-up"] += 1
                svc.kill9()
                interrupted |= set(ledger(db, "SELECT id, attempts FROM alert_ledger "
                                              "WHERE state='sending'"))
        finally:
            publisher.halt.set()
            publisher.join()
        published = {path for _title, path in publisher.items}
        expected_alerts = len(published) * len(RECIPIENTS)

        # a last, undisturbed run must catch up with everything, then stop cleanly
        svc = ServiceProcess(config, log, env).start()
        try:
            done = wait_for(lambda: ledger(db, "SELECT COUNT(*) FROM alert_ledger WHERE "
                                               "state='sent'") == [(expected_alerts,)]
                            and len({m.message["Message-ID"] for m in sink.messages})
                            >= expected_alerts, 120, step=0.2)
            assert done, (ledger(db, "SELECT state, COUNT(*) FROM alert_ledger GROUP BY 1"),
                          len(published), svc.text()[-3000:])
        finally:
            assert svc.stop() == 0, svc.text()[-3000:]

        rows = ledger(db, "SELECT url, story_id FROM articles")
        per_url = Counter(urlsplit(url).path for url, _ in rows)
        stored = set(per_url)
        messages = list(sink.messages)
    per_message = Counter(m.message["Message-ID"] for m in messages)
    duplicates = sum(n - 1 for n in per_message.values())
    per_story = Counter((tuple(m.rcpt_tos), m.subject) for m in messages)
    integrity = ledger(db, "PRAGMA integrity_check")
    print(f"\ncrash test: {kills} kill -9 ({dict(phases)}), {len(published)} articles published, "
          f"{len(rows)} stored, {len(messages)} alert e-mails for {expected_alerts} expected, "
          f"{duplicates} duplicates, {len(interrupted)} deliveries interrupted by a kill, "
          f"integrity {integrity}")

    assert stored == published, f"lost: {sorted(published - stored)}, extra: " \
                                f"{sorted(stored - published)}"
    assert max(per_url.values()) == 1, "an article was stored twice"
    assert len({story for _url, story in rows}) == len(published), "distinct stories merged"
    assert len(per_message) == expected_alerts, "an alert was lost"
    assert len(per_story) == expected_alerts
    assert all(m.rcpt_tos[0] in RECIPIENTS and len(m.rcpt_tos) == 1 for m in messages)
    assert duplicates <= len(interrupted), (
        f"{duplicates} duplicate e-mails but only {len(interrupted)} kills landed between "
        "'sending' and 'sent'")
    assert integrity == [("ok",)]
