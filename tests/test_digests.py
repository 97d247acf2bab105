"""Daily digests with an injected clock: periods in the recipient's zone (with and without DST),
due at the right local time, sent exactly once (also across restarts and processes), caught up
after downtime within the grace period and recorded as missed past it, empty periods skipped or
answered "nothing new", retries and failures, hostile titles escaped, RTL markup, the CLI.
"""
from __future__ import annotations

import logging
import textwrap
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from crawler.alerts.rules import load_rules
from crawler.models import Article
from crawler.store import SQLiteStore
from crawler.digests import (Digests, digest_instant, latest_period, next_period, period_for,
                              recent_periods)
from crawler.mail.transport import TransportError
from testsupport.config import write_config

UTC = timezone.utc
SENDER = "Chavder <digest@chavder.test>"
NAMES = {"wire": "Wire Agency", "mirror": "Mirror Daily", "rudaw": "Rudaw Sorani",
         "anf": "ANF Kurmanji"}
HOSTILE_TITLE = "<script>alert(1)</script> هجوم في الرقة\r\nBcc: victim@example.org"


def at(text: str) -> datetime:
    """An aware UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Clock:
    def __init__(self, now: str):
        self.now = at(now)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: str) -> None:
        self.now = at(now)


class Outbox:
    """A transport that keeps messages; ``fail`` makes the next sends raise."""

    def __init__(self):
        self.messages: list = []
        self.fail: TransportError | None = None

    def send(self, msg) -> None:
        if self.fail is not None:
            raise self.fail
        self.messages.append(msg)

    def texts(self) -> list[str]:
        return [m.get_body(preferencelist=("plain",)).get_content() for m in self.messages]


RULES = """\
rules:
  - name: raqqa
    any: [[الرقة, ڕەققە, Reqa]]
    mode: digest
    recipients:
      - {email: desk@example.org, timezone: Asia/Baghdad, digest_time: "07:00"}
      - {email: berlin@example.org, timezone: Europe/Berlin, digest_time: "07:00"}
  - name: isis
    any: [داعش, DAIŞ]
    mode: both
    recipients: [{email: desk@example.org, timezone: Asia/Baghdad, digest_time: "07:00"}]
  - name: instant-only
    any: [Kobani]
    recipients: [desk@example.org]
