"""Extraction failures carry a short machine reason and a human message."""
from __future__ import annotations


class ExtractionError(Exception):
    """The response is not an article we can store (empty, not HTML, JS-only, …).

    ``reason`` is a short stable slug used in stats/metrics (e.g. ``empty-body``,
    ``not-html``, ``no-article-text``); ``str(exc)`` is the human explanation.
    """

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)

    def __reduce__(self):  # picklable across extraction worker processes
        return (type(self), (self.reason, str(self)))
