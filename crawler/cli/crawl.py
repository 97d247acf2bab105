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
@click.option("--keep", "--dir", "directory", metavar="DIR",
              help="keep the demo store in DIR, with a chavder.yaml for the other commands "
              "(default: a temporary folder, removed at the end)")
@click.option("--query", default="الرقة", show_default=True, help="what to search for")
def cmd_demo(directory: str | None, query: str) -> int:
    """Serve the bundled sample outlets (and a wire outlet that republishes one of their
    stories), crawl them into a fresh store, search it; keep it with ``--keep DIR``."""
    import shutil
    import tempfile

    from crawler.sampleweb import default_root

    root = default_root()
    if not (root / "sources.yaml").exists():
        print(f"error: the bundled sample outlets are missing ({root}) — run from a source "
              "checkout", file=sys.stderr)
        return 2
    workdir = Path(directory).resolve() if directory else Path(
        tempfile.mkdtemp(prefix="chavder-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        code = _demo(root, workdir, query, keep=directory is not None)
    finally:
        if directory is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if directory is None:
        print(f"\ndemo: removed its temporary folder {workdir}; `chavder demo --keep DIR` "
              "keeps the store for the other commands")
    return code


def _demo(root: Path, workdir: Path, query: str, *, keep: bool) -> int:
    from crawler import demo
    from crawler.app import Chavder
    from crawler.cli.results import print_results
    from crawler.config import Settings, load_sources
    from crawler.crawl import crawl_once
    from crawler.sampleweb import SampleWeb
    from crawler.store import SearchQuery

    alerts_file = workdir / "alerts.yaml"
    alerts_file.write_text(demo.ALERT_RULES, encoding="utf-8")
    store_url = f"sqlite:///{workdir / 'demo.db'}"
    wire = demo.write_wire_outlet(root, workdir / "web")
    with SampleWeb(root, extra_sites=[wire]) as web:
        sources_file = workdir / "sources.yaml"
        sources_file.write_text(web.substitute(
            (root / "sources.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n"
            + demo.wire_source_yaml()), encoding="utf-8")
        sources = [s for s in load_sources(sources_file) if not s.id.startswith("hostile")]
        settings = Settings(data_dir=str(workdir), store=store_url, sources=str(sources_file),
                            alerts=str(alerts_file), download_timeout=5.0)
        print(f"demo: serving {len(sources)} sample outlets on 127.0.0.1 "
              f"({', '.join(s.id for s in sources)}); store {workdir / 'demo.db'}")
        with Chavder(settings, sources) as app:
            summary = crawl_once(app, sources, progress_interval=0,
                                 overrides={"AUTOTHROTTLE_ENABLED": False})
            print(summary.table())
            sent = summary.alerts.sent if summary.alerts is not None else 0
            print(f"\nalerts: {sent} e-mail(s) for rule 'raqqa' written to "
                  f"{settings.outbox_dir}")
            print(f"\nsearch: {query}\n")
            hits = app.store.search(SearchQuery(text=query, limit=10))
    print_results(hits, sys.stdout)
    if not hits:
        print("no results")
    if keep:
        config = demo.write_settings(workdir, store_url, sources_file, alerts_file)
        print(f"\ndemo store kept in {workdir} — use it with the other commands:\n"
              f"  chavder --config {config} search داعش\n"
              f"  chavder --store {store_url} story {hits[0].story_id if hits else 1}")
    return 0
