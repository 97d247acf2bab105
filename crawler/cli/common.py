"""What every command shares: the settings prologue (``--config`` of the group, ``--store`` /
``--sources`` of the command), opening the store, and the date parameters.

Kept free of heavy imports: ``chavder --help`` and ``chavder search`` import this module, and
the store package, Scrapy and the alert machinery are imported only by the commands that use
them.
"""
from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TextIO, TypeVar

import click

from crawler import defaults

if TYPE_CHECKING:
    from crawler.app import Chavder
    from crawler.config import Settings, SourceConfig
    from crawler.store import Store

F = TypeVar("F", bound=Callable[..., Any])

STORE_HELP = f"store URL (default {defaults.STORE_URL})"
SOURCES_HELP = f"source list (default {defaults.SOURCES_FILE})"


@dataclass
class Invocation:
    """One ``chavder …`` run: the options that choose the settings, and the settings they give
    (read once, on first use)."""

    config: str | None = None
    store: str | None = None
    sources: str | None = None

    @cached_property
    def settings(self) -> Settings:
        """chavder.yaml (or --config / $CHAVDER_CONFIG), with --store / --sources applied."""
        from crawler.config import load_settings
        settings = load_settings(self.config)
        if self.store:
            settings.store = self.store
        if self.sources:
            settings.sources = self.sources
        return settings

    def app(self, *, write: bool = True, only_enabled: bool = False) -> Chavder:
        """The application as these settings say (``write=False``: the store read only). It
        builds what it owns on first use, so asking costs nothing until a command uses it."""
        from crawler.app import Chavder
        return Chavder.from_config(settings=self.settings, write=write,
                                   only_enabled=only_enabled)

    def open_store(self, write: bool = True) -> Store:
        """The configured store, for the caller to close; ``write=False`` for commands that
        only read it (a missing file is then ``StoreMissing``, not a new empty database). An
        unusable file raises ``StoreUnusable``, which ``main`` prints as one line."""
        return self.app(write=write).store

    def known_sources(self) -> list[SourceConfig]:
        """Every source of the settings' list, or none when the list does not exist (commands
        that only use it for outlet names and rule checks work without one)."""
        return self.app().known_sources()

    def outlet_name(self, source: str) -> str:
        """The source list's name of outlet ``source`` (its id when the list lacks it)."""
        try:
            return next((s.name for s in self.known_sources() if s.id == source), "") or source
        except Exception:  # noqa: BLE001 - only for a label; the stored id still says it
            return source

    def store_name(self) -> str:
        """The configured store URL (secrets dropped), for a message about its file."""
        try:
            url = self.settings.store
        except Exception:  # noqa: BLE001 - only for a message
            return "(the configured store)"
        return url.rpartition("@")[2] if "@" in url else url


def _remember(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            setattr(ctx.ensure_object(Invocation), field, value)
    return callback


def store_option(help: str = STORE_HELP) -> Callable[[F], F]:  # noqa: A002 - click's name
    """``--store URL``: recorded on the invocation, so ``inv.settings`` carries it."""
    return click.option("--store", metavar="URL", help=help, expose_value=False,
                        callback=_remember("store"))


def sources_option(help: str = SOURCES_HELP) -> Callable[[F], F]:  # noqa: A002
    """``--sources FILE``: recorded on the invocation, so ``inv.settings`` carries it."""
    return click.option("--sources", metavar="FILE", help=help, expose_value=False,
                        callback=_remember("sources"))


def store_options(func: F) -> F:
    """``--store`` and ``--sources``, as most commands take them."""
    return store_option()(sources_option()(func))


pass_invocation = click.make_pass_decorator(Invocation, ensure=True)


def unknown_filter(inv: Invocation, lang: str | None, source: str | None) -> str | None:
    """Why ``--lang``/``--source`` can match nothing (a value no stored article and no listed
    source has), with the values that exist; None when both are known."""
    store = inv.open_store(write=False)
    try:
        facets = store.search_facets()
    finally:
        store.close()
    listed = inv.known_sources()
    known = {"lang": set(facets["language"]) | {g for s in listed for g in s.languages},
             "source": set(facets["source"]) | {s.id for s in listed}}
    for option, value in (("lang", lang), ("source", source)):
        if value is not None and value not in known[option]:
            valid = ", ".join(sorted(known[option])) or "(none yet: the store is empty)"
            return f"--{option} {value!r} matches nothing — valid values: {valid}"
    return None


def bidi_option(func: F) -> F:
    """``--bidi/--no-bidi``: wrap each line's text in directional isolates (default: when
    stdout is a terminal; piped, invisible marks inside a title would break ``grep -x``)."""
    return click.option("--bidi/--no-bidi", default=None,
                        help="isolate right-to-left text on each line (default: on a "
                        "terminal)")(func)


@contextmanager
def output_to(path: str | None) -> Iterator[TextIO]:
    """stdout, or the file ``path`` (UTF-8), written whole or not at all: the text goes to a
    temporary file beside it that replaces ``path`` only when the command got to the end."""
    if not path:
        yield sys.stdout
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    try:
        out = open(tmp, "w", encoding="utf-8", newline="")
    except OSError as exc:              # no such folder, no permission: one line, exit 1
        raise click.FileError(path, hint=exc.strerror or str(exc)) from None
    try:
        with out:
            yield out
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


_AGO = re.compile(r"(\d+)\s*([mhdw])", re.I)
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def relative_time(value: str, now: datetime) -> datetime | None:
    """``24h``, ``7d``, ``30m``, ``2w`` (that long before ``now``), ``today`` and
    ``yesterday`` (UTC midnight); None for anything else."""
    word = value.strip().lower()
    midnight = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - timedelta(days=1)
    m = _AGO.fullmatch(word)
    if m:
        return now - timedelta(**{_UNIT[m.group(2).lower()]: int(m.group(1))})
    return None


class When(click.ParamType):
    """``2017-05-31``, a full ISO time (naive values are UTC), or a time relative to now:
    ``24h``, ``7d``, ``yesterday``."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        from crawler.text.dates import parse_iso
        parsed = relative_time(value, datetime.now(timezone.utc)) or parse_iso(value)
        if parsed is None:
            self.fail(f"{value!r} is not a date — use YYYY-MM-DD, an ISO 8601 time such as "
                      "2017-05-31T12:00+03:00, or 24h, 7d, yesterday", param, ctx)
        return parsed


class Day(click.ParamType):
    """A local calendar date, ``YYYY-MM-DD``."""

    name = "D"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date — use YYYY-MM-DD, the recipient's local date "
                      "of the digest", param, ctx)


def article_filters(func: F) -> F:
    """``--lang``, ``--source``, ``--since``, ``--until``: the filters ``search`` and ``export``
    share (one wording, one time syntax)."""
    options = (
        click.option("--lang", metavar="CODE",
                     help="only articles in this language (ar, ckb, kmr, …)"),
        click.option("--source", metavar="ID", help="only articles of this source"),
        click.option("--since", type=When(), help="oldest publication time (24h, 7d, "
                     "yesterday, YYYY-MM-DD or ISO 8601)"),
        click.option("--until", type=When(), help="newest publication time (24h, 7d, "
                     "yesterday, YYYY-MM-DD or ISO 8601)"))
    for option in reversed(options):
        func = option(func)
    return func
