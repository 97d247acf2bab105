"""failure_reason: every download failure becomes a short reason that says what to do,
whichever exception class (Twisted's or Scrapy's wrappers) carries it."""
from __future__ import annotations

import pytest
from scrapy import exceptions as scrapy_errors
from twisted.internet import error as tx_errors
from twisted.python.failure import Failure

from crawler.spiders.base import failure_reason


@pytest.mark.parametrize("exc, expected", [
    (tx_errors.DNSLookupError("no results for hostname lookup: x.invalid"), "DNS lookup failed"),
    (scrapy_errors.CannotResolveHostError("no results for hostname lookup"), "DNS lookup failed"),
    (tx_errors.ConnectionRefusedError(), "connection refused"),
    (scrapy_errors.DownloadConnectionRefusedError("refused"), "connection refused"),
    (scrapy_errors.DownloadTimeoutError("took longer than 3.0 seconds"), "timed out"),
    (scrapy_errors.DownloadCancelledError(), "size limit"),
    (scrapy_errors.ResponseDataLossError("lost"), "data loss"),
])
def test_failure_reasons_are_short_and_say_what_happened(exc, expected):
    reason = failure_reason(Failure(exc))
    assert expected in reason and len(reason) < 200, reason
