"""The ``chavder`` command line: a click group of thin commands, one module per group of them,
each calling the same library functions the service uses.

``main`` owns what every command shares at its edges: log set-up, the exit codes of the
failures a user can fix (a configuration error, an unusable store: one line, exit 2), a reader
that closed the pipe (quiet, 141), and a traceback hook that masks URL passwords. Nothing here
imports Scrapy or Twisted: only the commands that crawl do, inside their bodies.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Sequence

import click

from crawler.cli.alerts import alerts
from crawler.cli.articles import cmd_export, cmd_show
from crawler.cli.common import Invocation
from crawler.cli.crawl import cmd_crawl, cmd_demo, cmd_extract
from crawler.cli.digest import digest
from crawler.cli.es import es, kibana
from crawler.cli.langid import cmd_langid
from crawler.cli.search import cmd_search, cmd_story
from crawler.cli.service import cmd_run, cmd_status
from crawler.cli.sources import sources
from crawler.cli.web import cmd_web
from crawler.cli.worker import cmd_worker
from crawler.redact import redact_text

log = logging.getLogger("chavder")

__all__ = ["cli", "main"]


class _ReaderWentAway(Exception):
    """A ``BrokenPipeError`` on stdout, carried past click (which would exit 1 on it)."""


class _Commands(click.Group):
    """Commands listed in the order they are added (the everyday ones first), not A–Z; a
    closed stdout pipe reaches ``main`` as ``_ReaderWentAway``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command named by module path (the service's, ``crawler/cli/service.py``) is
        loaded here, when it is listed or run."""
        command = super().get_command(ctx, cmd_name)
        load = getattr(command, "load", None)
        return load() if load is not None else command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:                                  # --help is printed while parsing
            return super().make_context(*args, **kwargs)
        except BrokenPipeError as exc:
            raise _ReaderWentAway() from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _ReaderWentAway() from exc


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]},
             help="Chavder — news monitoring for Kurdish and Arabic media.")
@click.option("--config", metavar="FILE",
              help="settings file (default: chavder.yaml if present, or $CHAVDER_CONFIG)")
@click.option("-v", "--verbose", is_flag=True, help="debug logs, incl. Scrapy")
@click.option("--log-json", is_flag=True, help="log JSON lines")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: bool, log_json: bool) -> None:
    from crawler.logs import setup_logging
    ctx.ensure_object(Invocation).config = config
    setup_logging(os.environ.get("CHAVDER_LOG_LEVEL", "DEBUG" if verbose else "INFO"),
                  json_lines=log_json, verbose=verbose)


for _command in (cmd_crawl, cmd_search, cmd_extract, sources, cmd_demo, cmd_run, cmd_worker,
                 cmd_status, cmd_story, cmd_show, cmd_export, alerts, cmd_langid, es, kibana,
                 digest, cmd_web):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chavder ARGV`` (default: the process's arguments); returns the exit status."""
    sys.excepthook = _redacted_excepthook
    invocation = Invocation()
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="chavder",
                        standalone_mode=False, obj=invocation)
        sys.stdout.flush()   # a closed pipe shows here, not in the interpreter's exit
        return int(code or 0)
    except click.ClickException as exc:        # usage errors: click's message, exit 2
        exc.show()
        return exc.exit_code
    except (BrokenPipeError, _ReaderWentAway):
        return _reader_went_away()
    except (click.Abort, KeyboardInterrupt):
        return 130
    except Exception as exc:
        code = _known_failure(exc, invocation)
        if code is None:
            raise
        return code


def _known_failure(exc: Exception, invocation: Invocation) -> int | None:
    """Print a failure the user can act on in one line and return its exit status; None for
    anything else (a bug: the traceback, redacted, is the report). The modules are imported
    only here: a failure of theirs means they are loaded already."""
    import sqlite3

    from crawler.config import ConfigError
    if isinstance(exc, ConfigError):
        print(f"configuration error:\n{redact_text(str(exc))}", file=sys.stderr)
        return 2
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    from crawler.store.faults import EXIT_CODE, StoreUnusable, unusable
    # StoreUnusable: every command, wherever it met the file. Otherwise a database error raised
    # past the store's own translation.
    fault = exc if isinstance(exc, StoreUnusable) else unusable(exc, invocation.store_name())
    if fault is None:
        return None
    log.debug("store unusable", exc_info=True)
    print(f"error: {fault.line()}", file=sys.stderr)
    return EXIT_CODE


def _redacted_excepthook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    """A traceback nobody caught still must not print a URL's password."""
    import traceback
    sys.stderr.write(redact_text("".join(traceback.format_exception(kind, exc, tb))))


def _reader_went_away() -> int:
    """stdout's reader closed the pipe (``chavder search … | head -1``): that is how such a
    pipeline ends, not an error, so say nothing. Later writes (the interpreter's final flush)
    go to /dev/null, as the Python docs advise for SIGPIPE; 141 is the shell's status for a
    command ended by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141
