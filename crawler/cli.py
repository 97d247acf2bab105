"""The ``chavder`` command line. Every user action is one subcommand calling the same functions
the service uses."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from crawler.app import Chavder, UnknownSource
from crawler.cli_common import (alerting_of, app_from_args, open_configured_store,
                                settings_from_args)
from crawler.config import ConfigError, Settings, load_sources
from crawler.redact import redact_data, redact_text, redact_url

log = logging.getLogger("chavder")


def _parse_when(value: str) -> datetime:
    """``2017-05-31`` or a full ISO time; naive values are UTC."""
    from crawler.text.dates import parse_iso
    parsed = parse_iso(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date — use YYYY-MM-DD or an ISO "
                                         "8601 time such as 2017-05-31T12:00+03:00")
    return parsed


# ---------------------------------------------------------------------------- commands

def cmd_crawl(args: argparse.Namespace) -> int:
    app = app_from_args(args)
    try:
        sources = app.select(args.source)
    except UnknownSource as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if not sources:
        print("nothing to crawl: no enabled sources", file=sys.stderr)
        return 0
    with app:
        app.store   # noqa: B018 - an unusable store is one line before anything is said
        log.info("crawling %d source(s) into %s", len(sources), redact_url(app.settings.store))
        summary = app.crawl(sources, progress_interval=args.progress_interval)
    report = summary.alerts
    alerts = None if report is None else {"sent": report.sent, "retrying": report.retrying,
                                          "failed": report.failed}
    if args.json:
        print(json.dumps({"sources": summary.per_source, "totals": summary.totals,
                          "finish_reasons": summary.finish_reasons, "alerts": alerts,
                          "unexpected_errors": summary.unexpected_errors},
                         ensure_ascii=False))
    else:
        print(summary.table())
        if alerts is not None:
            print(f"\nalerts: {alerts['sent']} sent, {alerts['retrying']} waiting to retry, "
                  f"{alerts['failed']} failed")
    if summary.unexpected_errors:
        print(f"crawl: {summary.unexpected_errors} unexpected error(s) — see the ERROR lines "
              "above (-v shows tracebacks)", file=sys.stderr)
        return 1
    if _all_failed(summary.per_source):
        print(f"crawl: every source failed ({len(summary.per_source)} of "
              f"{len(summary.per_source)}) and nothing was fetched — see the error lines above; "
              "`chavder sources doctor ID` explains one source", file=sys.stderr)
        return 1
    return 0


def _all_failed(per_source: dict[str, dict[str, int]]) -> bool:
    """Every source had errors and none got anywhere (no page fetched, nothing found known or
    unchanged): a cron job or script must see that as a failure, not as a quiet day."""
    return bool(per_source) and all(
        counts.get("errors", 0) > 0
        and not any(n for key, n in counts.items() if key != "errors")
        for counts in per_source.values())


def cmd_search_rule(args: argparse.Namespace) -> int:
    """``search --rule NAME``: stored articles the rule matches (its spellings, variants and
    conditions — the alert matcher itself, so search and alerts agree), newest first."""
    from crawler.alerts.search import search_rule
    settings = settings_from_args(args)
    rule = next((r for r in _rules(settings, None) if r.name == args.rule), None)
    if rule is None:
        print(f"error: no rule named {args.rule!r}", file=sys.stderr)
        return 2
    store = open_configured_store(settings, write=False)
    try:
        rows = search_rule(store, rule, since=args.since, until=args.until, language=args.lang,
                           source=args.source, limit=args.limit, all_copies=args.all)
    finally:
        store.close()
    for n, row in enumerate(rows, 1):
        if args.json:
            print(json.dumps(row, ensure_ascii=False, default=str))
            continue
        print(f"{n}. {row['title']}\n   {row['source']} · {row['published_at'] or 'undated'} · "
              f"{row['language'] or '?'} · {', '.join(row['matched_terms'])}\n"
              f"   {row['canonical_url']}")
    if not rows and not args.json:
        print(f"no stored article matches rule {args.rule!r}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from crawler.store import SearchQuery
    if args.rule:
        return cmd_search_rule(args)
    if not args.query:
        print("error: give a query or --rule NAME", file=sys.stderr)
        return 2
    settings = settings_from_args(args)
    store = open_configured_store(settings, write=False)
    try:
        hits = store.search(SearchQuery(text=args.query, language=args.lang, source=args.source,
                                        since=args.since, until=args.until, limit=args.limit,
                                        all_copies=args.all))
    finally:
        store.close()
    if args.json:
        for hit in hits:
            print(json.dumps(hit.to_json(), ensure_ascii=False))
        return 0
    if not hits:
        print(f"no results for {args.query!r}")
        return 0
    for n, hit in enumerate(hits, 1):
        print(f"{n}. {hit.title}")
        print(f"   {hit.source} · {hit.published_at or 'undated'} · {hit.language or '?'}"
              f" · score {hit.score:.2f}")
        print(f"   {hit.url}")
        print(f"   {hit.snippet}")
        if hit.also_reported_by:
            print(f"   also reported by: {', '.join(hit.also_reported_by)}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.extract import ExtractionError
    from crawler.extract.page import extract_page
    source = None
    if args.source:
        source = app_from_args(args).sources_by_id.get(args.source)
        if source is None:
            print(f"error: unknown source '{args.source}'", file=sys.stderr)
            return 2
    body = Path(args.file).read_bytes()
    try:
        article = extract_page(body, args.url, source)
    except ExtractionError as exc:
        print(f"error: {args.file}: not an article ({exc.reason}): {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(article.to_dict(), ensure_ascii=False, indent=None))
    else:
        data = article.to_dict()
        body_text = data.pop("body")
        for key, value in data.items():
            print(f"{key:>14}: {value}")
        print("\n" + body_text)
    return 0


def cmd_sources_check(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    path = args.file or settings.sources
    sources = load_sources(path)
    if args.online:
        from crawler.doctor import online_table
        rows, ok = online_table(settings, [s for s in sources if s.enabled], delay=args.delay)
        print(redact_text("\n".join(rows)))
        return 0 if ok else 1
    from crawler.config import source_warnings
    for warning in source_warnings(path, sources):
        print(f"warning: {warning}", file=sys.stderr)
    unverified = [s.id for s in sources if not s.verified]
    print(f"{path}: {len(sources)} sources OK "
          f"({sum(s.enabled for s in sources)} enabled"
          + (f"; unverified URLs: {', '.join(unverified)}" if unverified else "") + ")")
    return 0


def cmd_sources_doctor(args: argparse.Namespace) -> int:
    """One polite look at a source (id) or a URL: what it is, what works, what to do."""
    from crawler.doctor import run_doctor
    settings = settings_from_args(args)
    path = args.file or settings.sources
    sources = {s.id: s for s in load_sources(path)} if Path(path).exists() else {}
    report = run_doctor(args.target, settings, sources, allow_private=args.allow_private,
                        delay=args.delay)
    print(redact_text("\n".join(report.lines)))
    return 0 if report.ok else 1


def cmd_sources_list(args: argparse.Namespace) -> int:
    for s in load_sources(args.file or settings_from_args(args).sources):
        flags = ("" if s.enabled else " [disabled]") + ("" if s.verified else " [unverified]")
        print(f"{s.id:<18} {s.kind:<8} {','.join(s.languages):<12} every {int(s.interval)}s "
              f"{redact_url(s.start_urls[0])}{flags}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the bundled fixture outlets, crawl them into a fresh store, search for الرقة."""
    from crawler.sampleweb import SampleWeb, default_root
    from crawler.store import SearchQuery

    root = default_root()
    if not (root / "sources.yaml").exists():
        print(f"error: the bundled sample outlets are missing ({root}) — run from a source "
              "checkout", file=sys.stderr)
        return 2
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="chavder-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    alerts_file = workdir / "alerts.yaml"
    alerts_file.write_text("rules:\n  - name: raqqa\n    any: [[الرقة, ڕەققە, Reqa, Raqqa]]\n"
                           "    recipients: [desk@example.org]\n", encoding="utf-8")
    with SampleWeb(root) as web:
        sources_file = web.write_sources(workdir / "sources.yaml")
        sources = [s for s in load_sources(sources_file) if not s.id.startswith("hostile")]
        settings = Settings(data_dir=str(workdir), store=f"sqlite:///{workdir / 'demo.db'}",
                            sources=str(sources_file), alerts=str(alerts_file),
                            download_timeout=5.0)
        print(f"demo: serving {len(web.sites)} sample outlets on 127.0.0.1; "
              f"store {workdir / 'demo.db'}")
        with Chavder(settings, sources) as app:
            summary = app.crawl(sources, progress_interval=0,
                                overrides={"AUTOTHROTTLE_ENABLED": False})
            print(summary.table())
            sent = summary.alerts.sent if summary.alerts is not None else 0
            print(f"\nalerts: {sent} e-mail(s) for rule 'raqqa' written to "
                  f"{settings.outbox_dir}")
            print(f"\nsearch: {args.query}\n")
            hits = app.store.search(SearchQuery(text=args.query, limit=10))
    for n, hit in enumerate(hits, 1):
        print(f"{n}. [{hit.source}/{hit.language}] {hit.title}\n   {hit.snippet}\n")
    if not hits:
        print("no results")
    print(f"(try: chavder search --store sqlite:///{workdir / 'demo.db'} داعش)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from scheduler.service import Service, ServiceRefused
    settings = settings_from_args(args)
    if args.health_port is not None:
        from crawler.config import SETTING_RANGES
        problem = SETTING_RANGES["health_port"].problem("--health-port", args.health_port)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        settings.health_port = args.health_port
    try:
        return Service(Chavder.from_config(settings=settings, only_enabled=True)).run()
    except ServiceRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_status(args: argparse.Namespace) -> int:
    from crawler.alerts_cli import failed_alert_lines, failed_alerts
    settings = settings_from_args(args)
    sources = load_sources(settings.sources) if Path(settings.sources).exists() else []
    store = open_configured_store(settings, write=False)
    try:
        status = store.source_status()
        schedule = store.schedule_state()
        alerts = store.alert_counts()
        digests = store.digest_counts()
        spool = getattr(store, "spool_size", lambda: None)()
        failed = failed_alerts(store)
    finally:
        store.close()
    ids = [s.id for s in sources] + sorted(set(status) - {s.id for s in sources})
    if args.json:
        print(json.dumps(redact_data(
            {"sources": {i: {**status.get(i, {}), "next_run": schedule.get(i, {}).get("next_run")}
                         for i in ids}, "alerts": alerts, "digests": digests,
             "failed_alerts": failed, "index_spool": spool}), ensure_ascii=False, default=str))
        return 0
    from crawler.challenges import explain
    short = lambda v: (v or "-")[:19].replace("T", " ")  # noqa: E731
    print(f"{'source':<18} {'last success':<19}  {'next run':<19}  {'24h':>5}  last error")
    for sid in ids:
        st = status.get(sid, {})
        err = st.get("last_error")
        blocked = explain(err["reason"]) if err else None
        reason = blocked[0] if blocked else redact_text(err["reason"])[:60] if err else ""
        err_text = f"{short(err['at'])} {reason}" if err else "-"
        print(f"{sid:<18} {short(st.get('last_success')):<19}  "
              f"{short(schedule.get(sid, {}).get('next_run')):<19}  "
              f"{st.get('articles_24h', 0):>5}  {err_text}")
        if blocked:
            print(f"{'':<18} what to do: {blocked[1]}")
    print("\nalerts: " + (", ".join(f"{k}={v}" for k, v in sorted(alerts.items())) or "none")
          + "; digests: " + (", ".join(f"{k}={v}" for k, v in sorted(digests.items())) or "none")
          + (f"; index spool: {spool} waiting" if spool is not None else ""))
    for line in failed_alert_lines(failed, alerts.get("failed", 0)):
        print(line)
    return 0


def cmd_story(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    store = open_configured_store(settings, write=False)
    try:
        story = store.story(args.story_id)
    finally:
        store.close()
    if story is None:
        print(f"no story {args.story_id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(story, ensure_ascii=False, default=str))
        return 0
    rep = next((a for a in story["articles"] if a["id"] == story["representative_id"]),
               story["articles"][0])
    print(f"story {story['id']}: {rep['title']}")
    print(f"  outlets: {', '.join(story['outlets'])}")
    print(f"  first seen {story['first_seen']} · last seen {story['last_seen']}")
    for a in story["articles"]:
        marker = "*" if a["id"] == story["representative_id"] else " "
        print(f"  {marker} [{a['source']}] {a['published_at'] or 'undated'} rev {a['revision']} "
              f"{a['canonical_url']}")
    return 0


def _rules(settings: Settings, path: str | None):
    from crawler.alerts.rules import load_rules
    known = None
    if Path(settings.sources).exists():
        known = [s.id for s in load_sources(settings.sources)]
    return load_rules(path or settings.alerts, known_sources=known)


def cmd_alerts_check(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    rules = _rules(settings, args.file)
    recipients = {r.key for rule in rules for r in rule.recipients}
    print(f"{args.file or settings.alerts}: {len(rules)} rules OK, {len(recipients)} recipients")
    return 0


def cmd_alerts_list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    for rule in _rules(settings, args.file):
        terms = sum(len(g) for g in rule.any)
        print(f"{rule.name:<24} {rule.mode:<8} {terms:>3} terms  "
              f"langs={','.join(rule.languages) or 'any'}  "
              f"recipients={len(rule.recipients)}")
    return 0


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from crawler.alerts.explain import explain
    from crawler.text import detect, normalize
    settings = settings_from_args(args)
    rules = [r for r in _rules(settings, args.file) if r.name == args.rule]
    if not rules:
        print(f"error: no rule named {args.rule!r}", file=sys.stderr)
        return 2
    language = args.lang or detect(args.text)[0]
    result = explain(rules[0], "", args.text, language=language, source=args.source)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(f"language: {language}")
        print(f"normalised: {normalize(args.text, language)}")
        print("\n".join(result.lines()))
    return 0 if result.fired else 1


def cmd_alerts_send(args: argparse.Namespace) -> int:
    with app_from_args(args) as app:
        if alerting_of(app) is None:
            return 2
        report = app.dispatch_alerts()
        counts = app.store.alert_counts()
    print(f"alerts: {report.sent} sent, {report.retrying} waiting to retry, {report.failed} "
          f"failed" + (f", {report.busy} sent by another process" if report.busy else "")
          + "; ledger: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 0


def cmd_alerts_run(args: argparse.Namespace) -> int:
    """Apply the rules (or ``--rule NAME``) to articles already stored (e.g. after adding a
    rule)."""
    from crawler.alerts.matcher import Matcher
    with app_from_args(args) as app:
        alerting = alerting_of(app)
        if alerting is None:
            return 2
        if args.rule:
            rule = alerting.rules_by_name.get(args.rule)
            if rule is None:
                print(f"error: no enabled rule named {args.rule!r}", file=sys.stderr)
                return 2
            alerting.matcher = Matcher([rule])        # backfill this rule only
        rows = app.store.articles_since(args.since)
        would = 0
        for row in rows:
            matches = alerting.matcher.match(row["title"], row["body"],
                                             language=row["language"], source=row["source"])
            for m in matches:
                would += 1
                print(f"[{m.rule.name}] story {row['story_id']} {row['source']}: {row['title']}")
        if args.dry_run:
            print(f"{len(rows)} articles checked, {would} rule matches (dry run: nothing queued)")
            return 0
        queued = alerting.recheck(rows)
        report = alerting.dispatch_due()
        print(f"{len(rows)} articles checked, {would} rule matches, {queued} new alerts "
              f"queued, {report.sent} sent, {report.retrying} waiting to retry")
    return 0


def cmd_langid(args: argparse.Namespace) -> int:
    from crawler.text import langid
    main_langid = getattr(langid, "main_langid", None)
    if main_langid is not None:
        return int(main_langid(sys.stdin, sys.stdout))
    for line in sys.stdin:
        code, confidence = langid.detect(line.rstrip("\n"))
        print(f"{code}\t{confidence:.3f}")
    return 0


# ---------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chavder", description="Chavder — news monitoring for Kurdish and Arabic media.")
    parser.add_argument("--config", help="settings file (default: chavder.yaml if present)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs, incl. Scrapy")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", help="store URL (default sqlite:///data/chavder.db)")
        p.add_argument("--sources", help="source list (default sources.yaml)")

    p = sub.add_parser("crawl", help="crawl the chosen (default: all enabled) sources once")
    common(p)
    p.add_argument("--source", action="append", metavar="ID", help="crawl only this source "
                   "(repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--progress-interval", type=float, default=10.0, metavar="SECONDS")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("search", help="full-text search of stored articles")
    common(p)
    p.add_argument("query", nargs="?")
    p.add_argument("--rule", help="search with this alert rule's terms, variants and conditions")
    p.add_argument("--lang")
    p.add_argument("--source")
    p.add_argument("--since", type=_parse_when)
    p.add_argument("--until", type=_parse_when)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--all", action="store_true", help="list every copy, not one row per story")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("extract", help="extract one saved HTML file (the extraction contract)")
    common(p)
    p.add_argument("file")
    p.add_argument("--url", required=True, help="the URL the page was fetched from")
    p.add_argument("--source", help="use this source's time zone and selectors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("sources", help="check or list the source list")
    ssub = p.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    q = ssub.add_parser("check", help="validate a source list")
    q.add_argument("file", nargs="?")
    q.add_argument("--online", action="store_true", help="also run the doctor over every "
                   "enabled source (fetches each once) and print one table")
    q.add_argument("--delay", type=float, default=1.0, metavar="SECONDS",
                   help="with --online: pause between requests")
    q.set_defaults(func=cmd_sources_check, sources=None)
    q = ssub.add_parser("doctor", help="fetch a source (id) or URL once and explain what it "
                        "is, what works and the next step")
    common(q)
    q.add_argument("target", metavar="ID|URL")
    q.add_argument("--file", help="source list (default: the settings' sources)")
    q.add_argument("--allow-private", action="store_true", help="a URL on your own network "
                   "(loopback/private addresses) may be fetched")
    q.add_argument("--delay", type=float, default=1.0, metavar="SECONDS",
                   help="pause between requests (politeness; default 1)")
    q.set_defaults(func=cmd_sources_doctor)
    q = ssub.add_parser("list", help="list sources")
    q.add_argument("file", nargs="?")
    q.set_defaults(func=cmd_sources_list, sources=None)

    p = sub.add_parser("demo", help="crawl the bundled sample outlets on 127.0.0.1 and search")
    p.add_argument("--dir", help="where to put the demo store (default: a temp dir)")
    p.add_argument("--query", default="الرقة")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run the service: scheduled crawls, alerts, digests")
    common(p)
    p.add_argument("--health-port", type=int, help="port of /healthz and /metrics "
                   "(default 9410 on 127.0.0.1; 0 = any free port; -1 = off)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="per source: last success, next run, last error")
    common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("story", help="show a story cluster: its copies and outlets")
    common(p)
    p.add_argument("story_id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_story)

    p = sub.add_parser("alerts", help="check, list, test and apply alert rules")
    asub = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    for name, func, text in (("check", cmd_alerts_check, "validate alerts.yaml"),
                             ("list", cmd_alerts_list, "list rules")):
        q = asub.add_parser(name, help=text)
        common(q)
        q.add_argument("file", nargs="?")
        q.set_defaults(func=func)
    q = asub.add_parser("test", help="does RULE match this text? (shows terms and positions)")
    common(q)
    q.add_argument("rule")
    q.add_argument("--text", required=True)
    q.add_argument("--lang")
    q.add_argument("--source")
    q.add_argument("--file")
    q.add_argument("--json", action="store_true", help="the explanation as one JSON object")
    q.set_defaults(func=cmd_alerts_test)
    q = asub.add_parser("send", help="deliver queued alerts that are due now (after an outage)")
    common(q)
    q.set_defaults(func=cmd_alerts_send)
    q = asub.add_parser("run", help="apply the rules to stored articles since DATE")
    common(q)
    q.add_argument("--since", type=_parse_when, required=True)
    q.add_argument("--dry-run", action="store_true")
    q.add_argument("--rule", help="backfill this rule only")
    q.set_defaults(func=cmd_alerts_run)
    from crawler.alerts_cli import register as register_alerts_retry
    register_alerts_retry(asub, common)

    p = sub.add_parser("langid", help="identify the language of each stdin line")
    p.set_defaults(func=cmd_langid)
    from crawler.es_cli import register_commands as register_es_commands
    register_es_commands(sub)
    from crawler.digest_cli import register_commands as register_digest_commands
    register_digest_commands(sub)
    return parser


def _redacted_excepthook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    """A traceback nobody caught still must not print a URL's password."""
    import traceback
    sys.stderr.write(redact_text("".join(traceback.format_exception(kind, exc, tb))))


def main(argv: Sequence[str] | None = None) -> int:
    from crawler.logs import setup_logging
    sys.excepthook = _redacted_excepthook
    from crawler.store.faults import EXIT_CODE, StoreUnusable, unusable
    args = build_parser().parse_args(argv)
    setup_logging(os.environ.get("CHAVDER_LOG_LEVEL", "DEBUG" if args.verbose else "INFO"),
                  json_lines=args.log_json, verbose=args.verbose)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()   # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except ConfigError as exc:
        print(f"configuration error:\n{redact_text(str(exc))}", file=sys.stderr)
        return 2
    except StoreUnusable as exc:   # every command, wherever it met the file: one line
        log.debug("store unusable", exc_info=True)
        print(f"error: {exc.line()}", file=sys.stderr)
        return EXIT_CODE
    except sqlite3.DatabaseError as exc:   # raised past the store's own translation
        fault = unusable(exc, _store_name(args))
        if fault is None:
            raise
        log.debug("store unusable", exc_info=True)
        print(f"error: {fault.line()}", file=sys.stderr)
        return EXIT_CODE
    except KeyboardInterrupt:
        return 130


def _reader_went_away() -> int:
    """stdout's reader closed the pipe (``chavder search … | head -1``): that is how such a
    pipeline ends, not an error, so say nothing. Later writes (the interpreter's final flush)
    go to /dev/null, as the Python docs advise for SIGPIPE; 141 is the shell's status for a
    command ended by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def _store_name(args: argparse.Namespace) -> str:
    """The configured store URL (secrets dropped), for a message about its file."""
    try:
        url = settings_from_args(args).store
    except Exception:  # noqa: BLE001 - only for a message
        return "(the configured store)"
    return url.rpartition("@")[2] if "@" in url else url


if __name__ == "__main__":
    sys.exit(main())
