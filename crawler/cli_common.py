"""What every ``chavder`` command group needs: the settings of a command line, and the
application, store and alert machinery they name. A library module, so the command modules
(crawler/cli.py, crawler/alerts_cli.py, crawler/digest_cli.py) import it and never each other."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from crawler.app import Chavder
from crawler.config import Settings, load_settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """chavder.yaml (or --config), with --store / --sources given on the command line."""
    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "store", None):
        settings.store = args.store
    if getattr(args, "sources", None):
        settings.sources = args.sources
    return settings


def app_from_args(args: argparse.Namespace, *, write: bool = True) -> Chavder:
    """The application as --config/--store/--sources say (``write=False``: read only)."""
    return Chavder.from_config(settings=settings_from_args(args), write=write)


def open_configured_store(settings: Settings, write: bool = True) -> Any:
    """The configured store; ``write=False`` for commands that only read it. An unusable file
    raises ``StoreUnusable``, which ``main`` prints as one line."""
    return Chavder(settings, write=write).store


def alerting_of(app: Chavder) -> Any:
    """``app``'s alert machinery, or None (said on stderr) when there are no rules."""
    if app.alerting is None:
        print(f"no alert rules: {app.settings.alerts} not found", file=sys.stderr)
    return app.alerting


def open_alerting(settings: Settings, store: Any) -> Any:
    """The alert machinery over ``store``, or None (said on stderr) when there are no rules."""
    return alerting_of(Chavder(settings, store=store))
