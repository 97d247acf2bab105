"""Client objects for either engine and the few places where their libraries differ.

``elasticsearch://``/``https://`` URLs use the official ``elasticsearch`` package (9.x). It
announces ``compatible-with=9``, which Elasticsearch 8 rejects; requests are pinned to
``compatible-with=8`` (accepted by 8.x and 9.x servers) unless ``compat=9`` is configured.
That client refuses OpenSearch (it checks the ``X-Elastic-Product`` header), so
``opensearch://`` URLs (or ``engine=opensearch``) use ``opensearch-py`` instead.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from crawler.store.elasticsearch.config import EsConfig


def make_client(cfg: EsConfig, *, timeout: float | None = None, retries: int = 0):
    """A client for ``cfg``: ``Elasticsearch`` pinned to the configured REST compatibility, or
    ``OpenSearch`` (opensearch-py) when the engine is OpenSearch."""
    if cfg.engine == "opensearch":
        return _opensearch_client(cfg, timeout=timeout, retries=retries)
    from elasticsearch import Elasticsearch
    kwargs: dict[str, Any] = {
        "request_timeout": cfg.write_timeout if timeout is None else timeout,
        "max_retries": retries, "retry_on_timeout": retries > 0,
        "verify_certs": cfg.verify_certs}
    if cfg.ca_certs:
        kwargs["ca_certs"] = cfg.ca_certs
    if not cfg.verify_certs:
        kwargs["ssl_show_warn"] = False
    if cfg.api_key:
        kwargs["api_key"] = cfg.api_key
    elif cfg.username:
        kwargs["basic_auth"] = (cfg.username, cfg.password or "")
    client = Elasticsearch(cfg.hosts, **kwargs)
    _pin_compat(client, cfg.compat)
    return client


def _opensearch_client(cfg: EsConfig, *, timeout: float | None, retries: int):
    from opensearchpy import OpenSearch
    kwargs: dict[str, Any] = {
        "timeout": cfg.write_timeout if timeout is None else timeout,
        "max_retries": retries, "retry_on_timeout": retries > 0,
        "verify_certs": cfg.verify_certs, "ssl_show_warn": cfg.verify_certs}
    if cfg.ca_certs:
        kwargs["ca_certs"] = cfg.ca_certs
    if cfg.api_key:
        kwargs["headers"] = {"Authorization": f"ApiKey {cfg.api_key}"}
    elif cfg.username:
        kwargs["http_auth"] = (cfg.username, cfg.password or "")
    return OpenSearch(cfg.hosts, **kwargs)


def is_opensearch_client(client: Any) -> bool:
    return type(client).__module__.startswith("opensearchpy")


def json_body(resp: Any) -> Any:
    """The JSON of a response: elasticsearch-py wraps it (``.body``), opensearch-py does not."""
    return resp.body if hasattr(resp, "body") else resp


def streaming_bulk_for(client: Any) -> Callable[..., Iterator]:
    """The bulk helper of the client's own library (same signature in both)."""
    if is_opensearch_client(client):
        from opensearchpy.helpers import streaming_bulk
    else:
        from elasticsearch.helpers import streaming_bulk
    return streaming_bulk


def client_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the cluster did not answer usefully", for either client."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError
    errors: list[type[BaseException]] = [TransportError, ApiError, OSError]
    try:
        from opensearchpy.exceptions import ImproperlyConfigured
        from opensearchpy.exceptions import TransportError as OsTransportError
        errors += [OsTransportError, ImproperlyConfigured]
    except ImportError:      # opensearch-py is a dependency, but an old install may lack it
        pass
    return tuple(errors)


def _pin_compat(client: Any, major: int) -> None:
    """Rewrite ``compatible-with=<client major>`` on every request to ``major``.

    Elasticsearch 8 answers ``compatible-with=9`` with HTTP 400 media_type_header_exception;
    a 9.x server accepts ``compatible-with=8``, so 8 works against both."""
    from elasticsearch import __versionstr__
    mine = f"compatible-with={__versionstr__.partition('.')[0]}"
    wanted = f"compatible-with={major}"
    if mine == wanted:
        return
    transport = client.transport
    original = transport.perform_request

    def perform_request(method: str, target: str, *, headers: Any = None, **kw: Any) -> Any:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value and mine in value:
                    headers[name] = value.replace(mine, wanted)
        return original(method, target, headers=headers, **kw)

    transport.perform_request = perform_request



def short_error(exc: BaseException) -> str:
    """An exception's text, cut for one log line."""
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"
