"""``chavder web``: the web interface for analysts (search, stories, attention, alerts, sources)
in the foreground; ``chavder run`` serves the same pages when ``web_port`` is set."""
from __future__ import annotations

import sys

import click

from crawler import defaults
from crawler.cli.common import Invocation, pass_invocation, store_options


@click.command("web", help="serve the web interface (search, stories, alerts, sources; "
               "read-only)")
@store_options
@click.option("--host", metavar="ADDR", help=f"address to listen on (default: the web_host "
              f"setting, {defaults.WEB_HOST}); any other than loopback needs "
              "CHAVDER_WEB_TOKEN or basic-auth credentials")
@click.option("--port", type=click.IntRange(0, 65535), metavar="N",
              help=f"TCP port (default: the web_port setting, else {defaults.WEB_CLI_PORT}; "
              "0 = any free port)")
@click.option("--access-log", is_flag=True, help="log every request")
@pass_invocation
def cmd_web(inv: Invocation, host: str | None, port: int | None, access_log: bool) -> int:
    from crawler.web.server import WebRefused, build, serve
    settings = inv.settings
    host = host or settings.web_host
    if port is None:
        port = settings.web_port if settings.web_port >= 0 else defaults.WEB_CLI_PORT
    try:
        web = build(settings, host, port, access_log=access_log)
    except WebRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Chavder web interface on {web.url} (Ctrl-C stops it)", flush=True)
    serve(web)
    return 0
