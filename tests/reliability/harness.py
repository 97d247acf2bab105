"""How big the reliability tests run: counts scale with ``CHAVDER_RELIABILITY_FULL=1`` (pytest has
no custom ``--full`` flag of its own; an environment variable also reaches subprocesses and CI
matrices unchanged). Running `chavder` itself: ``testsupport.processes``.
"""
from __future__ import annotations

import os


def full_mode() -> bool:
    """True when the larger counts were asked for (``CHAVDER_RELIABILITY_FULL=1``)."""
    return os.environ.get("CHAVDER_RELIABILITY_FULL", "").strip() not in ("", "0", "false", "no")


def scaled(ci: int, full: int) -> int:
    return full if full_mode() else ci
