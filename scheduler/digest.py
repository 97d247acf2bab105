"""Daily digests: per recipient, at a local time, the stories that matched their digest rules.

Design (README "Daily digests"):

* **Periods.** A recipient's digest is due at ``digest_time`` in their ``timezone`` (per
  recipient, else per rule, else 07:00 UTC). The period of the digest sent on local date D runs
  from the digest time of D-1 to the digest time of D; its key is ``D`` (``YYYY-MM-DD``). Keys are
  local dates, so a DST change (a 23 h or 25 h period) or a changed digest_time never produces
  two digests for one day. A digest time that does not exist on a DST day (02:30 during a
  spring-forward gap) is read with the offset before the change; an ambiguous one is the first.
* **Ledger.** ``digests`` has one row per (recipient, period key): exactly one digest per
  recipient and period across restarts and processes. Opening a period claims its matched
  stories (``digest_items``) in the same transaction, so each story is in exactly one digest.
* **Catch-up.** Every ``digest_check_seconds`` (and 2 s after start-up) each recipient's periods
  that ended since their last ledger row are examined: a period that ended at most
  ``digest_grace_hours`` ago is sent now; an older one is recorded as ``missed`` and logged, and
  its stories go into the next digest. A recipient with no history starts with the latest period
  if it is within grace, else with the next one.
* **Empty periods.** ``digest_empty_policy``: ``skip`` records the period as ``skipped`` and
  sends nothing; ``nothing-new`` sends a short "nothing new" message.
* **Delivery** as for alerts: the row is claimed (``sending``, with an owner and a lease: one
  compare-and-set, so concurrent senders send it once; a dead owner's claim is taken over)
  before the message goes to the transport, ``sent`` after; temporary failures retry with
  backoff, permanent ones (or ``alert_max_attempts`` exhausted) are ``failed`` and release
  their stories to the next digest. The Message-ID is derived from (recipient, period), so
  the one duplicate window (a crash after the server accepted, before ``sent``) resends the
  *same* message.
* **Clock.** Everything takes ``now`` from an injectable clock. ``CHAVDER_CLOCK_OFFSET``
  (seconds, may be negative) shifts the digest clock of ``chavder run``/``chavder digest`` —
  a test hook, logged as a warning when set.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from crawler.alerts.recipient_keys import APPRISE_PREFIX, apprise_key, ledger_key
from crawler.alerts.rules import Recipient, Rule
from crawler.backoff import doubling
from crawler.config import ConfigError, Settings, SourceConfig
from scheduler.alerting import SEND_LEASE, rules_from_settings, utc_now
from scheduler.lease import dead_owners, process_owner
from scheduler.mail.digest_compose import DigestEntry, DigestPeriod, compose_digest
from scheduler.mail.transport import (Transport, TransportError, transport_for,
                                      transport_from_settings)

log = logging.getLogger("chavder.digests")

Clock = Callable[[], datetime]
EMPTY_POLICIES = ("skip", "nothing-new")
CLOCK_OFFSET_ENV = "CHAVDER_CLOCK_OFFSET"
LOOKBACK_PERIODS = 7          # at most this many past periods are examined per check


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def clock_from_env(environ: dict | None = None) -> Clock:
    """The real UTC clock, shifted by ``$CHAVDER_CLOCK_OFFSET`` seconds if set (tests)."""
    raw = (os.environ if environ is None else environ).get(CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return utc_now
    try:
        offset = timedelta(seconds=float(raw))
    except ValueError:
        raise ConfigError([f"${CLOCK_OFFSET_ENV}={raw!r} is not a number of seconds — unset "
                           "it (it only exists for tests)"]) from None
    log.warning("digest clock shifted by %s s ($%s, a test setting)", raw, CLOCK_OFFSET_ENV)
    return lambda: utc_now() + offset


# ---------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    key: str              # recipient-local date of the digest, YYYY-MM-DD
    start: datetime       # UTC, the previous digest time
    end: datetime         # UTC, this digest time

    def view(self, tz: str, end: datetime | None = None) -> DigestPeriod:
        return DigestPeriod(self.key, self.start, end or self.end, tz)


def _hhmm(digest_time: str) -> time:
    hours, minutes = digest_time.split(":")
    return time(int(hours), int(minutes))


def digest_instant(day: date, digest_time: str, tz: str) -> datetime:
    """The UTC instant of ``digest_time`` on local ``day`` in ``tz`` (fold=0: in a DST gap the
    offset before the change applies; of an ambiguous time, the first occurrence)."""
    local = datetime.combine(day, _hhmm(digest_time), tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc)


def period_for(day: date, digest_time: str, tz: str) -> Period:
    return Period(day.isoformat(), digest_instant(day - timedelta(days=1), digest_time, tz),
                  digest_instant(day, digest_time, tz))


def latest_period(now: datetime, digest_time: str, tz: str) -> Period:
    """The period whose digest time is the latest one at or before ``now``."""
    today = now.astimezone(ZoneInfo(tz)).date()
    for delta in (1, 0, -1, -2):
        day = today + timedelta(days=delta)
        if digest_instant(day, digest_time, tz) <= now:
            return period_for(day, digest_time, tz)
    raise AssertionError("unreachable: a digest time within two days before now")


def next_period(now: datetime, digest_time: str, tz: str) -> Period:
    """The period in progress at ``now`` (its digest time is after ``now``)."""
    latest = latest_period(now, digest_time, tz)
    return period_for(date.fromisoformat(latest.key) + timedelta(days=1), digest_time, tz)


def recent_periods(now: datetime, digest_time: str, tz: str,
                   count: int = LOOKBACK_PERIODS) -> list[Period]:
    """The ``count`` latest periods that ended at or before ``now``, oldest first."""
    latest = date.fromisoformat(latest_period(now, digest_time, tz).key)
    return [period_for(latest - timedelta(days=n), digest_time, tz)
            for n in range(count - 1, -1, -1)]


# ---------------------------------------------------------------------------- recipients

@dataclass
class DigestRecipient:
    """One recipient's digest: when, where, and which rules feed it (in alerts.yaml order)."""

    recipient: Recipient
    rules: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.recipient.key

    @property
    def timezone(self) -> str:
        return self.recipient.timezone

    @property
    def digest_time(self) -> str:
        return self.recipient.digest_time

    def label(self) -> str:
        return recipient_label(self.recipient)


