"""``chavder alerts check | list | test | send | run | retry``, and the failed-alert lines of
``chavder status``.

``check``, ``list`` and ``test`` read alerts.yaml only (no store, no Scrapy: ``alerts test`` is
something an editor runs while writing a rule). The others go through the alert ledger's
claims, so they are safe while the service runs.

A failure is "permanent" when a retry cannot help without a human (a refused recipient, a wrong
password, a rule removed from alerts.yaml) or when the retry budget ran out. Once the human has
acted — fixed the outbox permissions, the password, the relay — ``alerts retry --failed`` puts
those alerts back in the queue with a fresh budget and delivers them; without ``--failed`` it
only makes the alerts waiting for their next retry due now (after an outage was fixed).
"""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.common import Invocation, When, pass_invocation, store_options

if TYPE_CHECKING:
    from crawler.app import Chavder

#: ``status`` lists at most this many failed alerts (the count says how many there are).
STATUS_FAILED = 10


def rules_of(inv: Invocation, path: str | None) -> list[Any]:
    """The rules of ``path`` (default: the settings' alerts file), checked against the known
    source ids when there is a source list."""
    from crawler.alerts.rules import load_rules
    known = None
    if Path(inv.settings.sources).exists():
        known = [s.id for s in inv.known_sources()]
    return load_rules(path or inv.settings.alerts, known_sources=known)


def _alerting_of(app: Chavder) -> Any:
    """``app``'s alert machinery, or None (said on stderr) when there are no rules."""
    if app.alerting is None:
        print(f"no alert rules: {app.settings.alerts} not found", file=sys.stderr)
    return app.alerting


@click.group("alerts", help="check, list, test and apply alert rules")
def alerts() -> None:
    pass


@alerts.command("check", help="validate alerts.yaml")
@store_options
@click.argument("file", required=False)
@pass_invocation
def cmd_alerts_check(inv: Invocation, file: str | None) -> int:
    from crawler.alerts.lint import rule_warnings
    rules = rules_of(inv, file)
    path = file or inv.settings.alerts
    languages = None
    if Path(inv.settings.sources).exists():
        languages = {s.id: tuple(s.languages) for s in inv.known_sources() if s.enabled}
    for line in rule_warnings(path, rules, languages):
        print(f"warning: {line}", file=sys.stderr)
    recipients = {r.key for rule in rules for r in rule.recipients}
    print(f"{path}: {len(rules)} rules OK, {len(recipients)} recipients")
    return 0


@alerts.command("list", help="list rules")
@store_options
@click.argument("file", required=False)
@pass_invocation
def cmd_alerts_list(inv: Invocation, file: str | None) -> int:
    for rule in rules_of(inv, file):
        terms = sum(len(g) for g in rule.any)
        print(f"{rule.name:<24} {rule.mode:<8} {terms:>3} terms  "
              f"langs={','.join(rule.languages) or 'any'}  "
              f"recipients={len(rule.recipients)}")
    return 0


@alerts.command("test", help="does RULE match this text? (shows terms and positions)")
@store_options
@click.argument("rule")
@click.option("--text", required=True, help="the text to match (title and body)")
@click.option("--lang", metavar="CODE", help="its language (default: detected)")
@click.option("--source", metavar="ID", help="as if published by this source")
@click.option("--file", metavar="FILE", help="rules file (default: the settings' alerts)")
@click.option("--json", "as_json", is_flag=True, help="the explanation as one JSON object")
@pass_invocation
def cmd_alerts_test(inv: Invocation, rule: str, text: str, lang: str | None,
                    source: str | None, file: str | None, as_json: bool) -> int:
    from crawler.alerts.explain import explain
    from crawler.text import detect, normalize
    rules = [r for r in rules_of(inv, file) if r.name == rule]
    if not rules:
        print(f"error: no rule named {rule!r}", file=sys.stderr)
        return 2
    language = lang or detect(text)[0]
    result = explain(rules[0], "", text, language=language, source=source)
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(f"language: {language}")
        print(f"normalised: {normalize(text, language)}")
        print("\n".join(result.lines()))
    return 0 if result.fired else 1


