"""Breaking-story (surge) alerts with a driven clock: below the threshold nothing, at it one
message listing the outlets and times, nothing more for the same surge, a second surge a day
later, restarts in between (the state is the store's); the count condition; validation."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.alerts.rules import load_rules
from crawler.alerts.surge import SurgeSpec, count_surge, outlet_surge
from crawler.models import Article
from crawler.store import SQLiteStore
from crawler.yamlconf import ConfigError
from crawler.alerting import Alerting

UTC = timezone.utc
NAMES = {"wire": "Wire Agency", "mirror": "Mirror Daily", "rudaw": "Rudaw", "anf": "ANF"}
RULES = """\
rules:
  - name: raqqa-breaking
    mode: surge
    surge: {outlets: 3, minutes: 60}
    any: [[الرقة, Raqqa]]
    recipients: [{email: desk@example.org, timezone: Asia/Baghdad}]
  - name: raqqa
    any: [[الرقة, Raqqa]]
    recipients: [other@example.org]
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Outbox:
    def __init__(self):
        self.messages: list = []

    def send(self, msg) -> None:
        self.messages.append(msg)

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]


class World:
    def __init__(self, tmp_path: Path):
        self.db = tmp_path / "chavder.db"
        self.rules = load_rules(tmp_path / "alerts.yaml", text=RULES)
        self.now = at("2030-03-09 10:00")
        self.outbox = Outbox()
        self.n = 0
        self.store = SQLiteStore(self.db)
        self.alerting = self.restart()

    def restart(self) -> Alerting:
        """A new process: the store reopened, a fresh dispatcher. (The driven clock runs ahead
        of the real one: the store stamps queued alerts due at the real time.)"""
        if getattr(self, "alerting", None) is not None:
            self.store.close()
            self.store = SQLiteStore(self.db)
        self.alerting = Alerting(self.store, self.rules, self.outbox,
                                 sender="Chavder <alerts@chavder.test>", source_names=NAMES,
                                 clock=lambda: self.now)
        return self.alerting

    def report(self, source: str, when: str, *, join: int | None = None,
               title: str = "اشتباكات في الرقة") -> int:
        """``source`` carries the story at ``when``; the sweep runs then. Returns story id."""
        self.n += 1
        self.now = at(when)
        url = f"https://{source}.example/{self.n}"
        result = self.store.upsert(Article(
            source=source, url=url, canonical_url=url, title=title,
            body=f"قالت مصادر إن اشتباكات اندلعت في الرقة. الخبر {self.n}.", language="ar",
            published_at=at(when).isoformat(), fetched_at=at(when).isoformat(),
            content_hash=f"h{self.n}"), f"k{self.n}", story_id=join)
        self.alerting.check_pending()
        self.alerting.dispatch_due()
        return result.story_id


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.store.close()


def test_surge_fires_once_at_threshold_and_again_for_the_next_story(world):
    story = world.report("wire", "2030-03-09 10:00")
    world.report("mirror", "2030-03-09 10:20", join=story)
    assert world.outbox.to("desk@example.org") == []           # 2 outlets: below threshold
    assert len(world.outbox.to("other@example.org")) == 1      # the instant rule, as before
    world.restart()
    world.report("rudaw", "2030-03-09 10:45", join=story)       # the third outlet
    (msg,) = world.outbox.to("desk@example.org")
    assert msg["Subject"].startswith("[Chavder] raqqa-breaking: ")
    text = msg.get_body(preferencelist=("plain",)).get_content()
    # every outlet with the time it reported, in the recipient's zone (UTC+3)
    for line in ("Wire Agency (2030-03-09 13:00 +03)", "Mirror Daily (2030-03-09 13:20 +03)",
                 "Rudaw (2030-03-09 13:45 +03)"):
        assert line in text, text
    world.restart()
    world.report("anf", "2030-03-09 10:50", join=story)         # the same surge goes on
    assert len(world.outbox.to("desk@example.org")) == 1

    # a day later a new story surges: one more message
    world.restart()
    second = world.report("anf", "2030-03-10 09:00", title="قصف جديد على الرقة")
    world.report("wire", "2030-03-10 09:10", join=second)
    world.restart()
    world.report("mirror", "2030-03-10 09:30", join=second)
    assert len(world.outbox.to("desk@example.org")) == 2