def recipient_label(rec: Recipient | str) -> str:
    """How logs and the CLI name a recipient or ledger key: its key, which for Apprise is
    ``apprise:<scheme>://…#<hash>`` (a raw URL of an old ledger row is redacted the same way)."""
    return ledger_key(rec.key if isinstance(rec, Recipient) else rec) or ""


def digest_recipients(rules: Iterable[Rule]) -> dict[str, DigestRecipient]:
    """Recipient key → its digest, from the enabled rules in mode digest/both. A recipient
    listed in several rules with different times or zones gets one digest, at the time of the
    first rule listing it (a warning says so)."""
    out: dict[str, DigestRecipient] = {}
    for rule in rules:
        if not rule.enabled or not rule.digest:
            continue
        for rec in rule.recipients:
            entry = out.get(rec.key)
            if entry is None:
                out[rec.key] = DigestRecipient(rec, [rule.name])
                continue
            if (rec.timezone, rec.digest_time) != (entry.timezone, entry.digest_time):
                log.warning("recipient %s: rule '%s' asks for a digest at %s %s, but rule '%s' "
                            "already set %s %s; one digest is sent, at the first time",
                            recipient_label(rec), rule.name, rec.digest_time, rec.timezone,
                            entry.rules[0], entry.digest_time, entry.timezone)
            if rule.name not in entry.rules:
                entry.rules.append(rule.name)
    return out


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
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff_seconds
        self.max_backoff = max_backoff_seconds

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
        dead = dead_owners(self.store.digest_claim_owners(iso(now)))
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
                sort_time=row.get("sort_time") or "", outlets=max(1, len(sources))))
        order = {name: n for n, name in enumerate(entry.rules)}
        return sorted(by_rule.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))

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
        groups = self._groups(entry, rows)
        try:
            message = compose_digest(groups, self._period_view(entry, row), sender=self.sender,
                                     recipient=entry.recipient, now=now)
        except ValueError as exc:
            self.store.mark_digest(row["id"], "failed", now=stamp, error=str(exc))
            log.error("digest %s for %s not sent: %s", row["period_key"], label, exc)
            return report.add(DigestOutcome(label, row["period_key"], "failed",
                                            detail=str(exc)))
        stories = len({r["story_id"] for r in rows})
        owner = process_owner()
        if reclaim_from is None:            # a single delivery (send --now): check its owner
            reclaim_from = dead_owners(self.store.digest_claim_owners(stamp))
        attempt = self.store.claim_digest_delivery(row["id"], stamp, iso(now + SEND_LEASE),
                                                   str(message["Message-ID"]), force=force,
                                                   owner=owner, reclaim_from=reclaim_from)
        if attempt is None:
            return DigestOutcome(label, row["period_key"], "busy", stories,
                                 "another process is sending it")
        if row.get("state") == "sending" and row.get("claimed_by") in reclaim_from:
            log.warning("digest %s for %s: its sender %s died while sending; sending it again "
                        "(same Message-ID)", row["period_key"], label, row["claimed_by"])
        try:
            transport_for(entry.recipient, self.mail_transport).send(message)
        except TransportError as exc:
            if exc.temporary and attempt < self.max_attempts:
                delay = doubling(self.backoff, attempt, self.max_backoff)
                self.store.mark_digest(row["id"], "pending", now=stamp, error=str(exc),
                                       next_attempt_at=iso(now + timedelta(seconds=delay)),
                                       owner=owner)
                log.warning("digest %s → %s: %s; retry in %.0f s", row["period_key"], label,
                            exc, delay)
                return report.add(DigestOutcome(label, row["period_key"], "retrying", stories,
                                                f"{exc}; retry in {delay:.0f} s"))
            self.store.mark_digest(row["id"], "failed", now=stamp, error=str(exc), owner=owner)
            log.error("digest %s → %s failed for good: %s; its stories go into the next "
                      "digest", row["period_key"], label, exc)
            return report.add(DigestOutcome(label, row["period_key"], "failed", stories,
                                            str(exc)))
        self.store.mark_digest(row["id"], "sent", now=stamp)
        log.info("digest sent: %s → %s: %d stor%s", row["period_key"], label, stories,
                 "y" if stories == 1 else "ies")
        return report.add(DigestOutcome(label, row["period_key"], "sent", stories,
                                        message_id=str(message["Message-ID"])))

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

    def preview(self, address: str, day: date | None = None,
                now: datetime | None = None) -> DigestPreview:
        """What the digest of local date ``day`` (default: the next one) contains or would
        contain now. Reads only: sends nothing, records nothing."""
        entry = self.recipient(address)
        now = (now or self.clock()).astimezone(timezone.utc)
        if day is None:
            period = next_period(now, entry.digest_time, entry.timezone)
        else:
            period = period_for(day, entry.digest_time, entry.timezone)
        row = self.store.digest_row(entry.key, period.key)
        if row is not None and row["state"] in ("pending", "sending", "sent"):
            rows = self.store.digest_entries(row["id"])
            end = datetime.fromisoformat(row["period_end"])
        else:
            end = min(period.end, now)
            rows = self.store.unclaimed_digest_entries(entry.key, entry.rules, iso(end))
        view = period.view(entry.timezone, end if end < period.end else None)
        groups = self._groups(entry, rows)
        message = compose_digest(groups, view, sender=self.sender, recipient=entry.recipient,
                                 now=now)
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        return DigestPreview(entry, view, row, len({r["story_id"] for r in rows}),
                             bool(rows) or self.empty_policy == "nothing-new",
                             str(message["Subject"]), text, html)
