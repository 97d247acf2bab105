"""Instant alerts: match stored articles against the rules, queue them in the ledger, deliver.

Exactly-once design (see README "Alerts: delivery semantics"):

1. Matching is a *sweep* over article revisions not yet checked. Queuing a revision's alerts and
   marking it checked is one store transaction, so a crash before it just means the sweep sees
   the revision again; a crash after it leaves the alerts queued.
2. The ledger holds at most one row per (rule, story, recipient): syndicated copies and updates
   of an alerted story never alert twice.
3. Delivery goes through the one delivery state machine (crawler/delivery/machine.py), as
   digests do: a row is *claimed* before the message goes to the transport — one
   compare-and-set moves it from due ``pending`` to ``sending`` with an owner (this process) and
   a lease (``SEND_LEASE``), so any number of senders at once (``chavder alerts send`` while
   the service runs, two crawls) deliver each row once — and marked ``sent`` after. A crash in
   between is the only duplicate window: the row is taken over when its lease expires, or at
   once when its owner is known dead (crawler/delivery/lease.py), and resent with the *same*
   Message-ID (an outbox file is simply rewritten; mail clients and Mailpit thread/dedupe by
   Message-ID). Temporary failures (SMTP down, a local I/O error) retry with backoff across
   restarts; permanent ones, or retries exhausted, are ``failed`` with the reason —
   ``chavder alerts retry --failed`` (:meth:`Alerting.retry`) queues them again.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from crawler.alerts import surge
from crawler.alerts.matcher import Matcher
from crawler.alerts.rules import Recipient, Rule, load_rules
from crawler.config import Settings, SourceConfig
from crawler.delivery import (AlertClaims, Clock, RetryPolicy, dead_claimants, deliver, iso,
                              utc_now)
from crawler.mail.compose import ArticleView, alert_message_id, compose_alert
from crawler.mail.transport import Transport, transport_for, transport_from_settings
from crawler.urls import display_url

log = logging.getLogger("chavder.alerts")


def rules_from_settings(settings: Settings, sources: list[SourceConfig],
                        what: str) -> list[Rule] | None:
    """The validated rules of ``settings.alerts``, or None (logged: ``what`` are off) when the
    file does not exist — alert rules are optional."""
    path = Path(settings.alerts)
    if not path.exists():
        log.info("no alert rules (%s not found): %s are off", path, what)
        return None
    return load_rules(path, known_sources=[s.id for s in sources] or None)


@dataclass
class DispatchReport:
    """What deliveries did. One report may span several dispatches (the sweeps during a crawl
    and the one after it): each ledger row counts once, in its latest state."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    busy: int = 0          # claimed by another sender meanwhile (it delivers them)
    errors: list[str] = field(default_factory=list)
    states: dict[object, str] = field(default_factory=dict)   # ledger row id → latest state

    def record(self, row_id: object, state: str) -> None:
        """Count ``state`` for this row, replacing what an earlier dispatch counted for it."""
        previous = self.states.get(row_id)
        if previous is not None:
            setattr(self, previous, getattr(self, previous) - 1)
        self.states[row_id] = state
        setattr(self, state, getattr(self, state) + 1)


class _MatchView:
    """The part of a RuleMatch that compose_alert reads, rebuilt from a ledger row."""

    def __init__(self, rule: Rule, terms: list[str]):
        self.rule = rule
        self.terms: list = []
        self._names = terms

    @property
    def matched_terms(self) -> list[str]:
        return self._names

    def spans(self, field: str) -> list[tuple[int, int]]:
        return []


