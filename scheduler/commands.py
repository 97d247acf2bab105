"""The service's command line: ``chavder run`` (the scheduled service) and ``chavder status``
(what it is doing).

The ``chavder`` group (``crawler/cli/``) names these two by module path and loads them when
used (``crawler/cli/service.py``), so the domain package never imports the service package that
is built on it. Importing this module imports neither Scrapy nor Twisted (``status`` starts
fast); ``run`` imports the service when it starts it.
"""
from __future__ import annotations

import json
import sys

import click

from crawler import defaults
from crawler.cli.common import Invocation, pass_invocation, store_options
from crawler.redact import redact_data, redact_text


@click.command("run", help="run the service: scheduled crawls, alerts, digests")
@store_options
@click.option("--health-port", type=int, metavar="N", help="port of /healthz and /metrics "
              f"(default {defaults.HEALTH_PORT} on {defaults.HEALTH_HOST}; 0 = any free port; "
              "-1 = off)")
@click.option("--wait", is_flag=True, help="with redis_url: if another controller holds the "
              "frontier, wait until it stops instead of refusing to start")
@pass_invocation
def cmd_run(inv: Invocation, health_port: int | None, wait: bool) -> int:
    from scheduler.runlock import ServiceRefused
    from scheduler.service import Service
    settings = inv.settings
    if health_port is not None:
        from crawler.config import SETTING_RANGES
        problem = SETTING_RANGES["health_port"].problem("--health-port", health_port)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        settings.health_port = health_port
    controller = None
    if settings.redis_url:   # the controller of a scale-out frontier (crawler/scaleout/)
        from crawler.scaleout.controller import Controller
        from crawler.scaleout.lease import LeaseRefused
        controller = Controller.from_settings(settings)
        try:
            controller.acquire(wait=wait)
        except LeaseRefused as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        return Service(inv.app(only_enabled=True), controller=controller).run()
    except ServiceRefused as exc:
        if controller is not None:
            controller.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2


@click.command("status", help="whether the service runs; per source: last success, next run, "
               "last error")
@store_options
@click.option("--json", "as_json", is_flag=True, help="print the status as one JSON object")
@pass_invocation
def cmd_status(inv: Invocation, as_json: bool) -> int:
    from crawler.cli.alerts import failed_alert_lines, failed_alerts
    from scheduler.runlock import service_state
    sources = inv.known_sources()
    store = inv.open_store(write=False)
    service = service_state(inv.settings)
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
    if as_json:
        print(json.dumps(redact_data(
            {"service": service.as_dict(),
             "sources": {i: {**status.get(i, {}), "next_run": schedule.get(i, {}).get("next_run")}
                         for i in ids}, "alerts": alerts, "digests": digests,
             "failed_alerts": failed, "index_spool": spool}), ensure_ascii=False, default=str))
        return 0
    from crawler.challenges import explain
    short = lambda v: (v or "-")[:19].replace("T", " ")  # noqa: E731
    print(service.line() + "\n")
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
