"""Scrapy log formatting: pipelines already log one clear line per dropped page."""
from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter


class ChavderLogFormatter(LogFormatter):
    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any = None):
        entry = super().dropped(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry

    def scraped(self, item: Any, response: Any, spider: Any = None):
        entry = super().scraped(item, response, spider)
        entry["msg"] = "Scraped from %(src)s"   # never dump article bodies into the log
        return entry