@alerts.command("send", help="deliver queued alerts that are due now (after an outage)")
@store_options
@pass_invocation
def cmd_alerts_send(inv: Invocation) -> int:
    with inv.app() as app:
        if _alerting_of(app) is None:
            return 2
        report = app.dispatch_alerts()
        counts = app.store.alert_counts()
    print(f"alerts: {report.sent} sent, {report.retrying} waiting to retry, {report.failed} "
          f"failed" + (f", {report.busy} sent by another process" if report.busy else "")
          + "; ledger: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


@alerts.command("run", help="apply the rules to stored articles since DATE")
@store_options
@click.option("--since", type=When(), required=True, help="YYYY-MM-DD or an ISO 8601 time")
@click.option("--dry-run", is_flag=True, help="print the matches, queue nothing")
@click.option("--rule", metavar="NAME", help="backfill this rule only")
@pass_invocation
def cmd_alerts_run(inv: Invocation, since: datetime, dry_run: bool, rule: str | None) -> int:
    """Apply the rules (or ``--rule NAME``) to articles already stored (e.g. after adding a
    rule)."""
    from crawler.alerts.matcher import Matcher
    with inv.app() as app:
        alerting = _alerting_of(app)
        if alerting is None:
            return 2
        if rule:
            chosen = alerting.rules_by_name.get(rule)
            if chosen is None:
                print(f"error: no enabled rule named {rule!r}", file=sys.stderr)
                return 2
            alerting.matcher = Matcher([chosen])        # backfill this rule only
        rows = app.store.articles_since(since)
        would = 0
        for row in rows:
            matches = alerting.matcher.match(row["title"], row["body"],
                                             language=row["language"], source=row["source"])
            for m in matches:
                would += 1
                print(f"[{m.rule.name}] story {row['story_id']} {row['source']}: {row['title']}")
        if dry_run:
            print(f"{len(rows)} articles checked, {would} rule matches (dry run: nothing queued)")
            return 0
        queued = alerting.recheck(rows)
        report = alerting.dispatch_due()
        print(f"{len(rows)} articles checked, {would} rule matches, {queued} new alerts "
              f"queued, {report.sent} sent, {report.retrying} waiting to retry")
    return 0


@alerts.command("retry", short_help="send alerts due for a retry now; --failed: re-queue failed",
                help="send alerts waiting to retry now; --failed: also re-queue "
                "those that failed (after fixing the cause)")
@store_options
@click.option("--failed", is_flag=True,
              help="re-queue failed alerts too, with a fresh retry budget")
@pass_invocation
def cmd_alerts_retry(inv: Invocation, failed: bool) -> int:
    with inv.app() as app:
        alerting = _alerting_of(app)
        if alerting is None:
            return 2
        requeued, report = alerting.retry(failed=failed)
        counts = app.store.alert_counts()
    print(f"re-queued: {requeued.get('failed', 0)} failed, {requeued.get('pending', 0)} "
          f"waiting to retry; alerts: {report.sent} sent, {report.retrying} waiting to retry, "
          f"{report.failed} failed; ledger: "
          + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "empty"))
    if not failed and counts.get("failed"):
        print(f"{counts['failed']} alert(s) failed for good: 'chavder alerts retry --failed' "
              "queues them again (see 'chavder status' for the reasons)")
    return 0


def failed_alerts(store: Any, limit: int = STATUS_FAILED) -> list[dict]:
    """The newest failed alerts with their reason (empty for a store without the method)."""
    rows = getattr(store, "failed_alerts", None)
    return rows(limit) if rows is not None else []


def failed_alert_lines(rows: list[dict], total: int) -> list[str]:
    """``status`` text: one line per failed alert, and what to do about them."""
    if not total:
        return []
    lines = [f"failed alerts: {total} (newest first; 'chavder alerts retry --failed' "
             "queues them again)"]
    for row in rows:
        when = (row.get("failed_at") or "-")[:19].replace("T", " ")
        title = " ".join(str(row.get("title") or "").split())[:50]
        reason = " ".join(str(row.get("last_error") or "no reason recorded").split())[:160]
        lines.append(f"  #{row['id']} {when} {row['rule']} → {row['recipient']} "
                     f"(story {row['story_id']}, {row['attempts']} attempt"
                     f"{'' if row['attempts'] == 1 else 's'}) {title!r}: {reason}")
    if total > len(rows):
        lines.append(f"  … and {total - len(rows)} more")
    return lines
