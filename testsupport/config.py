"""The config files of a test installation: ``chavder.yaml`` (service and CLI settings) and the
one-feed source list most service tests poll. One writer, so a new setting or default is added in
one place, and each test names only what it varies."""
from __future__ import annotations

from pathlib import Path

import yaml

_DEFAULT = object()   # "not given" (None means: leave the key out)
#: Settings every test installation starts from (the test web answers fast; 3 s is plenty).
DEFAULTS: dict[str, object] = {"download_timeout": 3}


def write_config(root: Path, *, name: str = "chavder.yaml", smtp_port: int | None = None,
                 mail: dict[str, object] | None = None, extra: str = "",
                 **settings: object) -> Path:
    """Write ``root/name`` and return its path.

    ``data_dir`` defaults to ``root/data`` and ``store`` to :func:`default_store`; then
    :data:`DEFAULTS` and ``settings`` in their order (``None`` leaves a key out, e.g.
    ``data_dir=None``). ``smtp_port``: alerts go to the SMTP sink on 127.0.0.1 without TLS;
    ``mail`` adds or replaces keys of that block. ``extra``: setting lines as a user writes them
    (a value under test); a key there replaces the same key above, so each key appears once
    and its line is where ``extra`` puts it."""
    values: dict[str, object] = {"data_dir": root / "data", "store": _DEFAULT, **DEFAULTS,
                                 **settings}
    if values["store"] is _DEFAULT:
        values["store"] = default_store(values["data_dir"])
    mail_block = dict(mail or {})
    if smtp_port is not None:
        mail_block = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "security": "none",
                      **mail_block}
    overridden = {line.partition(":")[0] for line in extra.splitlines()
                  if line and not line[0].isspace()}
    lines = [f"{key}: {_scalar(value)}" for key, value in values.items()
             if value is not None and key not in overridden]
    lines += [extra.rstrip("\n")] if extra else []
    if mail_block and "mail" not in overridden:
        lines += ["mail:"] + [f"  {key}: {_scalar(value)}" for key, value in mail_block.items()]
    path = root / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def default_store(data_dir: object) -> str | None:
    """The store a test installation uses unless told: SQLite ``chavder.db`` in its data dir."""
    return None if data_dir is None else f"sqlite:///{Path(str(data_dir)) / 'chavder.db'}"


def feed_source(site: str = "desk", *, name: str = "Desk News", interval: str | None = None,
                feed: str = "/feed.xml") -> str:
    """``sources.yaml`` text with one feed source on the fixture web's ``site`` (placeholder
    URL: pass it through ``FixtureWeb.substitute``)."""
    every = f"    interval: {interval}\n" if interval else ""
    return (f"sources:\n  - id: {site}\n    name: {name}\n    kind: feed\n"
            f'    start_urls: ["http://{site}.fixture{feed}"]\n    allow_private: true\n'
            f"    allowed_domains: [127.0.0.1]\n{every}")


def _scalar(value: object) -> str:
    """A value as YAML reads it back: plain when it round-trips, else single-quoted."""
    text = str(value)
    if not isinstance(value, str) or yaml.safe_load(text) == text:
        return text
    return "'" + text.replace("'", "''") + "'"
