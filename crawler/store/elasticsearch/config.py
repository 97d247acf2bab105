"""Where and how to reach the cluster: the ``store:`` URL, secrets, TLS and the engine
(``elasticsearch`` or ``opensearch``), parsed into an ``EsConfig``."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("chavder.es")

#: URL schemes that select this backend (``elasticsearch://``, ``es://`` and ``opensearch://``
#: mean HTTPS; ``+http`` / ``+https`` say it explicitly).
ES_SCHEMES = ("http", "https", "elasticsearch", "elasticsearch+http", "elasticsearch+https",
              "es", "es+http", "es+https", "opensearch", "opensearch+http", "opensearch+https")
ENGINES = ("elasticsearch", "opensearch")
DEFAULT_ALIAS = "chavder-articles"
DEFAULT_ALERTS_ALIAS = "chavder-alerts"
_SECRET_PARAMS = {"password", "api_key", "apikey", "token"}


def is_elasticsearch_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ES_SCHEMES


@dataclass
class EsConfig:
    """Where and how to reach Elasticsearch; built from the ``store:`` URL and the environment.

    Secrets come from ``CHAVDER_ES_API_KEY`` / ``CHAVDER_ES_PASSWORD`` or files
    (``api_key_file=`` / ``password_file=`` URL parameters, ``CHAVDER_ES_API_KEY_FILE`` /
    ``CHAVDER_ES_PASSWORD_FILE``); they are excluded from ``repr`` and never logged.
    """

    hosts: list[str]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    alias: str = DEFAULT_ALIAS
    alerts_alias: str = DEFAULT_ALERTS_ALIAS
    sidecar: str = "data/chavder.db"
    spool: str = "data/es-spool.db"
    ca_certs: str | None = None
    verify_certs: bool = True
    write_timeout: float = 5.0         # bulk replay: short, a slow cluster must not hold us
    search_timeout: float = 30.0
    compat: int = 8                    # REST compatibility announced to the server
    batch_size: int = 500
    flush_interval: float = 2.0
    sync: bool = False                 # flush + refresh on every write (tests, tiny setups)
    auto_setup: bool = True            # install template/index/alias on first contact
    engine: str = "elasticsearch"      # or "opensearch": which client library speaks to it

    @property
    def safe_url(self) -> str:
        """The hosts with the user name but never a secret: for logs and status output."""
        user = f"{self.username}@" if self.username else ""
        return ", ".join(h.replace("://", f"://{user}", 1) for h in self.hosts)

    def __repr__(self) -> str:  # dataclass repr already hides secrets; keep it short
        auth = "api_key=***" if self.api_key else ("password=***" if self.password else "no auth")
        return f"EsConfig({self.engine} {self.safe_url}, alias={self.alias!r}, {auth})"

    @classmethod
    def from_url(cls, url: str, data_dir: str | Path = "data",
                 env: Mapping[str, str] | None = None) -> "EsConfig":
        """Parse ``https://user@host:9200``, ``elasticsearch+https://h1:9200,h2:9200/?k=v``…

        Query parameters: ``alias``, ``alerts_alias``, ``sidecar``, ``spool``, ``ca_certs``,
        ``verify_certs``, ``api_key_file``, ``password_file``, ``timeout`` (write),
        ``search_timeout``, ``compat``, ``batch_size``, ``flush_interval``, ``sync``,
        ``auto_setup``, ``engine`` (``elasticsearch`` or ``opensearch``; an ``opensearch…``
        scheme sets it too). A path (``https://host:9200/my-alias``) also names the alias.
        """
        env = os.environ if env is None else env
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ES_SCHEMES:
            raise ValueError(f"not an Elasticsearch URL (scheme {scheme!r}); use "
                             "https://user@host:9200 or elasticsearch+https://host:9200")
        http_scheme = "http" if scheme in ("http", "elasticsearch+http", "es+http",
                                           "opensearch+http") else "https"
        netloc = parts.netloc
        userinfo, _, hostpart = netloc.rpartition("@")
        username = password = None
        if userinfo:
            user, sep, pw = userinfo.partition(":")
            username = unquote(user) or None
            if sep:
                password = unquote(pw)
                log.warning("the store URL contains a password: put it in CHAVDER_ES_PASSWORD "
                            "or a password_file instead (URLs end up in shell history and logs)")
        hosts = [h.strip() for h in hostpart.split(",") if h.strip()]
        if not hosts:
            raise ValueError("Elasticsearch URL has no host — e.g. https://elastic@localhost:9200")
        hosts = [f"{http_scheme}://{h}" if ":" in h.rsplit("]", 1)[-1]
                 else f"{http_scheme}://{h}:9200" for h in hosts]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        inline = _SECRET_PARAMS & {k.lower() for k in params}
        if inline:
            raise ValueError(f"store URL parameter(s) {sorted(inline)} would put a secret in the "
                             "URL — use CHAVDER_ES_API_KEY / CHAVDER_ES_PASSWORD or "
                             "api_key_file= / password_file=")
        data = Path(data_dir)
        cfg = cls(hosts=hosts, username=username, password=password)
        path_alias = parts.path.strip("/")
        cfg.alias = params.pop("alias", None) or path_alias or DEFAULT_ALIAS
        cfg.alerts_alias = params.pop("alerts_alias", DEFAULT_ALERTS_ALIAS)
        cfg.sidecar = params.pop("sidecar", str(data / "chavder.db"))
        cfg.spool = params.pop("spool", str(data / "es-spool.db"))
        cfg.ca_certs = params.pop("ca_certs", None) or env.get("CHAVDER_ES_CA_CERTS") or None
        cfg.verify_certs = _flag(params.pop("verify_certs", "true"))
        cfg.write_timeout = float(params.pop("timeout", cfg.write_timeout))
        cfg.search_timeout = float(params.pop("search_timeout", cfg.search_timeout))
        cfg.compat = int(params.pop("compat", cfg.compat))
        cfg.batch_size = max(1, int(params.pop("batch_size", cfg.batch_size)))
        cfg.flush_interval = float(params.pop("flush_interval", cfg.flush_interval))
        cfg.sync = _flag(params.pop("sync", "false"))
        cfg.auto_setup = _flag(params.pop("auto_setup", "true"))
        cfg.engine = params.pop("engine", "opensearch" if scheme.startswith("opensearch")
                                else "elasticsearch").strip().lower()
        if cfg.engine not in ENGINES:
            raise ValueError(f"engine={cfg.engine!r}: use one of {', '.join(ENGINES)}")
        key_file = params.pop("api_key_file", None) or env.get("CHAVDER_ES_API_KEY_FILE")
        pw_file = params.pop("password_file", None) or env.get("CHAVDER_ES_PASSWORD_FILE")
        if params:
            raise ValueError(f"unknown Elasticsearch store parameter(s): {', '.join(params)}")
        cfg.api_key = (_read_secret(key_file) if key_file else None) or \
            env.get("CHAVDER_ES_API_KEY") or None
        if cfg.password is None:
            cfg.password = (_read_secret(pw_file) if pw_file else None) or \
                env.get("CHAVDER_ES_PASSWORD") or None
        if cfg.username and not cfg.password and not cfg.api_key:
            raise ValueError(f"Elasticsearch user {cfg.username!r} has no password: set "
                             "CHAVDER_ES_PASSWORD (or CHAVDER_ES_PASSWORD_FILE), or use an API "
                             "key via CHAVDER_ES_API_KEY")
        return cfg


def _flag(value: str) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _read_secret(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read Elasticsearch secret file {path}: {exc.strerror}") from None
