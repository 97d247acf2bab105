"""The backend-agnostic store contract (tests/test_store_contract.py), run on Elasticsearch.

Two backends:

* ``es-fake`` — the real ``elasticsearch`` client against ``tests/support/fake_es.py`` on
  127.0.0.1. It checks Chavder's requests (query DSL, collapse, aggregations, bulk) and
  response handling end to end; relevance is only approximated by the fake.
* ``es-real`` — a real server from ``CHAVDER_TEST_ES_URL`` (e.g. ``http://elastic@localhost:9200``
  with ``CHAVDER_ES_PASSWORD`` set); each test gets its own alias and removes it afterwards.
  Skipped when the variable is not set: no Elasticsearch server can be installed on the
  development and CI machines.
"""
from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from crawler.store.elasticsearch import ElasticsearchStore, EsConfig, make_client
from crawler.store.sqlite import SQLiteStore
# the contract itself, collected here again with this module's ``store`` fixture
from tests.test_store_contract import (  # noqa: F401
    test_aliases_make_other_urls_known, test_http_validators_and_errors_persist,
    test_search_filters_and_json_contract, test_search_normalised_with_clitics,
    test_upsert_new_unchanged_updated)
from tests.support.fake_es import FakeElasticsearch

REAL_URL = os.environ.get("CHAVDER_TEST_ES_URL")
SKIP_REASON = ("CHAVDER_TEST_ES_URL is not set — no Elasticsearch server on this machine; set it "
               "(and CHAVDER_ES_PASSWORD or CHAVDER_ES_API_KEY) to run the contract on a real one")


@pytest.fixture(scope="module")
def fake_es():
    fake = FakeElasticsearch().start()
    yield fake
    fake.stop()


def _with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, "&".join(f"{k}={v}" for k, v in params.items())]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@pytest.fixture(params=["es-fake", "es-real"])
def store(request, tmp_path):
    alias = f"chavder-test-{uuid.uuid4().hex[:10]}"
    if request.param == "es-real":
        if not REAL_URL:
            pytest.skip(SKIP_REASON)
        url = _with_params(REAL_URL, alias=alias, alerts_alias=f"{alias}-alerts", sync="true",
                           timeout="30")
    else:
        fake = request.getfixturevalue("fake_es")
        url = _with_params(fake.url, alias=alias, alerts_alias=f"{alias}-alerts", sync="true",
                           timeout="2")
    cfg = EsConfig.from_url(url, tmp_path)
    s = ElasticsearchStore(cfg, sidecar=SQLiteStore(tmp_path / "sidecar.db"),
                           spool=tmp_path / "spool.db", background=False)
    yield s
    pending = s.spool_size()
    s.close(timeout=5)
    if request.param == "es-real":
        client = make_client(cfg, timeout=30)
        try:
            for name in (alias, f"{alias}-alerts"):
                client.options(ignore_status=404).indices.delete(index=f"{name}-*")
                client.options(ignore_status=404).indices.delete_index_template(name=name)
        finally:
            client.close()
    assert pending == 0, "every contract write must have reached Elasticsearch"
