"""``chavder crawl``, ``chavder demo`` and ``chavder extract``: the commands that fetch or
extract. Scrapy is imported inside them (through ``crawler.crawl``), never at start-up."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from crawler import defaults
from crawler.cli.common import Invocation, pass_invocation, store_options
from crawler.redact import redact_url

log = logging.getLogger("chavder")


@click.command("crawl", help="crawl the chosen (default: all enabled) sources once")
@store_options
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="crawl only this source (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--progress-interval", type=float, default=defaults.PROGRESS_INTERVAL,
              metavar="SECONDS",
              show_default=True, help="log progress this often (0: never)")
@pass_invocation
def cmd_crawl(inv: Invocation, source_ids: tuple[str, ...], as_json: bool,
              progress_interval: float) -> int:
    from crawler.app import UnknownSource
    from crawler.crawl import crawl_once
    app = inv.app()
    try:
        sources = app.select(source_ids)
    except UnknownSource as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if not sources:
        print("nothing to crawl: no enabled sources", file=sys.stderr)
        return 0
    with app:
        app.store   # noqa: B018 - an unusable store is one line before anything is said
        log.info("crawling %d source(s) into %s", len(sources), redact_url(app.settings.store))
        summary = crawl_once(app, sources, progress_interval=progress_interval)
    report = summary.alerts
    alerts = None if report is None else {"sent": report.sent, "retrying": report.retrying,
                                          "failed": report.failed}
    if as_json:
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


@click.command("extract", help="extract one saved HTML file (the extraction contract)")
@store_options
@click.argument("file")
@click.option("--url", required=True, help="the URL the page was fetched from")
@click.option("--source", metavar="ID", help="use this source's time zone and selectors")
@click.option("--json", "as_json", is_flag=True, help="print the article as one JSON object")
@pass_invocation
def cmd_extract(inv: Invocation, file: str, url: str, source: str | None,
                as_json: bool) -> int:
    from crawler.extract import ExtractionError
    from crawler.extract.page import extract_page
    config = None
    if source:
        config = inv.app().sources_by_id.get(source)
        if config is None:
            print(f"error: unknown source '{source}'", file=sys.stderr)
            return 2
    body = Path(file).read_bytes()
    try:
        article = extract_page(body, url, config)
    except ExtractionError as exc:
        print(f"error: {file}: not an article ({exc.reason}): {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(article.to_dict(), ensure_ascii=False, indent=None))
    else:
        data = article.to_dict()
        body_text = data.pop("body")
        for key, value in data.items():
            print(f"{key:>14}: {value}")
        print("\n" + body_text)
    return 0


@click.command("demo", help="crawl the bundled sample outlets on 127.0.0.1 and search")
@click.option("--dir", "directory", metavar="DIR",
              help="where to put the demo store (default: a temp dir)")
@click.option("--query", default="الرقة", show_default=True, help="what to search for")
def cmd_demo(directory: str | None, query: str) -> int:
    """Serve the bundled fixture outlets, crawl them into a fresh store, search for الرقة."""
    import tempfile

    from crawler.app import Chavder
    from crawler.config import Settings, load_sources
    from crawler.crawl import crawl_once
    from crawler.sampleweb import SampleWeb, default_root
    from crawler.store import SearchQuery

    root = default_root()
    if not (root / "sources.yaml").exists():
        print(f"error: the bundled sample outlets are missing ({root}) — run from a source "
              "checkout", file=sys.stderr)
        return 2
    workdir = Path(directory or tempfile.mkdtemp(prefix="chavder-demo-"))
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
            summary = crawl_once(app, sources, progress_interval=0,
                                 overrides={"AUTOTHROTTLE_ENABLED": False})
            print(summary.table())
            sent = summary.alerts.sent if summary.alerts is not None else 0
            print(f"\nalerts: {sent} e-mail(s) for rule 'raqqa' written to "
                  f"{settings.outbox_dir}")
            print(f"\nsearch: {query}\n")
            hits = app.store.search(SearchQuery(text=query, limit=10))
    for n, hit in enumerate(hits, 1):
        print(f"{n}. [{hit.source}/{hit.language}] {hit.title}\n   {hit.snippet}\n")
    if not hits:
        print("no results")
    print(f"(try: chavder search --store sqlite:///{workdir / 'demo.db'} داعش)")
    return 0
