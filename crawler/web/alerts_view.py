"""The alerts page's logic: the rules (terms by language, mode, recipients), "test this rule on
a text" through the matcher's own explanation (``crawler.alerts.explain``, what ``chavder
alerts test`` prints), the recent alerts with their delivery state, and each digest
recipient's preview (``Digests.preview``: reads only, sends and records nothing)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from crawler import defaults
from crawler.redact import redact_text
from crawler.web.search_view import direction, highlight

#: Letters only Sorani (of the languages monitored) writes in Arabic script.
_SORANI = re.compile("[ڕڵێۆەھڤ]")
_ARABIC = re.compile("[\u0600-\u06ff]")
_KURMANJI = re.compile("[êîûçşÊÎÛÇŞ]")


def term_language(term: str) -> str:
    """The language a spelling is written in, by its letters: ``ckb`` (Sorani letters),
    ``ar`` (other Arabic script), ``kmr`` (Latin with Kurmanji letters), else ``latin``."""
    if _SORANI.search(term):
        return "ckb"
    if _ARABIC.search(term):
        return "ar"
    return "kmr" if _KURMANJI.search(term) else "latin"


@dataclass
class RuleView:
    name: str
    mode: str
    enabled: bool
    languages: list[str]
    sources: list[str]
    recipients: list[str]
    terms: dict[str, dict[str, list[str]]]     # part (any/all/none) → language → spellings

    def to_json(self) -> dict:
        return vars(self)


def load_rule_list(app: Any) -> list[Any]:
    """The rules of the settings' alerts file (none when it does not exist)."""
    from crawler.alerts.rules import load_rules
    path = Path(app.settings.alerts)
    if not path.exists():
        return []
    known = [s.id for s in app.known_sources()] or None
    return load_rules(path, known_sources=known)


def rule_views(rules: list[Any]) -> list[RuleView]:
    from crawler.digests import recipient_label
    out = []
    for rule in rules:
        terms: dict[str, dict[str, list[str]]] = {}
        for part in ("any", "all", "none"):
            for group in getattr(rule, part):
                for term in group:
                    terms.setdefault(part, {}).setdefault(term_language(term), []).append(term)
        out.append(RuleView(rule.name, rule.mode, rule.enabled, list(rule.languages),
                            list(rule.sources), [recipient_label(r) for r in rule.recipients],
                            terms))
    return out


@dataclass
class TestResult:
    rule: str
    language: str
    dir: str
    fired: bool
    lines: list[str]
    marked: Markup                  # the text with each matched term in <mark>


def test_rule(rule: Any, text: str, language: str | None, source: str | None) -> TestResult:
    """Explain ``rule`` on ``text`` (language detected when not given)."""
    from crawler.alerts.explain import explain
    from crawler.text import detect
    lang = language or detect(text)[0]
    result = explain(rule, "", text, language=lang, source=source or None)
    spans = [(m.start, m.end) for m in result.matches if m.field == "body"]
    return TestResult(rule.name, lang, direction(lang), result.fired, result.lines(),
                      highlight(text, spans))


@dataclass
class AlertRow:
    id: int
    rule: str
    recipient: str
    story_id: int
    title: str
    state: str                      # sent | retrying | queued | sending | failed
    detail: str                     # when sent, next attempt, or why it failed
    attempts: int
    created_at: str


def _state(row: dict) -> tuple[str, str]:
    state = row.get("state")
    if state == "sent":
        return "sent", f"sent at {row.get('sent_at') or '?'}"
    if state == "failed":
        return "failed", redact_text(str(row.get("last_error") or "no reason recorded"))
    if state == "pending" and int(row.get("attempts") or 0) > 0:
        why = redact_text(str(row.get("last_error") or ""))
        return "retrying", f"next attempt at {row.get('next_attempt_at')}" + \
            (f" — last error: {why}" if why else "")
    if state == "sending":
        return "sending", f"being sent (claimed by {row.get('claimed_by') or '?'})"
    return "queued", f"due at {row.get('next_attempt_at')}"


def recent_alerts(store: Any, limit: int = defaults.WEB_RECENT) -> list[AlertRow]:
    """The newest alerts of the ledger with their delivery state."""
    from crawler.digests import recipient_label
    out = []
    for row in store.recent_alerts(limit):
        state, detail = _state(row)
        out.append(AlertRow(row["id"], row["rule"], recipient_label(row["recipient"]),
                            row["story_id"], row.get("title") or "(article gone)", state,
                            detail, int(row.get("attempts") or 0), row.get("created_at") or ""))
    return out


@dataclass
class DigestView:
    recipient: str
    schedule: str
    stories: int
    ledger: str
    would_send: bool
    subject: str
    text: str
    rules: list[str] = field(default_factory=list)


def digest_previews(app: Any) -> list[DigestView]:
    """Each digest recipient's next digest as it would be sent now (nothing is recorded)."""
    from crawler.digests import Digests
    digests = Digests.from_settings(app.settings, app.store, app.known_sources())
    if digests is None:
        return []
    out = []
    for key, entry in digests.recipients.items():
        preview = digests.preview(key)
        ledger = preview.ledger
        state = "not opened yet" if ledger is None else ledger["state"] + (
            f" ({redact_text(str(ledger['last_error']))})" if ledger.get("last_error") else "")
        out.append(DigestView(entry.label(), f"{entry.digest_time} {entry.timezone}",
                              preview.stories, state, preview.would_send, preview.subject,
                              preview.text, list(entry.rules)))
    return out
