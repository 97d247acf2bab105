"""Delivery leases: who is sending a ledger row, and whether that sender still lives.

A sender claims a row (alert or digest) by moving it to ``sending`` with an owner and a lease
expiry in one compare-and-set. Another process may take the row over only when the lease has
expired, or when the owner is provably dead: same host, and its pid no longer runs (or now
belongs to a process started later — pid reuse). A kill -9 is thus recovered at once by the
next sender on the host, while an owner on another host (another container) is trusted until
its lease runs out.

Owner ids look like ``host:pid:start`` (``start``: the process start time in clock ticks since
boot from ``/proc``, or ``0`` where there is no ``/proc``).
"""
from __future__ import annotations

import os
import socket
from functools import lru_cache


def _start_ticks(pid: int) -> str | None:
    """The start time of ``pid`` (``/proc/<pid>/stat`` field 22), ``"0"`` without /proc, or
    None when the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except FileNotFoundError:
        if not os.path.isdir("/proc/self"):
            return "0" if _pid_exists(pid) else None
        return None
    except OSError:
        return "0"
    fields = stat[stat.rfind(")") + 2:].split()   # the command name may hold spaces and ')'
    return fields[19] if len(fields) > 19 else "0"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@lru_cache(maxsize=None)
def _owner_for(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '0'}"


def process_owner() -> str:
    """This process's owner id (recomputed after a fork: the pid is part of the cache key)."""
    return _owner_for(os.getpid())


def owner_alive(owner: str | None) -> bool:
    """False only when ``owner`` is certainly dead; an owner on another host, or one that cannot
    be read, counts as alive (its lease decides)."""
    if not owner:
        return True
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    host, pid_text, start = parts
    if host != socket.gethostname():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return start == (_start_ticks(pid) or "0")
    now_start = _start_ticks(pid)
    if now_start is None:
        return False
    return start == "0" or now_start == "0" or now_start == start


def dead_owners(owners: list[str]) -> list[str]:
    """Those of ``owners`` that are certainly dead (their rows may be taken over now)."""
    return [o for o in dict.fromkeys(owners) if o and not owner_alive(o)]
