"""The ``redis_url`` setting's check (chavder.yaml): what a Redis URL of the scale-out frontier
may look like. Its own module, free of imports, so the settings loader can use it without
reaching into ``crawler.scaleout``."""
from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("redis", "rediss", "unix")


def redis_url_problem(value: object) -> str | None:
    """Why ``value`` is not a usable ``redis_url`` (None when it is, or is "" = off)."""
    if not isinstance(value, str):
        return "'redis_url' must be a string such as redis://127.0.0.1:6379/0 (or \"\" for none)"
    if value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in SCHEMES:
        return (f"'redis_url' is {value!r} — use redis://HOST:PORT/DB, rediss://… (TLS) or "
                "unix:///path/to/redis.sock, or leave it out to run without Redis")
    if parts.scheme != "unix" and not parts.hostname:
        return f"'redis_url' is {value!r} — it names no host (redis://127.0.0.1:6379/0)"
    try:
        parts.port
    except ValueError:
        return f"'redis_url' is {value!r} — its port is not a number"
    db = parts.path.strip("/")
    if parts.scheme != "unix" and db and not db.isdigit():
        return f"'redis_url' is {value!r} — the database after the port must be a number"
    return None
