"""``chavder digest preview | send | list``: daily digests by hand.

* ``digest preview --recipient ADDR [--date D] [--html FILE]`` prints the plain text of the
  digest of local date D (default: the next one) as it stands now; sends and records nothing.
* ``digest send --recipient ADDR --now`` sends the digest of the latest period, covering the
  stories matched up to now, through the ledger: never twice for one period.
* ``digest list [--recipient ADDR] [--json]`` shows the ledger.
"""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from crawler.cli.common import (Day, Invocation, pass_invocation, sources_option,
                                store_option)

_SOURCES_HELP = "source list (default sources.yaml), for outlet names"


def _store_options(func: Any) -> Any:
    return store_option()(sources_option(_SOURCES_HELP)(func))


def _open(inv: Invocation) -> tuple[Any, Any]:
    """(store, digests) — digests is None (and a message printed) when there is none."""
    from crawler.digests import Digests
    sources = inv.known_sources()
    store = inv.open_store()
    try:
        digests = Digests.from_settings(inv.settings, store, sources, always=True)
    except BaseException:
        store.close()
        raise
    if digests is None:
        print(f"no alert rules: {inv.settings.alerts} not found", file=sys.stderr)
    return store, digests


def _open_for_recipient(inv: Invocation, recipient: str) -> tuple[Any, Any, Any]:
    """(store, digests, entry for ``recipient``); entry is None (and said) when there are no
    digests or the address receives none."""
    store, digests = _open(inv)
    if digests is None:
        return store, None, None
    try:
        return store, digests, digests.recipient(recipient)
    except KeyError:
        known = sorted(e.label() for e in digests.recipients.values())
        print(f"error: {recipient} receives no digest — digest recipients (rules with "
              f"mode: digest or both): {', '.join(known) or 'none'}", file=sys.stderr)
        return store, digests, None


@click.group("digest", help="daily digests: preview, send now, list the ledger")
def digest() -> None:
    pass


@digest.command("preview", short_help="print a recipient's digest (sends and records nothing)",
                help="print what a recipient's digest contains (sends nothing, "
                "records nothing)")
@_store_options
@click.option("--recipient", required=True, metavar="ADDR",
              help="an e-mail address of a digest rule (or its apprise:… URL)")
@click.option("--date", "day", type=Day(), help="the recipient's local date of the digest, "
              "YYYY-MM-DD (default: the next digest)")
@click.option("--html", metavar="FILE", help="also write the HTML part to FILE")
@pass_invocation
def cmd_digest_preview(inv: Invocation, recipient: str, day: date | None,
                       html: str | None) -> int:
    store, digests, entry = _open_for_recipient(inv, recipient)
    try:
        if entry is None:
            return 2
        preview = digests.preview(entry.key, day)
    finally:
        store.close()
    period = preview.period
    ledger = preview.ledger
    print(f"digest {period.key} for {entry.label()} at {entry.digest_time} {entry.timezone}: "
          f"{preview.stories} stor{'y' if preview.stories == 1 else 'ies'}")
    if ledger is not None:
        print(f"ledger: {ledger['state']}" + (f" at {ledger['sent_at']}" if ledger["sent_at"]
                                              else "")
              + (f" ({ledger['last_error']})" if ledger["last_error"] else ""))
    else:
        print("ledger: not opened yet (a preview sends nothing and records nothing)")
    if not preview.would_send:
        print("nothing new: with digest_empty_policy skip this digest would not be sent")
    print(f"Subject: {preview.subject}\n")
    sys.stdout.write(preview.text)
    if html:
        Path(html).write_text(preview.html, encoding="utf-8")
        print(f"\nHTML written to {html}", file=sys.stderr)
    return 0


@digest.command("send", help="send the current period's digest now (once per period)")
@_store_options
@click.option("--recipient", required=True, metavar="ADDR")
@click.option("--now", is_flag=True, help="send the digest of the period ending now "
              "(required)")
@pass_invocation
def cmd_digest_send(inv: Invocation, recipient: str, now: bool) -> int:
    if not now:
        print("error: give --now — scheduled digests are sent by `chavder run`; --now sends "
              "the current period's digest at once", file=sys.stderr)
        return 2
    store, digests, entry = _open_for_recipient(inv, recipient)
    try:
        if entry is None:
            return 2
        outcome = digests.send_now(entry.key)
    finally:
        store.close()
    print(outcome.line())
    if outcome.message_id and outcome.state == "sent":
        print(f"Message-ID: {outcome.message_id}")
    return 0 if outcome.state in ("sent", "already-sent", "skipped", "retrying") else 1


@digest.command("list", help="the digest ledger: recipient, period, state, sent_at, items")
@_store_options
@click.option("--recipient", metavar="ADDR", help="only this recipient's digests")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_invocation
def cmd_digest_list(inv: Invocation, recipient: str | None, limit: int, as_json: bool) -> int:
    store = inv.open_store(write=False)
    try:
        rows = store.digest_rows(recipient, limit)
    finally:
        store.close()
    if as_json:
        for row in rows:
            print(json.dumps({**{k: row[k] for k in (
                "recipient", "period_key", "period_start", "period_end", "state", "attempts",
                "items", "stories", "created_at", "sent_at", "last_error", "message_id")},
                "recipient": _shown(row["recipient"])}, ensure_ascii=False))
        return 0
    if not rows:
        print("no digests in the ledger yet")
        return 0
    header = ("recipient", "period", "state", "sent_at", "items", "note")
    table = [(_shown(r["recipient"]), r["period_key"], r["state"], r["sent_at"] or "-",
              str(r["items"]), (r["last_error"] or "")[:70]) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    for row in [header, *table]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


def _shown(recipient_key: str) -> str:
    """Apprise keys carry tokens: show only the scheme."""
    from crawler.digests import recipient_label
    return recipient_label(recipient_key)
