"""What every ``chavder`` command group needs: the settings of a command line, the store and
the alert machinery they name. A library module, so the command modules (crawler/cli.py,
crawler/alerts_cli.py, crawler/digest_cli.py) import it and never each other."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crawler.config import Settings, load_settings, load_sources


def settings_from_args(args: argparse.Namespace) -> Settings:
    """chavder.yaml (or --config), with --store / --sources given on the command line."""
    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "store", None):
        settings.store = args.store
    if getattr(args, "sources", None):
        settings.sources = args.sources
    return settings


def open_configured_store(settings: Settings, write: bool = True) -> Any:
    """The configured store; ``write=False`` for commands that only read it. An unusable file
    raises ``StoreUnusable``, which ``main`` prints as one line."""
    from crawler.store import open_store
    return open_store(settings.store, settings.data_dir, write=write)


def open_alerting(settings: Settings, store: Any) -> Any:
    """The alert machinery over ``store``, or None (said on stderr) when there are no rules."""
    from crawler.alerting import Alerting
    sources = load_sources(settings.sources) if Path(settings.sources).exists() else []
    alerting = Alerting.from_settings(settings, store, sources)
    if alerting is None:
        print(f"no alert rules: {settings.alerts} not found", file=sys.stderr)
    return alerting