class Alerting:
    """Rules + store + transports. Matching and delivery take a lock: a crawl's sweep thread
    and the service's timer never work in it at once."""

    def __init__(self, store, rules: Iterable[Rule], mail_transport: Transport, *,
                 sender: str, source_names: dict[str, str] | None = None,
                 clock: Clock = utc_now, max_attempts: int = 10,
                 backoff_seconds: float = 30.0, max_backoff_seconds: float = 3600.0):
        self.store = store
        self.rules = [r for r in rules if r.enabled]
        self.matcher = Matcher(self.rules)
        self.rules_by_name = {r.name: r for r in self.rules}
        self.recipients: dict[str, Recipient] = {
            rec.key: rec for rule in self.rules for rec in rule.recipients}
        self.mail_transport = mail_transport
        self.sender = sender
        self.source_names = source_names or {}
        self.clock = clock
        self.policy = RetryPolicy(max_attempts, backoff_seconds, max_backoff_seconds)
        self.ledger = AlertClaims(store)
        self.lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, store, sources: Iterable[SourceConfig],
                      clock: Clock = utc_now) -> "Alerting | None":
        """None when there is no alerts file (alerts are optional)."""
        sources = list(sources)
        rules = rules_from_settings(settings, sources, "alerts")
        if rules is None:
            return None
        transport = transport_from_settings(settings.mail, settings.data_dir)
        return cls(store, rules, transport, sender=settings.mail.sender,
                   source_names={s.id: s.name for s in sources}, clock=clock,
                   backoff_seconds=settings.alert_retry_seconds,
                   max_attempts=settings.alert_max_attempts)

    # ------------------------------------------------------------------ matching
    def check_pending(self, limit: int = 500) -> int:
        """Match every unchecked article revision; returns instant alerts newly queued."""
        with self.lock:
            return self._check_pending(limit)

    @property
    def matches_locally(self) -> bool:
        """Matching reads and writes only a local file (the SQLite store records a batch of
        revisions at once): cheap enough for the crawl's own thread (``check_some``)."""
        return getattr(self.store, "record_matches_many", None) is not None

    def check_some(self, limit: int) -> tuple[int, bool] | None:
        """Match one batch of at most ``limit`` unchecked revisions: (instant alerts queued,
        whether more may be waiting) — or None, at once, while another caller holds the
        alerting lock (matching or delivering in another thread)."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            batch = self.store.articles_to_check(limit)
            return self._check_rows(batch), len(batch) >= limit
        finally:
            self.lock.release()

    def _check_pending(self, limit: int) -> int:
        queued = 0
        while True:
            batch = self.store.articles_to_check(limit)
            if not batch:
                return queued
            queued += self._check_rows(batch)
            if len(batch) < limit:
                return queued

    #: Checked revisions recorded per store transaction (when the store can record several):
    #: short enough that the crawl's writes never wait long for the sweep's.
    RECORD_BATCH = 32

    def _check_rows(self, rows: list[dict]) -> int:
        many = getattr(self.store, "record_matches_many", None)
        if many is None:
            return sum(self._check(row) for row in rows)
        queued = 0
        for i in range(0, len(rows), self.RECORD_BATCH):
            chunk = rows[i:i + self.RECORD_BATCH]
            checked = [(row["id"], row["revision"], row["story_id"], *self._matches(row))
                       for row in chunk]
            for row, n in zip(chunk, many(checked)):
                self._log_queued(row, n)
                queued += n
        return queued

    def recheck(self, rows: Iterable[dict]) -> int:
        """Match these stored articles again (``chavder alerts run``): new rules or recipients
        queue alerts; (rule, story, recipient) already alerted are not queued twice."""
        return sum(self._check(row) for row in rows)

    def _matches(self, row: dict) -> tuple[list[tuple[str, str, list[str]]],
                                           list[tuple[str, str, list[str]]]]:
        """(instant, digest) entries of one article revision: (rule, recipient key, terms)."""
        instant: list[tuple[str, str, list[str]]] = []
        digest: list[tuple[str, str, list[str]]] = []
        for group in self.matcher.match_groups(row["title"], row["body"],
                                               language=row["language"], source=row["source"]):
            terms = group.matched_terms          # the same for every rule of the group
            for rule in group.rules:
                if rule.surge is not None and not surge.decide(
                        self.store, rule, row["story_id"], self.clock(), Matcher([rule])):
                    continue                  # a surge rule waits for its story to surge
                for rec in rule.recipients:
                    if rule.instant:
                        instant.append((rule.name, rec.key, terms))
                    if rule.digest:
                        digest.append((rule.name, rec.key, terms))
        return instant, digest

    def _check(self, row: dict) -> int:
        instant, digest = self._matches(row)
        queued = self.store.record_matches(row["id"], row["revision"], row["story_id"],
                                           instant, digest)
        self._log_queued(row, queued)
        return queued

    @staticmethod
    def _log_queued(row: dict, queued: int) -> None:
        if queued:
            log.info("alert queued: %d message(s) for story %s (%s)", queued, row["story_id"],
                     display_url(row["canonical_url"]))

    # ------------------------------------------------------------------ delivery
    def dispatch_due(self, limit: int = 200,
                     report: DispatchReport | None = None) -> DispatchReport:
        """Deliver the due alerts; counted into ``report`` when given (one crawl's total)."""
        report = report if report is not None else DispatchReport()
        with self.lock:
            return self._dispatch_due(limit, report)

    def _dispatch_due(self, limit: int, report: DispatchReport) -> DispatchReport:
        now = self.clock()
        dead = dead_claimants(self.ledger, now)
        for row in self.store.due_alerts(iso(now), limit, reclaim_from=dead):
            self._deliver(row, report, dead)
        return report

    def retry(self, *, failed: bool = False) -> tuple[dict[str, int], DispatchReport]:
        """``chavder alerts retry [--failed]``: alerts waiting for a retry become due now (with
        ``failed``, failed ones too, with a fresh attempt budget); then deliver what is due.
        Returns (re-queued per former state, the delivery report)."""
        requeued = self.store.requeue_alerts(iso(self.clock()), failed=failed)
        return requeued, self.dispatch_due()

    def _deliver(self, row: dict, report: DispatchReport, dead: list[str]) -> None:
        rule = self.rules_by_name.get(row["rule"])
        recipient = self.recipients.get(row["recipient"])
        label = row["recipient"]
        msg_id: str | None = None
        problem: str | None = None
        if rule is None or recipient is None:
            # The rule or recipient was removed from alerts.yaml since it was queued.
            problem = "rule or recipient no longer configured"
        else:
            try:
                msg_id = alert_message_id(rule.name, str(row["story_id"]), recipient,
                                          self.sender)
            except ValueError as exc:
                problem = str(exc)

        def compose():              # its Message-ID is msg_id: the same three inputs
            if problem is not None or rule is None or recipient is None:
                raise ValueError(problem)
            return self._compose(rule, recipient, row)

        outcome = deliver(
            self.ledger, row, now=self.clock(), message_id=msg_id, compose=compose,
            send=lambda message: transport_for(recipient, self.mail_transport).send(message),
            policy=self.policy, reclaim_from=dead, log=log,
            subject=f"alert {row['rule']} → {label}",
            give_up_hint=lambda n: (f" (after {n} attempt{'' if n == 1 else 's'}; "
                                    "'chavder alerts retry --failed' queues it again)"))
        # busy: another sender claimed it since due_alerts, and it sends it
        report.record(row["id"], outcome.state if outcome.state in (
            "busy", "sent", "retrying") else "failed")
        if outcome.state == "sent":
            log.info("alert sent: %s → %s: %s", row["rule"], label, row["title"][:80])
        if outcome.error and outcome.message is not None:     # the transport refused it
            report.errors.append(outcome.error)

    def _compose(self, rule: Rule, recipient: Recipient, row: dict):
        others = [s for s in self.store.story_sources(row["story_id"]) if s != row["source"]]
        view = ArticleView(title=row["title"], url=row["canonical_url"], source=row["source"],
                           source_name=self.source_names.get(row["source"], row["source"]),
                           published_at=row["published_at"], language=row["language"],
                           body=row["body"], story_id=str(row["story_id"]))
        match = self._rematch(rule, row) or _MatchView(rule, json.loads(row["matched_terms"]))
        names = [self.source_names.get(s, s) for s in others]
        if rule.surge is not None:            # every outlet, with the time it reported
            story = self.store.story(row["story_id"])
            names = surge.outlet_lines(story["articles"] if story else [], self.source_names,
                                       recipient.timezone)
        return compose_alert(match, view, sender=self.sender, recipient=recipient,
                             also_reported_by=names)

    def _rematch(self, rule: Rule, row: dict):
        """The live match (with term positions for highlighting), if the rule still fires."""
        for match in Matcher([rule]).match(row["title"], row["body"], language=row["language"],
                                            source=row["source"]):
            return match
        return None
