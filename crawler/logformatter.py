"""Scrapy log formatting: Chavder logs one clear line per problem itself, so Scrapy's own lines
for them are DEBUG (seen with -v, traceback included): dropped items (the pipelines say why),
download errors (the spiders' errbacks) and exceptions in callbacks and pipelines
(``crawler.unexpected``, from the ``spider_error`` / ``item_error`` signals)."""
from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter


class ChavderLogFormatter(LogFormatter):
    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any = None):
        entry = super().dropped(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        return entry

    def download_error(self, failure: Any, request: Any, spider: Any = None,
                       errmsg: str | None = None):
        entry = super().download_error(failure, request, spider, errmsg)
        entry["level"] = logging.DEBUG
        return entry

    def spider_error(self, failure: Any, request: Any, response: Any, spider: Any = None):
        entry = super().spider_error(failure, request, response, spider)
        entry["level"] = logging.DEBUG
        return entry

    def item_error(self, item: Any, exception: BaseException, response: Any,
                   spider: Any = None):
        entry = super().item_error(item, exception, response, spider)
        entry["level"] = logging.DEBUG
        entry["msg"] = "Error processing an item from %(src)s"  # never dump article bodies
        entry["args"] = {"src": getattr(response, "url", "?")}
        return entry

    def scraped(self, item: Any, response: Any, spider: Any = None):
        entry = super().scraped(item, response, spider)
        entry["msg"] = "Scraped from %(src)s"   # never dump article bodies into the log
        return entry
