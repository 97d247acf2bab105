"""Digests: open the periods that are due, deliver them, and ``digest send --now``/``preview``.

The design (periods, ledger, catch-up, empty periods, delivery, clock) is in
crawler/digests/__init__.py; delivery is the shared state machine of crawler/delivery/.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from crawler.alerting import rules_from_settings
from crawler.alerts.matcher import Matcher
from crawler.alerts.recipient_keys import APPRISE_PREFIX, apprise_key
from crawler.alerts.rules import Rule
from crawler.config import ConfigError, Settings, SourceConfig
from crawler.delivery import (Clock, DigestClaims, RetryPolicy, dead_claimants, deliver, iso,
                              utc_now)
from crawler.digests.periods import (Period, clock_from_env, latest_period, next_period,
                                     period_for, recent_periods)
from crawler.digests.recipients import DigestRecipient, digest_recipients, recipient_label
from crawler.mail.digest_compose import (DigestEntry, DigestPeriod, compose_digest,
                                         digest_message_id_for)
from crawler.mail.transport import Transport, transport_for, transport_from_settings

log = logging.getLogger("chavder.digests")
EMPTY_POLICIES = ("skip", "nothing-new")

# ---------------------------------------------------------------------------- reports

@dataclass
class DigestOutcome:
    """What happened to one recipient's digest of one period (printed by the CLI)."""

    recipient: str
    period: str
    state: str            # sent | retrying | failed | skipped | missed | already-sent | busy | …
    items: int = 0
    detail: str = ""
    message_id: str | None = None

    def line(self) -> str:
        text = f"{self.recipient} {self.period}: {self.state}"
        if self.items:
            text += f", {self.items} stor{'y' if self.items == 1 else 'ies'}"
        return text + (f" — {self.detail}" if self.detail else "")


@dataclass
class DigestReport:
    sent: int = 0
    skipped: int = 0
    missed: int = 0
    retrying: int = 0
    failed: int = 0
    outcomes: list[DigestOutcome] = field(default_factory=list)

    def add(self, outcome: DigestOutcome) -> DigestOutcome:
        self.outcomes.append(outcome)
        if outcome.state == "sent":
            self.sent += 1
        elif outcome.state == "skipped":
            self.skipped += 1
        elif outcome.state == "missed":
            self.missed += 1
        elif outcome.state == "retrying":
            self.retrying += 1
        elif outcome.state == "failed":
            self.failed += 1
        return outcome


@dataclass
class DigestPreview:
    recipient: DigestRecipient
    period: DigestPeriod
    ledger: dict | None          # the ledger row of the period, if any
    stories: int
    would_send: bool             # False: empty and the policy is skip
    subject: str
    text: str
    html: str


# ---------------------------------------------------------------------------- digests

