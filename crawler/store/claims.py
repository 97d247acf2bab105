"""SQL shared by the alert and digest ledgers for delivery claims (see scheduler/lease.py).

A ``sending`` row may be taken over when its lease (``next_attempt_at``) has expired — a row
from before schema v6 has no owner and its old retry time as lease — or when its owner
(``claimed_by``) is known dead: the caller passes those owners in.
"""
from __future__ import annotations


def reclaimable(dead: list[str], alias: str = "") -> str:
    """The condition, with named parameters ``:now`` and ``:d0 … :dN`` (see :func:`params`)."""
    col = f"{alias}." if alias else ""
    marks = ", ".join(f":d{i}" for i in range(len(dead))) or "NULL"
    return f"({col}next_attempt_at <= :now OR {col}claimed_by IN ({marks}))"


def params(dead: list[str]) -> dict[str, str]:
    return {f"d{i}": owner for i, owner in enumerate(dead)}
