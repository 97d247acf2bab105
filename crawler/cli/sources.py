"""``chavder sources check | doctor | list``: the source list, and one polite look at a site."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.common import Invocation, pass_invocation, store_options
from crawler.redact import redact_text, redact_url


@click.group("sources", help="check or list the source list")
def sources() -> None:
    pass


@sources.command("check", help="validate a source list")
@click.argument("file", required=False)
@click.option("--online", is_flag=True, help="also run the doctor over every enabled source "
              "(fetches each once) and print one table")
@click.option("--delay", type=float, default=1.0, metavar="SECONDS", show_default=True,
              help="with --online: pause between requests")
@pass_invocation
def cmd_sources_check(inv: Invocation, file: str | None, online: bool, delay: float) -> int:
    from crawler.config import load_sources
    settings = inv.settings
    path = file or settings.sources
    listed = load_sources(path)
    if online:
        from crawler.doctor import online_table
        rows, ok = online_table(settings, [s for s in listed if s.enabled], delay=delay)
        print(redact_text("\n".join(rows)))
        return 0 if ok else 1
    from crawler.config import source_warnings
    for warning in source_warnings(path, listed):
        print(f"warning: {warning}", file=sys.stderr)
    unverified = [s.id for s in listed if not s.verified]
    print(f"{path}: {len(listed)} sources OK "
          f"({sum(s.enabled for s in listed)} enabled"
          + (f"; unverified URLs: {', '.join(unverified)}" if unverified else "") + ")")
    return 0


@sources.command("doctor", short_help="explain a source (id) or URL, and the next step",
                 help="fetch a source (id) or URL once and explain what it is, what "
                 "works and the next step")
@store_options
@click.argument("target", metavar="ID|URL")
@click.option("--file", metavar="FILE", help="source list (default: the settings' sources)")
@click.option("--allow-private", is_flag=True, help="a URL on your own network "
              "(loopback/private addresses) may be fetched")
@click.option("--delay", type=float, default=1.0, metavar="SECONDS", show_default=True,
              help="pause between requests (politeness)")
@pass_invocation
def cmd_sources_doctor(inv: Invocation, target: str, file: str | None, allow_private: bool,
                       delay: float) -> int:
    """One polite look at a source (id) or a URL: what it is, what works, what to do."""
    from crawler.config import load_sources
    from crawler.doctor import run_doctor
    settings = inv.settings
    path = file or settings.sources
    known = {s.id: s for s in load_sources(path)} if Path(path).exists() else {}
    report = run_doctor(target, settings, known, allow_private=allow_private, delay=delay)
    print(redact_text("\n".join(report.lines)))
    return 0 if report.ok else 1


@sources.command("list", help="list sources")
@click.argument("file", required=False)
@pass_invocation
def cmd_sources_list(inv: Invocation, file: str | None) -> int:
    from crawler.config import load_sources
    for s in load_sources(file or inv.settings.sources):
        flags = ("" if s.enabled else " [disabled]") + ("" if s.verified else " [unverified]")
        print(f"{s.id:<18} {s.kind:<8} {','.join(s.languages):<12} every {int(s.interval)}s "
              f"{redact_url(s.start_urls[0])}{flags}")
    return 0