class Digests:
    """Rules + store + transports for digests. Call from one thread at a time (the service
    calls :meth:`run_due` on the reactor thread); other processes are kept out by the ledger."""

    def __init__(self, store, rules: Iterable[Rule], mail_transport: Transport, *,
                 sender: str, source_names: dict[str, str] | None = None,
                 clock: Clock = utc_now, grace_hours: float = 6.0,
                 empty_policy: str = "skip", max_attempts: int = 10,
                 backoff_seconds: float = 30.0, max_backoff_seconds: float = 3600.0):
        if empty_policy not in EMPTY_POLICIES:
            raise ValueError(f"digest_empty_policy {empty_policy!r} is not one of "
                             + ", ".join(EMPTY_POLICIES))
        self.store = store
        self.rules = [r for r in rules if r.enabled]
        self.recipients = digest_recipients(self.rules)
        self.mail_transport = mail_transport
        self.sender = sender
        self.source_names = source_names or {}
        self.clock = clock
        self.grace = timedelta(hours=grace_hours)
        self.empty_policy = empty_policy
        self.policy = RetryPolicy(max(1, max_attempts), backoff_seconds, max_backoff_seconds)
        self.ledger = DigestClaims(store)
        self._matchers = {r.name: Matcher([r]) for r in self.rules}   # for highlighting

    @classmethod
    def from_settings(cls, settings: Settings, store, sources: Iterable[SourceConfig],
                      clock: Clock | None = None, *, always: bool = False) -> "Digests | None":
        """None when there is no alerts file, or no rule in mode digest/both (then the service
        schedules no digest checks); ``always``: an instance whenever the alerts file exists."""
        if settings.digest_empty_policy not in EMPTY_POLICIES:
            where = f"{settings.path}: " if settings.path else ""
            raise ConfigError([f"{where}digest_empty_policy {settings.digest_empty_policy!r} "
                               "is not valid — use skip or nothing-new"])
        sources = list(sources)
        rules = rules_from_settings(settings, sources, "digests")
        if rules is None:
            return None
        if not any(r.digest for r in rules) and not always:
            log.info("no rule in mode digest or both: digests are off")
            return None
        transport = transport_from_settings(settings.mail, settings.data_dir)
        return cls(store, rules, transport, sender=settings.mail.sender,
                   source_names={s.id: s.name for s in sources},
                   clock=clock or clock_from_env(), grace_hours=settings.digest_grace_hours,
                   empty_policy=settings.digest_empty_policy,
                   max_attempts=settings.alert_max_attempts,
                   backoff_seconds=settings.alert_retry_seconds)

    # ------------------------------------------------------------------ lookup
    def recipient(self, address: str) -> DigestRecipient:
        """The digest recipient for an address (or 'apprise:…' key); KeyError if none."""
        address = address.strip()
        if address.startswith(APPRISE_PREFIX) and address not in self.recipients:
            address = apprise_key(address[len(APPRISE_PREFIX):])   # the URL as in alerts.yaml
        if address in self.recipients:
            return self.recipients[address]
        for entry in self.recipients.values():
            if entry.recipient.kind == "email" and entry.recipient.address.lower() == \
                    address.lower():
                return entry
        raise KeyError(address)

    # ------------------------------------------------------------------ the service's job
    def run_due(self, now: datetime | None = None) -> DigestReport:
        """Open every period that is due (or record it missed), then deliver what is due.
        Idempotent: calling it again at once does nothing more."""
        now = (now or self.clock()).astimezone(timezone.utc)
        report = DigestReport()
        for entry in self.recipients.values():
            try:
                self._plan(entry, now, report)
            except Exception:  # noqa: BLE001 - one recipient must not stop the others
                log.exception("digest planning for %s failed; will retry", entry.label())
        dead = dead_claimants(self.ledger, now)
        for row in self.store.due_digests(iso(now), reclaim_from=dead):
            try:
                self._deliver(row, now, report, reclaim_from=dead)
            except Exception:  # noqa: BLE001
                log.exception("digest %s for %s failed; will retry", row["period_key"],
                              recipient_label(row["recipient"]))
        return report

    def _plan(self, entry: DigestRecipient, now: datetime, report: DigestReport) -> None:
        last_key = self.store.latest_digest_key(entry.key)
        periods = recent_periods(now, entry.digest_time, entry.timezone)
        if last_key is None:
            periods = periods[-1:]          # a new recipient: no history to catch up on
        else:
            periods = [p for p in periods if p.key > last_key]
        for period in periods:
            late = now - period.end
            if late <= self.grace:
                row, opened = self.store.open_digest(
                    entry.key, period.key, iso(period.start), iso(period.end), entry.rules,
                    iso(now), skip_if_empty=self.empty_policy == "skip")
                if opened and row.get("state") == "skipped":
                    report.add(DigestOutcome(entry.label(), period.key, "skipped",
                                             detail="no new stories"))
                    log.info("digest %s for %s: no new stories, skipped (policy skip)",
                             period.key, entry.label())
                elif opened and late > timedelta(minutes=5):
                    log.info("digest %s for %s is %.1f h late (within the %g h grace): "
                             "sending it now", period.key, entry.label(),
                             late.total_seconds() / 3600, self.grace.total_seconds() / 3600)
            elif last_key is not None:
                reason = (f"missed: not sent by {iso(now)}, {late.total_seconds() / 3600:.1f} h "
                          f"after its time, past the grace period of "
                          f"{self.grace.total_seconds() / 3600:g} h; its stories go into the "
                          "next digest")
                if self.store.record_missed_digest(entry.key, period.key, iso(period.start),
                                                   iso(period.end), iso(now), reason):
                    report.add(DigestOutcome(entry.label(), period.key, "missed",
                                             detail=reason))
                    log.warning("digest %s for %s %s", period.key, entry.label(), reason)

    # ------------------------------------------------------------------ delivery
    def _groups(self, entry: DigestRecipient,
                rows: list[dict]) -> list[tuple[str, list[DigestEntry]]]:
        by_rule: dict[str, list[DigestEntry]] = {}
        outlets: dict[object, list[str]] = {}       # a story matched by several rules: one query
        for row in rows:
            sources: list[str] = []
            if row.get("source"):
                if row["story_id"] not in outlets:
                    outlets[row["story_id"]] = self.store.story_sources(row["story_id"])
                sources = outlets[row["story_id"]]
            others = [s for s in sources if s != row.get("source")]
            by_rule.setdefault(row["rule"], []).append(DigestEntry(
                rule=row["rule"], story_id=str(row["story_id"]),
                title=row.get("title") or "", url=row.get("canonical_url"),
                source=row.get("source") or "",
                source_name=self.source_names.get(row.get("source") or "",
                                                  row.get("source") or ""),
                published_at=row.get("published_at"), language=row.get("language"),
                body=row.get("body") or "",
                also_reported_by=[self.source_names.get(s, s) for s in others],
                sort_time=row.get("sort_time") or "", outlets=max(1, len(sources)),
                match=self._rematch(row)))
        order = {name: n for n, name in enumerate(entry.rules)}
        return sorted(by_rule.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))

    def _rematch(self, row: dict):
        """The rule's live match on this article (term positions for highlighting), or None."""
        matcher = self._matchers.get(row["rule"])
        if matcher is None or not row.get("title") and not row.get("body"):
            return None
        for match in matcher.match(row.get("title") or "", row.get("body") or "",
                                   language=row.get("language"), source=row.get("source")):
            return match
        return None

    def _period_view(self, entry: DigestRecipient, row: dict) -> DigestPeriod:
        return DigestPeriod(row["period_key"], datetime.fromisoformat(row["period_start"]),
                            datetime.fromisoformat(row["period_end"]), entry.timezone)

    def _deliver(self, row: dict, now: datetime, report: DigestReport, *,
                 force: bool = False, reclaim_from: list[str] | None = None) -> DigestOutcome:
        entry = self.recipients.get(row["recipient"])
        label = entry.label() if entry else recipient_label(row["recipient"])
        stamp = iso(now)
        if entry is None:
            error = "recipient no longer receives digests (not in a digest rule of alerts.yaml)"
            self.store.mark_digest(row["id"], "failed", now=stamp, error=error)
            return report.add(DigestOutcome(label, row["period_key"], "failed", detail=error))
        rows = self.store.digest_entries(row["id"])
        if not rows and self.empty_policy == "skip":
            self.store.mark_digest(row["id"], "skipped", now=stamp, error="no new stories")
            return report.add(DigestOutcome(label, row["period_key"], "skipped",
                                            detail="no new stories"))
        stories = len({r["story_id"] for r in rows})
        if reclaim_from is None:            # a single delivery (send --now): check its owner
            reclaim_from = dead_claimants(self.ledger, now)
        outcome = deliver(
            self.ledger, row, now=now, force=force, reclaim_from=reclaim_from,
            message_id=self._message_id(entry, row["period_key"]),
            compose=lambda: compose_digest(self._groups(entry, rows),
                                           self._period_view(entry, row), sender=self.sender,
                                           recipient=entry.recipient, now=now),
            send=lambda message: transport_for(entry.recipient, self.mail_transport).send(
                message),
            policy=self.policy, log=log, subject=f"digest {row['period_key']} → {label}",
            give_up_hint=lambda n: "; its stories go into the next digest")
        if outcome.state == "busy":
            return DigestOutcome(label, row["period_key"], "busy", stories,
                                 "another process is sending it")
        if outcome.state == "sent":
            log.info("digest sent: %s → %s: %d stor%s", row["period_key"], label, stories,
                     "y" if stories == 1 else "ies")
            return report.add(DigestOutcome(label, row["period_key"], "sent", stories,
                                            message_id=str(outcome.message["Message-ID"])))
        if outcome.message is None:         # composing failed: nothing went out
            return report.add(DigestOutcome(label, row["period_key"], "failed",
                                            detail=outcome.error or ""))
        detail = outcome.error or ""
        if outcome.state == "retrying":
            detail += f"; retry in {outcome.delay:.0f} s"
        return report.add(DigestOutcome(label, row["period_key"], outcome.state, stories, detail))

    def _message_id(self, entry: DigestRecipient, period_key: str) -> str | None:
        """The Message-ID of this digest; None when the sender is unusable (composing then
        fails and says why)."""
        try:
            return digest_message_id_for(entry.recipient, period_key, self.sender)
        except ValueError:
            return None

    # ------------------------------------------------------------------ CLI
    def send_now(self, address: str, now: datetime | None = None) -> DigestOutcome:
        """``chavder digest send --now``: the digest of the latest period, covering the stories
        matched up to ``now``, unless that period's digest was already sent (or is being sent).
        A period recorded as missed, failed or skipped is opened again."""
        entry = self.recipient(address)
        now = (now or self.clock()).astimezone(timezone.utc)
        period = latest_period(now, entry.digest_time, entry.timezone)
        report = DigestReport()
        existing = self.store.digest_row(entry.key, period.key)
        if existing is not None and existing["state"] == "sent":
            nxt = next_period(now, entry.digest_time, entry.timezone)
            return DigestOutcome(entry.label(), period.key, "already-sent", existing["stories"],
                                 f"sent at {existing['sent_at']}; the next digest is "
                                 f"{nxt.key} at {entry.digest_time} {entry.timezone}",
                                 existing["message_id"])
        if existing is None or existing["state"] in ("missed", "failed", "skipped"):
            row, opened = self.store.open_digest(
                entry.key, period.key, iso(period.start), iso(now), entry.rules, iso(now),
                skip_if_empty=False, reopen=True)
            if not opened:                    # another process opened it meanwhile
                row = self.store.digest_row(entry.key, period.key) or row
        else:
            row = existing
        if row["state"] == "sent":
            return DigestOutcome(entry.label(), period.key, "already-sent", row["stories"],
                                 f"sent at {row['sent_at']}", row["message_id"])
        if row["items"] == 0 and self.empty_policy == "skip":
            self.store.mark_digest(row["id"], "skipped", now=iso(now),
                                   error="no new stories")
            return DigestOutcome(entry.label(), period.key, "skipped", 0,
                                 "no new stories (digest_empty_policy: skip)")
        return self._deliver(row, now, report, force=True)

    def next_digest(self, entry: DigestRecipient, now: datetime) -> Period:
        """The digest that the stories matched so far go out in: the latest period's while it
        is not in the ledger yet or being sent (the service sends it now, ``digest send --now``
        under the same date), else the period in progress."""
        latest = latest_period(now, entry.digest_time, entry.timezone)
        row = self.store.digest_row(entry.key, latest.key)
        if row is None or row["state"] in ("pending", "sending"):
            return latest
        return next_period(now, entry.digest_time, entry.timezone)

    def preview(self, address: str, day: date | None = None,
                now: datetime | None = None) -> DigestPreview:
        """What the digest of local date ``day`` (default: the next one to go out, see
        :meth:`next_digest`) contains or would contain now, labelled as it would be sent.
        Reads only: sends nothing, records nothing."""
        entry = self.recipient(address)
        now = (now or self.clock()).astimezone(timezone.utc)
        if day is None:
            period = self.next_digest(entry, now)
            end = now                   # as send --now: the matches up to now
        else:
            period = period_for(day, entry.digest_time, entry.timezone)
            end = min(period.end, now)
        row = self.store.digest_row(entry.key, period.key)
        if row is not None and row["state"] in ("pending", "sending", "sent"):
            rows = self.store.digest_entries(row["id"])
            end = datetime.fromisoformat(row["period_end"])
        else:
            rows = self.store.unclaimed_digest_entries(entry.key, entry.rules, iso(end))
        view = period.view(entry.timezone, end if end != period.end else None)
        groups = self._groups(entry, rows)
        message = compose_digest(groups, view, sender=self.sender, recipient=entry.recipient,
                                 now=now)
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        return DigestPreview(entry, view, row, len({r["story_id"] for r in rows}),
                             bool(rows) or self.empty_policy == "nothing-new",
                             str(message["Subject"]), text, html)