"""


class World:
    """A store, rules and a digest service over an injected clock."""

    def __init__(self, tmp_path: Path, now: str, *, rules: str = RULES, db: Path | None = None,
                 **kw):
        self.tmp = tmp_path
        self.store = SQLiteStore(db or tmp_path / "chavder.db")
        self.rules = load_rules(tmp_path / "alerts.yaml", text=rules)
        self.clock = Clock(now)
        self.outbox = Outbox()
        self.kw = kw
        self.digests = self.restart()
        self._n = 0

    def restart(self) -> Digests:
        """A new Digests on the same store: what a service restart does."""
        self.digests = Digests(self.store, self.rules, self.outbox, sender=SENDER,
                               source_names=NAMES, clock=self.clock, **self.kw)
        return self.digests

    def story(self, title: str, *, rules: list[str], recipients: list[str], matched: str,
              source: str = "wire", language: str = "ar", published: str | None = None,
              body: str | None = None, url: str | None = None, join: int | None = None) -> int:
        """Store an article and its digest items as the alert sweep would, matched at
        ``matched`` (UTC 'YYYY-MM-DD HH:MM'). Returns the story id."""
        self._n += 1
        url = url or f"https://{source}.example/{self._n}"
        body = body or f"الفقرة الأولى من الخبر رقم {self._n} عن الرقة.\n\nالفقرة الثانية."
        result = self.store.upsert(Article(
            source=source, url=url, canonical_url=url, title=title, body=body,
            published_at=published or at(matched).isoformat(), language=language,
            fetched_at=at(matched).isoformat(), content_hash=f"h{self._n}"), f"k{self._n}",
            story_id=join)
        self.store.record_matches(result.article_id, result.revision, result.story_id, [],
                                  [(r, rec, ["الرقة"]) for r in rules for rec in recipients])
        self.store._db.execute("UPDATE digest_items SET matched_at=? WHERE article_id=?",
                               (at(matched).isoformat(), result.article_id))
        return result.story_id

    def run(self, now: str | None = None):
        if now:
            self.clock.set(now)
        return self.digests.run_due()

    def ledger(self, recipient: str = "desk@example.org") -> list[dict]:
        return sorted(self.store.digest_rows(recipient), key=lambda r: r["period_key"])

    def sent_to(self, address: str) -> list:
        return [m for m in self.outbox.messages if m["To"].addresses[0].addr_spec == address]


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path, "2024-03-09 12:00")
    yield w
    w.store.close()


# ---------------------------------------------------------------------------- periods

def test_periods_in_a_zone_without_dst():
    p = period_for(date(2024, 3, 10), "07:00", "Asia/Baghdad")
    assert (p.key, p.start, p.end) == ("2024-03-10", at("2024-03-09 04:00"), at("2024-03-10 04:00"))
    assert latest_period(at("2024-03-10 03:59"), "07:00", "Asia/Baghdad").key == "2024-03-09"
    assert latest_period(at("2024-03-10 04:00"), "07:00", "Asia/Baghdad").key == "2024-03-10"
    assert next_period(at("2024-03-10 04:00"), "07:00", "Asia/Baghdad").key == "2024-03-11"
    # a digest time late in the local day: the local date, not the UTC date, is the key
    assert latest_period(at("2024-03-10 20:30"), "23:15", "Asia/Baghdad").key == "2024-03-10"
    assert latest_period(at("2024-03-10 20:00"), "23:15", "Asia/Baghdad").key == "2024-03-09"
    keys = [p.key for p in recent_periods(at("2024-03-10 05:00"), "07:00", "Asia/Baghdad", 3)]
    assert keys == ["2024-03-08", "2024-03-09", "2024-03-10"]


def test_periods_across_dst_changes():
    tz = "Europe/Berlin"
    spring = period_for(date(2024, 3, 31), "07:00", tz)          # CET → CEST: a 23 h day
    assert (spring.start, spring.end) == (at("2024-03-30 06:00"), at("2024-03-31 05:00"))
    autumn = period_for(date(2024, 10, 27), "07:00", tz)         # CEST → CET: a 25 h day
    assert autumn.end - autumn.start == timedelta(hours=25)
    # 02:30 does not exist on 31 March (the offset before the change applies) and happens twice
    # on 27 October (the first one): one well-defined instant each, one digest per local day
    assert digest_instant(date(2024, 3, 31), "02:30", tz) == at("2024-03-31 01:30")
    assert digest_instant(date(2024, 10, 27), "02:30", tz) == at("2024-10-27 00:30")
    ends = [p.end for p in recent_periods(at("2024-04-02 12:00"), "02:30", tz, 5)]
    assert ends == sorted(ends) and len(set(ends)) == 5


# ---------------------------------------------------------------------------- scheduling

def test_due_at_the_local_time_sent_once_and_never_again(world):
    world.story("هجوم لداعش في الرقة", rules=["raqqa", "isis"], recipients=["desk@example.org"],
                matched="2024-03-09 10:00")
    world.story("ڕەققە: هێرشێکی نوێ", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 18:00", source="rudaw", language="ckb")
    assert world.run("2024-03-10 03:59").sent == 0          # 06:59 in Baghdad
    assert world.outbox.messages == [] and world.ledger() == []
    report = world.run("2024-03-10 04:00")                  # 07:00 in Baghdad
    assert report.sent == 1
    [msg] = world.sent_to("desk@example.org")
    assert msg["Subject"].startswith("[Chavder] Digest 2024-03-10: 2 stories")
    [row] = world.ledger()
    assert (row["period_key"], row["state"], row["items"], row["stories"]) == \
        ("2024-03-10", "sent", 3, 2)
    assert row["sent_at"] == "2024-03-10T04:00:00+00:00"

    # checked again and again, and after a restart: nothing more
    for now in ("2024-03-10 04:01", "2024-03-10 09:00", "2024-03-11 03:59"):
        assert world.run(now).sent == 0
    world.restart()
    assert world.run("2024-03-10 05:00").sent == 0
    assert len(world.sent_to("desk@example.org")) == 1

    # the next day: only what matched since
    world.story("Reqa: êrîşa nû", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-10 12:00", source="anf", language="kmr")
    assert world.run("2024-03-11 04:00").sent == 1
    second = world.sent_to("desk@example.org")[1]
    text = second.get_body(preferencelist=("plain",)).get_content()
    assert "Reqa: êrîşa nû" in text and "هجوم لداعش" not in text
    assert [r["state"] for r in world.ledger()] == ["sent", "sent"]


def test_each_recipient_at_their_own_local_time_with_dst(world):
    for day in ("2024-03-29", "2024-03-30"):
        world.story(f"الرقة {day}", rules=["raqqa"], matched=f"{day} 12:00",
                    recipients=["desk@example.org", "berlin@example.org"])
    # 30 March, CET (UTC+1): Berlin's 07:00 is 06:00 UTC; Baghdad's (UTC+3) is 04:00 UTC
    world.run("2024-03-30 04:00")
    assert len(world.sent_to("desk@example.org")) == 1 and world.sent_to("berlin@example.org") == []
    world.run("2024-03-30 05:59")
    assert world.sent_to("berlin@example.org") == []
    world.run("2024-03-30 06:00")
    assert len(world.sent_to("berlin@example.org")) == 1
    # 31 March, CEST (UTC+2) from 01:00 UTC: Berlin's 07:00 is now 05:00 UTC
    world.run("2024-03-31 04:59")
    assert len(world.sent_to("berlin@example.org")) == 1
    world.run("2024-03-31 05:00")
    assert len(world.sent_to("berlin@example.org")) == 2
    rows = world.ledger("berlin@example.org")
    assert [(r["period_key"], r["period_start"], r["period_end"]) for r in rows][-1] == \
        ("2024-03-31", "2024-03-30T06:00:00+00:00", "2024-03-31T05:00:00+00:00")
    text = world.sent_to("berlin@example.org")[1].get_body(("plain",)).get_content()
    assert "الرقة 2024-03-30" in text and "الرقة 2024-03-29" not in text
    assert "(Europe/Berlin)" in text


def test_caught_up_after_downtime_within_grace(world, caplog):
    world.run("2024-03-09 04:00")                            # history: the 9th, empty, skipped
    assert [r["state"] for r in world.ledger()] == ["skipped"]
    world.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
    # down from 2024-03-10 01:00 to 09:30 UTC: the 04:00 digest is 5.5 h late, grace is 6 h
    world.restart()
    with caplog.at_level(logging.INFO, logger="chavder.digests"):
        assert world.run("2024-03-10 09:30").sent == 1
    assert "5.5 h late" in caplog.text
    assert [r["state"] for r in world.ledger()] == ["skipped", "sent"]


def test_past_grace_is_not_sent_but_logged_and_carried_over(world, caplog):
    world.run("2024-03-09 04:00")
    world.story("الرقة يوم العاشر", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
    world.restart()
    with caplog.at_level(logging.WARNING, logger="chavder.digests"):
        report = world.run("2024-03-10 10:30")               # 6.5 h after 07:00 Baghdad
    assert report.sent == 0 and report.missed == 1
    assert world.outbox.messages == []
    assert "2024-03-10" in caplog.text and "missed" in caplog.text and "grace" in caplog.text
    assert [r["state"] for r in world.ledger()] == ["skipped", "missed"]
    assert world.run("2024-03-10 10:31").missed == 0         # logged once, not every check
    # its story is not lost: it is in the next digest
    world.story("الرقة يوم الحادي عشر", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-10 20:00")
    assert world.run("2024-03-11 04:00").sent == 1
    text = world.outbox.texts()[0]
    assert "الرقة يوم العاشر" in text and "الرقة يوم الحادي عشر" in text


def test_long_downtime_records_each_missed_period_and_a_new_recipient_waits(world):
    world.run("2024-03-09 04:00")
    world.restart()
    report = world.run("2024-03-12 05:00")                   # down for three days
    assert report.missed == 2 and report.skipped == 1        # 10th, 11th missed; 12th in grace
    assert [(r["period_key"], r["state"]) for r in world.ledger()] == [
        ("2024-03-09", "skipped"), ("2024-03-10", "missed"), ("2024-03-11", "missed"),
        ("2024-03-12", "skipped")]
    # a recipient with no history at all, first seen long after its digest time: no "missed"
    # rows for the time before it existed; its first digest is the next one
    assert world.ledger("berlin@example.org") == []


def test_grace_longer_than_a_day_sends_each_period_in_order(tmp_path):
    w = World(tmp_path, "2024-03-08 04:00", grace_hours=48)
    try:
        w.run()
        w.story("الرقة أولاً", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-08 12:00")
        w.story("الرقة ثانياً", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 12:00")
        w.restart()
        assert w.run("2024-03-10 05:00").sent == 2
        first, second = w.outbox.texts()
        assert "الرقة أولاً" in first and "الرقة ثانياً" not in first
        assert "الرقة ثانياً" in second
        assert [r["period_key"] for r in w.ledger()] == ["2024-03-08", "2024-03-09",
                                                          "2024-03-10"]
    finally:
        w.store.close()


def test_empty_period_skip_policy(world):
    assert world.run("2024-03-10 04:00").skipped == 1
    assert world.outbox.messages == []
    assert [r["state"] for r in world.ledger()] == ["skipped"]
    assert world.run("2024-03-10 04:05").skipped == 0


def test_empty_period_nothing_new_policy(tmp_path):
    w = World(tmp_path, "2024-03-10 04:00", empty_policy="nothing-new")
    try:
        w.run()
        [msg] = w.sent_to("desk@example.org")
        assert msg["Subject"] == "[Chavder] Digest 2024-03-10: nothing new"
        assert "Nothing new matched" in msg.get_body(("plain",)).get_content()
        assert "Nothing new matched" in msg.get_body(("html",)).get_content()
        assert [r["state"] for r in w.ledger()] == ["sent"]
        w.run("2024-03-10 05:00")
        assert len(w.sent_to("desk@example.org")) == 1
    finally:
        w.store.close()


def test_bad_empty_policy_is_refused(tmp_path):
    store = SQLiteStore(tmp_path / "x.db")
    try:
        with pytest.raises(ValueError, match="digest_empty_policy"):
            Digests(store, [], Outbox(), sender=SENDER, empty_policy="silent")
    finally:
        store.close()


# ---------------------------------------------------------------------------- delivery

def test_temporary_failure_retries_with_the_same_message_id(world):
    world.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
    world.outbox.fail = TransportError(True, "451 try later")
    assert world.run("2024-03-10 04:00").retrying >= 1
    [row] = world.ledger()
    assert row["state"] == "pending" and row["attempts"] == 1 and "451" in row["last_error"]
    first_id = row["message_id"]
    world.outbox.fail = None
    assert world.run("2024-03-10 04:00:10").sent == 0        # backoff (30 s) not over
    assert world.run("2024-03-10 04:00:31").sent == 1
    [row] = world.ledger()
    assert row["state"] == "sent" and row["attempts"] == 2
    assert world.outbox.messages[0]["Message-ID"] == first_id


def test_permanent_failure_releases_the_stories_to_the_next_digest(world):
    world.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
    world.outbox.fail = TransportError(False, "550 no such user")
    assert world.run("2024-03-10 04:00").failed == 1
    [row] = world.ledger()
    assert row["state"] == "failed" and row["items"] == 0 and "550" in row["last_error"]
    world.outbox.fail = None
    world.run("2024-03-11 04:00")
    assert "الرقة" in world.outbox.texts()[0]


def test_crash_while_sending_resends_the_same_message_once(world):
    world.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
    world.store.open_digest("desk@example.org", "2024-03-10", "2024-03-09T04:00:00+00:00",
                            "2024-03-10T04:00:00+00:00", ["raqqa", "isis"],
                            "2024-03-10T04:00:00+00:00", skip_if_empty=True)
    [row] = world.ledger()
    # killed after claiming the row, before marking it sent: the lease blocks a second sender
    assert world.store.claim_digest_delivery(row["id"], "2024-03-10T04:00:00+00:00",
                                             "2024-03-10T04:02:00+00:00", "<x@y>") == 1
    world.restart()
    assert world.run("2024-03-10 04:01").sent == 0
    assert world.run("2024-03-10 04:02").sent == 1           # lease expired: resent, once
    assert world.run("2024-03-10 04:10").sent == 0
    [row] = world.ledger()
    assert row["state"] == "sent" and row["attempts"] == 2


def test_two_processes_send_one_digest(tmp_path):
    a = World(tmp_path, "2024-03-10 04:00")
    try:
        a.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
        other = SQLiteStore(tmp_path / "chavder.db")         # e.g. `chavder digest send`
        b = Digests(other, a.rules, a.outbox, sender=SENDER, clock=a.clock)
        a.run()
        b.run_due()
        assert b.send_now("desk@example.org").state == "already-sent"
        assert len(a.sent_to("desk@example.org")) == 1
        other.close()
    finally:
        a.store.close()


def test_removed_recipient_is_failed_not_retried_forever(world):
    world.story("الرقة", rules=["raqqa"], recipients=["gone@example.org"],
                matched="2024-03-09 20:00")
    world.store.open_digest("gone@example.org", "2024-03-10", "2024-03-09T04:00:00+00:00",
                            "2024-03-10T04:00:00+00:00", ["raqqa"],
                            "2024-03-10T04:00:00+00:00", skip_if_empty=True)
    world.run("2024-03-10 04:00")
    [row] = world.ledger("gone@example.org")
    assert row["state"] == "failed" and "no longer" in row["last_error"]


# ---------------------------------------------------------------------------- content

def test_grouped_by_rule_ordered_with_also_reported_by(world):
    old = world.story("داعش في الرقة صباحاً", rules=["raqqa", "isis"],
                      recipients=["desk@example.org"], matched="2024-03-09 06:00",
                      published="2024-03-09T09:00:00+03:00")
    world.story("عاجل: داعش في الرقة صباحاً", rules=[], recipients=[], source="mirror",
                matched="2024-03-09 07:00", join=old)
    world.story("الرقة مساءً", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 16:00", published="2024-03-09T19:00:00+03:00")
    world.run("2024-03-10 04:00")
    [msg] = world.outbox.messages
    text = msg.get_body(("plain",)).get_content()
    raqqa, isis = text.index('Rule "raqqa": 2 stories'), text.index('Rule "isis": 1 story')
    assert raqqa < isis                                      # alerts.yaml order
    assert raqqa < text.index("الرقة مساءً") < text.index("داعش في الرقة صباحاً") < isis
    assert "Also reported by: Mirror Daily" in text and "2 outlets" in text
    assert "Wire Agency · 2024-03-09 09:00 (UTC+03:00)" in text
    assert "https://wire.example/1" in text
    assert "الفقرة الأولى من الخبر رقم 1 عن الرقة. الفقرة الثانية." in text   # first lines
    html = msg.get_body(("html",)).get_content()
    assert "<bdi>Mirror Daily</bdi>" in html
    assert msg["To"].addresses[0].addr_spec == "desk@example.org"
    assert msg["From"].addresses[0].addr_spec == "digest@chavder.test"


def test_hostile_titles_are_escaped_and_cannot_inject_headers(world):
    world.story(HOSTILE_TITLE, rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00", body="<img src=x onerror=alert(1)> الرقة",
                url="javascript:alert(1)")
    world.run("2024-03-10 04:00")
    [msg] = world.outbox.messages
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    subject = str(parsed["Subject"])
    assert "\r" not in subject and "\n" not in subject and "<script>" in subject
    assert parsed["Bcc"] is None and "victim" not in str(parsed["To"])
    for name, value in parsed.items():
        assert "\n" not in str(value) and "\r" not in str(value), name
    html = parsed.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html and "(no web link)" in html   # never a link


def test_rtl_markup_per_article(world):
    for title, lang, source in (("الرقة بالعربية", "ar", "wire"),
                                ("ڕەققە بە سۆرانی", "ckb", "rudaw"),
                                ("الرقة به فارسی", "fa", "wire"),
                                ("Reqa bi kurmancî", "kmr", "anf")):
        world.story(title, rules=["raqqa"], recipients=["desk@example.org"], source=source,
                    matched="2024-03-09 20:00", language=lang)
    world.run("2024-03-10 04:00")
    html = world.outbox.messages[0].get_body(("html",)).get_content()
    for lang, direction in (("ar", "rtl"), ("ckb", "rtl"), ("fa", "rtl"), ("kmr", "ltr")):
        assert f'lang="{lang}" dir="{direction}"' in html
    assert '<html lang="en">' in html                        # the chrome stays LTR


def test_matches_through_the_alert_sweep_and_instant_only_rules_stay_out(tmp_path):
    from crawler.alerting import Alerting
    w = World(tmp_path, "2024-03-10 04:00")
    try:
        for n, (title, src) in enumerate((("هجوم لداعش قرب الرقة", "wire"),
                                          ("Kobani: nûçe", "anf"))):
            w.store.upsert(Article(source=src, url=f"https://x/{n}", canonical_url=f"https://x/{n}",
                                   title=title, body=title, language="ar",
                                   content_hash=str(n)), f"s{n}")
        Alerting(w.store, w.rules, w.outbox, sender=SENDER).check_pending()
        w.store._db.execute("UPDATE digest_items SET matched_at='2024-03-09T20:00:00+00:00'")
        w.outbox.messages.clear()                            # instant alerts are not our business
        w.run()
        [msg] = w.sent_to("desk@example.org")
        text = msg.get_body(("plain",)).get_content()
        assert "هجوم لداعش قرب الرقة" in text and "Kobani" not in text
        assert 'Rule "raqqa"' in text and 'Rule "isis"' in text
    finally:
        w.store.close()


# ---------------------------------------------------------------------------- send --now, preview

def test_send_now_once_per_period_and_preview_records_nothing(world):
    world.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-10 06:00")
    world.clock.set("2024-03-10 09:00")                      # today's 07:00 digest was missed
    preview = world.digests.preview("desk@example.org", date(2024, 3, 11))
    assert preview.stories == 1 and "الرقة" in preview.text and preview.ledger is None
    assert 'dir="rtl"' in preview.html
    assert world.ledger() == [] and world.outbox.messages == []
    assert world.store.unclaimed_digest_entries("desk@example.org", ["raqqa"],
                                                "2024-03-10T09:00:00+00:00")
    outcome = world.digests.send_now("desk@example.org")
    assert (outcome.state, outcome.period, outcome.items) == ("sent", "2024-03-10", 1)
    again = world.digests.send_now("desk@example.org")
    assert again.state == "already-sent" and "2024-03-11" in again.detail
    assert len(world.outbox.messages) == 1
    [row] = world.ledger()
    assert row["period_end"] == "2024-03-10T09:00:00+00:00"  # the period ended "now"
    # the service then has nothing to send for this period; the next covers what follows
    assert world.run("2024-03-10 09:01").sent == 0
    past = world.digests.preview("desk@example.org", date(2024, 3, 10))
    assert past.ledger["state"] == "sent" and "الرقة" in past.text


def test_send_now_reopens_a_missed_period(world):
    world.run("2024-03-09 04:00")
    world.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
                matched="2024-03-09 20:00")
    world.run("2024-03-10 12:00")
    assert [r["state"] for r in world.ledger()] == ["skipped", "missed"]
    assert world.digests.send_now("desk@example.org").state == "sent"
    assert [r["state"] for r in world.ledger()] == ["skipped", "sent"]


def test_elasticsearch_store_keeps_the_digest_ledger_in_its_sidecar(tmp_path):
    from crawler.store.elasticsearch import ElasticsearchStore, EsConfig
    w = World(tmp_path, "2024-03-10 04:00")
    w.story("الرقة", rules=["raqqa"], recipients=["desk@example.org"],
            matched="2024-03-09 20:00")
    es = ElasticsearchStore(EsConfig.from_url("http://127.0.0.1:9/?sync=true", tmp_path),
                            sidecar=w.store, spool=tmp_path / "spool.db", background=False)
    try:
        digests = Digests(es, w.rules, w.outbox, sender=SENDER, clock=w.clock)
        assert digests.run_due().sent == 1
        assert es.digest_counts() == {"sent": 1}
        assert dict(es.metrics_snapshot()["digests"]) == {"sent": 1}
    finally:
        es.close(timeout=0)


# ---------------------------------------------------------------------------- CLI

@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (tmp_path / "alerts.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(textwrap.dedent("""\
        sources:
          - {id: wire, name: Wire Agency, kind: feed, start_urls: ["https://wire.example/rss"]}
        """), encoding="utf-8")
    config = write_config(tmp_path, sources=tmp_path / "sources.yaml",
                          alerts=tmp_path / "alerts.yaml", download_timeout=None)
    monkeypatch.setenv("CHAVDER_CONFIG", str(config))
    # the digest clock of the CLI: 2024-03-10 09:00 UTC (12:00 in Baghdad)
    offset = (at("2024-03-10 09:00") - datetime.now(UTC)).total_seconds()
    monkeypatch.setenv("CHAVDER_CLOCK_OFFSET", str(offset))
    data.mkdir()
    w = World(tmp_path, "2024-03-10 09:00", db=data / "chavder.db")
    w.story(HOSTILE_TITLE, rules=["raqqa"], recipients=["desk@example.org"],
            matched="2024-03-10 08:00")
    w.store.close()
    return tmp_path


def chavder(*argv: str) -> int:
    """``chavder ARGV`` in this process; exceptions propagate (``main`` would print them)."""
    from crawler.cli import cli
    return int(cli.main(list(argv), prog_name="chavder", standalone_mode=False) or 0)


def test_cli_preview_send_list(cli_env, capsys):
    html_file = cli_env / "preview.html"
    assert chavder("digest", "list") == 0
    assert "no digests" in capsys.readouterr().out
    assert chavder("digest", "preview", "--recipient", "desk@example.org",
                   "--html", str(html_file)) == 0
    out = capsys.readouterr().out
    # labelled as `digest send --now` below sends it (the 03-10 digest is not sent yet)
    assert "digest 2024-03-10 for desk@example.org at 07:00 Asia/Baghdad: 1 story" in out
    assert "records nothing" in out and "Subject: [Chavder] Digest 2024-03-10" in out
    assert "<script>alert(1)</script> هجوم في الرقة Bcc: victim@example.org" in out
    assert "Wire Agency" in out
    html = html_file.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in html and "<script>" not in html and 'dir="rtl"' in html
    assert chavder("digest", "list") == 0
    assert "no digests" in capsys.readouterr().out          # the preview recorded nothing

    assert chavder("digest", "preview", "--recipient", "nobody@example.org") == 2
    assert "receives no digest" in capsys.readouterr().err

    assert chavder("digest", "send", "--recipient", "desk@example.org", "--now") == 0
    out = capsys.readouterr().out
    assert "desk@example.org 2024-03-10: sent, 1 story" in out and "Message-ID: <" in out
    assert len(list((cli_env / "data" / "outbox").glob("*.eml"))) == 1
    assert chavder("digest", "send", "--recipient", "desk@example.org", "--now") == 0
    assert "already-sent" in capsys.readouterr().out
    assert len(list((cli_env / "data" / "outbox").glob("*.eml"))) == 1

    assert chavder("digest", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["recipient", "period", "state", "sent_at", "items", "note"]
    assert lines[1].split()[:5] == ["desk@example.org", "2024-03-10", "sent",
                                    lines[1].split()[3], "1"]
    assert chavder("digest", "send", "--recipient", "desk@example.org") == 2


def test_a_huge_digest_is_capped_per_rule_and_apprise_tokens_stay_hidden(tmp_path, capsys):
    from crawler.mail.digest_compose import MAX_PER_RULE
    rules = RULES.replace("recipients: [desk@example.org]",
                          "recipients: [desk@example.org]\n"
                          "  - name: chat\n    any: [Kobani]\n    mode: digest\n"
                          "    recipients: ['apprise:json://localhost/SECRET-TOKEN']")
    w = World(tmp_path, "2024-03-10 04:00", rules=rules)
    try:
        for n in range(MAX_PER_RULE + 5):
            w.story(f"الرقة {n}", rules=["raqqa"], recipients=["desk@example.org"],
                    matched="2024-03-09 20:00")
        w.store.open_digest("apprise:json://localhost/SECRET-TOKEN", "2024-03-10",
                            "2024-03-09T00:00:00+00:00", "2024-03-10T00:00:00+00:00", ["chat"],
                            "2024-03-09T00:00:00+00:00", skip_if_empty=False)
        w.run()
        [msg] = w.sent_to("desk@example.org")
        assert msg["Subject"].startswith(f"[Chavder] Digest 2024-03-10: {MAX_PER_RULE + 5} stories")
        text = msg.get_body(("plain",)).get_content()
        assert f'Rule "raqqa": {MAX_PER_RULE + 5} stories' in text
        assert text.count("\n* ") == MAX_PER_RULE and "… and 5 more not shown here." in text
        store_url = f"sqlite:///{tmp_path / 'chavder.db'}"
        for as_json in ([], ["--json"]):
            chavder("digest", "list", "--store", store_url, "--limit", "10", *as_json)
        out = capsys.readouterr().out
        assert "apprise:json://…" in out and "SECRET" not in out
    finally:
        w.store.close()
