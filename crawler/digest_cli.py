"""``chavder digest …``: preview, send and list daily digests. Registered on the main parser by
``register_commands(subparsers)`` (see crawler/cli.py).

* ``digest preview --recipient ADDR [--date D] [--html FILE]`` prints the plain text of the
  digest of local date D (default: the next one) as it stands now; sends and records nothing.
* ``digest send --recipient ADDR --now`` sends the digest of the latest period, covering the
  stories matched up to now, through the ledger: never twice for one period.
* ``digest list [--recipient ADDR] [--json]`` shows the ledger.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from crawler.cli_common import settings_from_args
from crawler.config import load_sources


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date — use YYYY-MM-DD, the "
                                         "recipient's local date of the digest") from None


def _open(args: argparse.Namespace):
    """(store, digests) — digests is None (and a message printed) when there is none."""
    from crawler.store import open_store
    from crawler.digests import Digests
    settings = settings_from_args(args)
    sources = load_sources(settings.sources) if Path(settings.sources).exists() else []
    store = open_store(settings.store, settings.data_dir)
    try:
        digests = Digests.from_settings(settings, store, sources, always=True)
    except BaseException:
        store.close()
        raise
    if digests is None:
        print(f"no alert rules: {settings.alerts} not found", file=sys.stderr)
    return store, digests


def _open_for_recipient(args: argparse.Namespace):
    """(store, digests, entry for ``args.recipient``); entry is None (and said) when there are
    no digests or the address receives none."""
    store, digests = _open(args)
    if digests is None:
        return store, None, None
    try:
        return store, digests, digests.recipient(args.recipient)
    except KeyError:
        known = sorted(e.label() for e in digests.recipients.values())
        print(f"error: {args.recipient!r} receives no digest — digest recipients (rules with "
              f"mode: digest or both): {', '.join(known) or 'none'}", file=sys.stderr)
        return store, digests, None


def cmd_digest_preview(args: argparse.Namespace) -> int:
    store, digests, entry = _open_for_recipient(args)
    try:
        if entry is None:
            return 2
        preview = digests.preview(entry.key, args.date)
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
    if args.html:
        Path(args.html).write_text(preview.html, encoding="utf-8")
        print(f"\nHTML written to {args.html}", file=sys.stderr)
    return 0


def cmd_digest_send(args: argparse.Namespace) -> int:
    if not args.now:
        print("error: give --now — scheduled digests are sent by `chavder run`; --now sends "
              "the current period's digest at once", file=sys.stderr)
        return 2
    store, digests, entry = _open_for_recipient(args)
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


def cmd_digest_list(args: argparse.Namespace) -> int:
    from crawler.store import open_store
    settings = settings_from_args(args)
    store = open_store(settings.store, settings.data_dir, write=False)
    try:
        rows = store.digest_rows(args.recipient, args.limit)
    finally:
        store.close()
    if args.json:
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


def register_commands(subparsers: Any) -> None:
    """Add ``digest`` (preview, send, list) to the main ``chavder`` parser."""
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", help="store URL (default sqlite:///data/chavder.db)")
        p.add_argument("--sources", help="source list (default sources.yaml), for outlet names")

    p = subparsers.add_parser("digest", help="daily digests: preview, send now, list the ledger")
    dsub = p.add_subparsers(dest="digest_command", required=True, metavar="ACTION")
    q = dsub.add_parser("preview", help="print what a recipient's digest contains (sends "
                        "nothing, records nothing)")
    common(q)
    q.add_argument("--recipient", required=True, metavar="ADDR",
                   help="an e-mail address of a digest rule (or its apprise:… URL)")
    q.add_argument("--date", type=_parse_day, metavar="D",
                   help="the recipient's local date of the digest, YYYY-MM-DD (default: the "
                   "next digest)")
    q.add_argument("--html", metavar="FILE", help="also write the HTML part to FILE")
    q.set_defaults(func=cmd_digest_preview)
    q = dsub.add_parser("send", help="send the current period's digest now (once per period)")
    common(q)
    q.add_argument("--recipient", required=True, metavar="ADDR")
    q.add_argument("--now", action="store_true", help="send the digest of the period ending "
                   "now (required)")
    q.set_defaults(func=cmd_digest_send)
    q = dsub.add_parser("list", help="the digest ledger: recipient, period, state, sent_at, "
                        "items")
    common(q)
    q.add_argument("--recipient", metavar="ADDR")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_digest_list)
