"""Chavder's web interface for analysts: search with attention over time, stories with their
revisions, alerts and source health — server-rendered HTML (no script), a JSON API and Atom
feeds, over any store backend. ``create_app`` builds it; ``crawler.web.server`` serves it."""
from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: `chavder --help` must not import FastAPI
    if name == "create_app":
        from crawler.web.app import create_app
        return create_app
    raise AttributeError(name)