def test_outlets_spread_over_more_than_the_window_do_not_surge(world):
    story = world.report("wire", "2030-03-09 08:00")
    world.report("mirror", "2030-03-09 09:30", join=story)
    world.report("rudaw", "2030-03-09 11:00", join=story)
    assert world.outbox.to("desk@example.org") == []


def test_outlet_window_and_count_condition():
    t0 = at("2030-03-09 10:00")
    times = [("a", t0), ("b", t0 + timedelta(minutes=30)), ("c", t0 + timedelta(minutes=59))]
    spec = SurgeSpec()
    assert [s for s, _ in outlet_surge(times, spec, t0 + timedelta(minutes=59))] == ["a", "b", "c"]
    assert outlet_surge(times[:2], spec, t0 + timedelta(minutes=59)) is None
    # an old surge seen for the first time much later (a backfill) is not breaking news
    assert outlet_surge(times, spec, t0 + timedelta(hours=5)) is None
    # count: one story an hour for a day, then a burst; factor 3 → the 4th in an hour fires
    count = SurgeSpec(outlets=0, factor=3)
    day = [t0 - timedelta(hours=h) for h in range(2, 26)]
    burst = [t0 + timedelta(minutes=m) for m in (0, 10, 20, 30, 40)]
    fired = [count_surge(day + burst, t, count) for t in burst]
    assert fired == [False, False, False, True, False]


def test_surge_options_are_validated(tmp_path: Path):
    path = tmp_path / "alerts.yaml"
    path.write_text("""\
rules:
  - name: a
    mode: surge
    surge: {outlets: two, minutes: 60, speed: 3}
    any: [الرقة]
    recipients: [desk@example.org]
  - name: b
    surge: {outlets: 3}
    any: [الرقة]
    recipients: [desk@example.org]
""", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules(path)
    text = "\n".join(info.value.problems)
    assert re.search(r"alerts\.yaml:4: rule 'a': surge outlets 'two' must be a positive whole "
                     r"number", text)
    assert re.search(r"alerts\.yaml:4: rule 'a': unknown surge option 'speed'", text)
    assert re.search(r"alerts\.yaml:8: rule 'b': 'surge' options need mode: surge", text)
    (rule,) = load_rules(path, text=RULES.split("  - name: raqqa\n")[0])
    assert rule.surge == SurgeSpec(outlets=3, minutes=60)


def test_count_surge_through_the_dispatcher(tmp_path: Path):
    """One Raqqa story an hour for a day, then a burst: with factor 3 the fourth story within
    an hour alerts, once; the fifth is the same surge."""
    rules = RULES.replace("surge: {outlets: 3, minutes: 60}", "surge: {outlets: 0, factor: 3}")
    world = World(tmp_path)
    world.rules = load_rules(tmp_path / "alerts.yaml", text=rules)
    world.restart()
    try:
        start = at("2030-03-09 10:00")
        for h in range(24):
            world.report("wire", (start + timedelta(hours=h)).isoformat()[:16],
                         title=f"خبر رقم {h} عن الرقة")
        assert world.outbox.to("desk@example.org") == []
        burst = start + timedelta(hours=24, minutes=5)
        for m in (0, 10, 20):
            world.report("mirror", (burst + timedelta(minutes=m)).isoformat()[:16],
                         title=f"تطور {m} في الرقة")
        assert world.outbox.to("desk@example.org") == []   # 3 in the hour: not > 3 × 1 an hour
        world.restart()
        world.report("rudaw", (burst + timedelta(minutes=30)).isoformat()[:16],
                     title="عاجل من الرقة")
        assert len(world.outbox.to("desk@example.org")) == 1
        world.report("anf", (burst + timedelta(minutes=40)).isoformat()[:16],
                     title="مزيد من الرقة")
        assert len(world.outbox.to("desk@example.org")) == 1
    finally:
        world.store.close()
