"""Digest recipients: who gets a digest, when, and from which rules."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

from crawler.alerts.recipient_keys import ledger_key
from crawler.alerts.rules import Recipient, Rule

log = logging.getLogger("chavder.digests")


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
