"""How a Scrapy component reaches the application: :func:`app_of`.

The crawl driver (``crawler.crawl``) attaches the :class:`~crawler.app.Chavder` it was given to
every crawler it creates (``crawler.chavder``); spiders, pipelines, middlewares and extensions
read it here in ``from_crawler``. This lives apart from the driver so that components, which the
driver assembles, never import the driver (no ``crawl`` ↔ component import loop).

Plain ``scrapy crawl <kind> -a source=ID`` has no driver: :func:`app_of` then builds the
application from the ``CHAVDER_CONFIG`` setting (see ``crawler/settings.py``).

Nothing here imports Scrapy or Twisted at module level.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import defaults
from crawler.app import Chavder
from crawler.config import Settings, load_settings

if TYPE_CHECKING:  # pragma: no cover - types only
    from scrapy.crawler import Crawler


def app_of(crawler: "Crawler") -> Chavder:
    """The application a component of ``crawler`` works with: the one the driver attached,
    or — plain ``scrapy crawl`` — one built from the ``CHAVDER_CONFIG`` setting, attached,
    and closed when the engine stops."""
    app = getattr(crawler, "chavder", None)
    if app is None:
        from scrapy import signals
        app = Chavder(settings_for_scrapy_crawl(crawler.settings))
        crawler.chavder = app
        crawler.signals.connect(app.close, signal=signals.engine_stopped, weak=False)
    return app


def settings_for_scrapy_crawl(conf: Any) -> Settings:
    """Chavder's settings for a plain ``scrapy crawl``: the file named by ``-s
    CHAVDER_CONFIG=…`` or ``$CHAVDER_CONFIG`` (relative to the current directory; must
    exist), else ``chavder.yaml`` next to the project's ``scrapy.cfg`` if it exists, else the
    built-in defaults. ``-s CHAVDER_STORE=…`` / ``-s CHAVDER_SOURCES=…`` replace its store / sources."""
    from scrapy.settings import SETTINGS_PRIORITIES
    from scrapy.utils.conf import closest_scrapy_cfg
    given = conf.getpriority("CHAVDER_CONFIG") or 0
    if given > SETTINGS_PRIORITIES["project"]:
        path: Path | None = Path(conf.get("CHAVDER_CONFIG"))
    elif os.environ.get(defaults.CONFIG_ENV):
        path = Path(os.environ[defaults.CONFIG_ENV])
    else:   # never the current directory's file: the project's, or none
        cfg = closest_scrapy_cfg()
        path = Path(cfg).parent / (conf.get("CHAVDER_CONFIG") or defaults.CONFIG_FILE) \
            if cfg else None
        path = path if path is not None and path.exists() else None
    settings = load_settings(path) if path is not None else Settings()
    if conf.get("CHAVDER_STORE"):
        settings.store = conf.get("CHAVDER_STORE")
    if conf.get("CHAVDER_SOURCES"):
        settings.sources = conf.get("CHAVDER_SOURCES")
    return settings
