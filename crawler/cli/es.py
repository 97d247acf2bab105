"""``chavder es setup | reindex | status | flush`` and ``chavder kibana import``: set up,
backfill and inspect the Elasticsearch index, and load the Kibana saved objects."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import click

from crawler.cli.common import Invocation, pass_invocation, store_option
from crawler.redact import redact_text, redact_url

DEFAULT_KIBANA_URL = "http://localhost:5601"
ES_STORE_HELP = ("Elasticsearch store URL (default: 'store:' of chavder.yaml), e.g. "
                 "https://chavder@localhost:9200")


def kibana_objects(inv: Invocation, file: str | None) -> tuple[bytes, str]:
    """The NDJSON to import and where it came from: ``--file`` as given, else built now from
    the configured alerts.yaml (so Kibana's saved searches are the rules in force)."""
    if file:
        path = Path(file)
        if not path.exists():
            raise FileNotFoundError(f"{path}: saved objects file not found")
        return path.read_bytes(), str(path)
    from crawler.alerts.rules import load_rules
    from crawler.kibana import render
    alerts = inv.settings.alerts
    if not Path(alerts).exists():
        raise FileNotFoundError(f"{alerts}: alert rules not found — saved searches are built "
                                "from alerts.yaml (or give --file)")
    return render(load_rules(alerts)).encode("utf-8"), f"the rules in {alerts}"


# ---------------------------------------------------------------------------- helpers

def _es_config(inv: Invocation) -> Any:
    """The Elasticsearch configuration of the settings' (or --store's) URL."""
    from crawler.config import ConfigError
    from crawler.store.elasticsearch import EsConfig, is_elasticsearch_url
    settings = inv.settings
    url = settings.store
    if not is_elasticsearch_url(url):
        raise ConfigError([f"store is {redact_url(url)!r}, not Elasticsearch — pass --store "
                           "https://user@host:9200 or set 'store:' in chavder.yaml"])
    try:
        return EsConfig.from_url(url, settings.data_dir)
    except ValueError as exc:
        raise ConfigError([f"store {redact_url(url)!r}: {redact_text(str(exc))}"]) from None


def _wait_for(what: str, probe: Callable[[], Any], seconds: float,
              err: TextIO | None = None) -> Any:
    """Call ``probe`` until it succeeds or ``seconds`` pass (compose start-up order)."""
    deadline = time.monotonic() + seconds
    announced = False
    while True:
        try:
            return probe()
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            if time.monotonic() >= deadline:
                raise
            if not announced:
                print(f"waiting for {what} ({type(exc).__name__}) …", file=err or sys.stderr)
                announced = True
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


class _Progress:
    """Periodic one-line status on stderr (no terminal control, fine in logs and CI)."""

    def __init__(self, label: str, every: float = 2.0, out: TextIO | None = None):
        self.label, self.every = label, every
        self.out = out or sys.stderr
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        pct = f" ({100 * done / total:.0f} %)" if total else ""
        eta = f", about {(total - done) / rate:.0f} s left" if rate and done < total else ""
        print(f"{self.label}: {done}/{total}{pct}, {rate:.0f}/s{eta}", file=self.out, flush=True)


# ---------------------------------------------------------------------------- es commands

@click.group("es", help="Elasticsearch index: setup, reindex, status, flush")
def es() -> None:
    pass


@es.command("setup", help="install the index template, first index and alias (idempotent)")
@store_option(ES_STORE_HELP)
@click.option("--wait", type=float, default=0, metavar="SECONDS",
              help="wait this long for Elasticsearch to come up")
@click.option("--print-template", is_flag=True, help="print the template and exit")
@pass_invocation
def cmd_es_setup(inv: Invocation, wait: float, print_template: bool) -> int:
    from crawler.store.elasticsearch import (SetupError, index_template, make_client,
                                             setup_indices)
    if print_template:
        print(json.dumps(index_template(), ensure_ascii=False, indent=2))
        return 0
    cfg = _es_config(inv)
    client = make_client(cfg, timeout=30, retries=2)
    try:
        _wait_for(f"Elasticsearch at {cfg.safe_url}", client.info, wait)
        for line in setup_indices(client, cfg.alias, cfg.alerts_alias):
            print(line)
    except SetupError as exc:
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - report, don't dump a trace
        print(f"error: Elasticsearch at {cfg.safe_url}: {redact_text(str(exc))}",
              file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


@es.command("reindex", help="backfill the index from the embedded SQLite store")
@store_option(ES_STORE_HELP)
@click.option("--from", "source", default="sqlite", metavar="SOURCE", show_default=True,
              help="'sqlite' (the sidecar), sqlite:///path.db or a file path")
@click.option("--batch-size", type=int, default=500, show_default=True)
@click.option("--progress-interval", type=float, default=2.0, metavar="SECONDS",
              show_default=True)
@click.option("--wait", type=float, default=0, metavar="SECONDS",
              help="wait this long for Elasticsearch to come up")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@pass_invocation
def cmd_es_reindex(inv: Invocation, source: str, batch_size: int, progress_interval: float,
                   wait: float, as_json: bool) -> int:
    from crawler.store.elasticsearch import make_client, reindex_from_sqlite, setup_indices
    cfg = _es_config(inv)
    if source == "sqlite":
        path = Path(cfg.sidecar)
    elif source.startswith("sqlite:"):
        rest = source[len("sqlite:"):]
        path = Path(rest[3:] if rest.startswith("///") else rest.removeprefix("//"))
    else:
        path = Path(source)
    if not path.exists():
        print(f"error: {path}: no SQLite store to reindex from", file=sys.stderr)
        return 2
    client = make_client(cfg, timeout=60, retries=3)
    try:
        _wait_for(f"Elasticsearch at {cfg.safe_url}", client.info, wait)
        setup_indices(client, cfg.alias, cfg.alerts_alias)
        print(f"reindexing {path} into {cfg.alias} at {cfg.safe_url}", file=sys.stderr)
        report = reindex_from_sqlite(client, path, cfg, batch_size=batch_size,
                                     progress=_Progress("reindex", progress_interval))
    except Exception as exc:  # noqa: BLE001
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    finally:
        client.close()
    summary = {"articles": report.articles, "alerts": report.alerts, "failed": report.failed,
               "seconds": round(report.seconds, 1), "errors": report.errors}
    print(json.dumps(summary, ensure_ascii=False) if as_json else
          f"indexed {report.articles} article(s) and {report.alerts} alert(s) in "
          f"{report.seconds:.1f} s; {report.failed} failed"
          + ("".join(f"\n  {e}" for e in report.errors)))
    return 0 if report.failed == 0 else 1


@es.command("status", help="reachability, document count, spool size")
@store_option(ES_STORE_HELP)
@click.option("--json", "as_json", is_flag=True, help="print the status as JSON")
@pass_invocation
def cmd_es_status(inv: Invocation, as_json: bool) -> int:
    from crawler.store.elasticsearch import ElasticsearchStore
    store = ElasticsearchStore(_es_config(inv), background=False)
    try:
        status = store.status()
    finally:
        store.close(timeout=0)
    if as_json:
        print(json.dumps(status, ensure_ascii=False))
    else:
        for key, value in status.items():
            print(f"{key:18} {value}")
    return 0 if status.get("reachable") else 1


@es.command("flush", help="replay spooled index writes now")
@store_option(ES_STORE_HELP)
@click.option("--requeue-dead", is_flag=True,
              help="retry writes Elasticsearch rejected (after fixing the template)")
@pass_invocation
def cmd_es_flush(inv: Invocation, requeue_dead: bool) -> int:
    """Replay the spool now (``chavder run`` does this continuously)."""
    from crawler.store.elasticsearch import ElasticsearchStore
    store = ElasticsearchStore(_es_config(inv), background=False)
    try:
        if requeue_dead:
            print(f"re-queued {store.spool.requeue_dead()} dead letter(s)")
        report = store.flush()
        if report.ok:                     # what was sent is searchable when this returns
            store.client.indices.refresh(index=store.config.alias)
    finally:
        store.close(timeout=0)
    print(f"sent {report.sent}, waiting {report.remaining}, dead {report.dead}"
          + (f"; error: {report.error}" if report.error else ""))
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------- kibana

def _kibana_auth(user: str | None) -> dict[str, str]:
    import base64
    api_key = os.environ.get("CHAVDER_KIBANA_API_KEY") or os.environ.get("CHAVDER_ES_API_KEY")
    if api_key:
        return {"Authorization": f"ApiKey {api_key}"}
    password = os.environ.get("CHAVDER_KIBANA_PASSWORD") or os.environ.get("CHAVDER_ES_PASSWORD")
    if user and password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def import_saved_objects(kibana_url: str, ndjson: bytes, *, headers: dict[str, str],
                         space: str | None = None, overwrite: bool = True,
                         timeout: float = 60.0) -> dict:
    """POST the NDJSON to Kibana's saved objects import API; returns Kibana's JSON answer."""
    import urllib.error
    import urllib.request
    import uuid
    boundary = f"chavder-{uuid.uuid4().hex}"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"chavder.ndjson\"\r\nContent-Type: application/ndjson\r\n\r\n"
            ).encode() + ndjson + f"\r\n--{boundary}--\r\n".encode()
    base = kibana_url.rstrip("/") + (f"/s/{space}" if space else "")
    url = f"{base}/api/saved_objects/_import?overwrite={'true' if overwrite else 'false'}"
    request = urllib.request.Request(url, data=body, method="POST", headers={
        **headers, "kbn-xsrf": "chavder",
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise RuntimeError(f"Kibana answered HTTP {exc.code}: {detail}") from None


@click.group("kibana", help="Kibana saved objects (data views, dashboard)")
def kibana() -> None:
    pass


@kibana.command("import", short_help="import data views, the dashboard and the rules' searches",
                help="import data views, the dashboard and a saved search per alert rule "
                "(built from alerts.yaml now) into Kibana")
@click.option("--url", help=f"Kibana base URL (default $CHAVDER_KIBANA_URL or "
              f"{DEFAULT_KIBANA_URL})")
@click.option("--file", metavar="FILE", help="import this saved-objects NDJSON instead of "
              "building it from alerts.yaml")
@click.option("--user", envvar="CHAVDER_KIBANA_USER", default="elastic", show_default=True,
              help="user for basic auth ($CHAVDER_KIBANA_USER); password from "
              "CHAVDER_KIBANA_PASSWORD or CHAVDER_ES_PASSWORD (an API key in "
              "CHAVDER_KIBANA_API_KEY wins)")
@click.option("--space", help="Kibana space id (default: the default space)")
@click.option("--wait", type=float, default=0, metavar="SECONDS",
              help="wait this long for Kibana to come up")
@pass_invocation
def cmd_kibana_import(inv: Invocation, url: str | None, file: str | None, user: str,
                      space: str | None, wait: float) -> int:
    import urllib.request
    try:
        ndjson, origin = kibana_objects(inv, file)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    headers = _kibana_auth(user)
    url = url or os.environ.get("CHAVDER_KIBANA_URL") or DEFAULT_KIBANA_URL

    def ready() -> None:
        req = urllib.request.Request(url.rstrip("/") + "/api/status", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")

    try:
        if wait:
            _wait_for(f"Kibana at {redact_url(url)}", ready, wait)
        result = import_saved_objects(url, ndjson, headers=headers, space=space)
    except Exception as exc:  # noqa: BLE001
        print(f"error: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    errors = result.get("errors") or []
    print(f"imported {result.get('successCount', 0)} saved object(s) from {origin} into "
          f"{redact_url(url)}")
    for e in errors:
        print(f"  {e.get('type')} {e.get('id')}: {json.dumps(e.get('error'))}", file=sys.stderr)
    return 0 if result.get("success") and not errors else 1
