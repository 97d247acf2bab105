"""``chavder worker``: a crawl worker on the scale-out frontier (``redis_url``)."""
from __future__ import annotations

import sys

import click

from crawler import defaults
from crawler.cli.common import Invocation, pass_invocation, store_options


@click.command("worker", help="crawl for the controller: take jobs and article URLs from the "
               "Redis frontier (redis_url), fetch, extract, store; run any number")
@store_options
@click.option("--prefetch", type=click.IntRange(1, 1000), default=defaults.WORKER_PREFETCH,
              show_default=True, help="article URLs held at once (unacknowledged)")
@click.option("--max-jobs", type=click.IntRange(1, 64), default=defaults.WORKER_MAX_DISCOVERIES,
              show_default=True, help="index crawls (due sources) run at once")
@pass_invocation
def cmd_worker(inv: Invocation, prefetch: int, max_jobs: int) -> int:
    settings = inv.settings
    if not settings.redis_url:
        where = settings.path or defaults.CONFIG_FILE
        print(f"error: a worker needs the frontier: set redis_url in {where} (e.g. "
              "redis_url: redis://127.0.0.1:6379/0) — without Redis, `chavder run` crawls "
              "by itself", file=sys.stderr)
        return 2
    from crawler.scaleout.frontier import Frontier
    from crawler.scaleout.worker import Worker
    worker = Worker(inv.app(only_enabled=True), Frontier.from_url(settings.redis_url),
                    settings.redis_url, prefetch=prefetch, max_discoveries=max_jobs)
    return worker.run()
