"""HTTPS crawls with certificate verification on: the fixture web over TLS with a test CA.

Every monitored outlet is HTTPS. Scrapy verifies nothing by default; Chavder does (crawler/tls.py),
so these tests crawl loopback outlets whose certificates come from a CA made at test time: trusted
through the source's ``ca_bundle:``, refused without it, refused when expired or issued for
another host — each refusal one line that says what is wrong and what to do.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from crawler.config import ConfigError, load_sources
from crawler.sampleweb import default_root
from tests.conftest import ChavderEnv
from testsupport.fixtureweb import FixtureWeb
from testsupport.tls import FixtureCA, make_ca


def tls_env(tmp_path: Path, web: FixtureWeb, ids: list[str], **fields) -> ChavderEnv:
    """A Chavder installation crawling the TLS fixture web's sources ``ids``."""
    sources = web.write_sources(tmp_path / "sources.yaml")
    doc = yaml.safe_load(sources.read_text(encoding="utf-8"))
    doc["sources"] = [{**s, **fields} for s in doc["sources"] if s["id"] in ids]
    sources.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return ChavderEnv.create(tmp_path, sources, download_timeout=5.0)


@pytest.fixture(scope="module")
def bad_certificates(tmp_path_factory):
    """Two more TLS fixture webs: one with an expired certificate, one issued for another host."""
    root = tmp_path_factory.mktemp("badcerts")
    expired = make_ca(root / "expired", expired=True)
    other = make_ca(root / "other", names=("news.other.test",), addresses=())
    webs = {"expired": (FixtureWeb(default_root(), tls=expired).start(), expired),
            "other-host": (FixtureWeb(default_root(), tls=other).start(), other)}
    yield webs
    for web, _ in webs.values():
        web.stop()


def test_https_outlets_crawl_with_their_ca_trusted(tmp_path, tls_web):
    web, ca = tls_web
    env = tls_env(tmp_path, web, ["rok", "sorani"], ca_bundle=str(ca.ca_pem))
    summary = json.loads(env.crawl().stdout)
    assert summary["sources"]["rok"]["new"] == 7 and summary["sources"]["rok"]["errors"] == 0
    assert summary["sources"]["sorani"]["new"] > 0 and summary["sources"]["sorani"]["errors"] == 0
    store = env.open_store()
    try:
        urls = [a["canonical_url"] for a in store.iter_articles()]
    finally:
        store.close()
    assert urls and all(u.startswith("https://127.0.0.1:") for u in urls)


def test_an_untrusted_certificate_is_refused_with_what_to_do(tmp_path, tls_web):
    web, _ = tls_web
    env = tls_env(tmp_path, web, ["rok"])
    proc = env.crawl(check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["sources"]["rok"] == {**json.loads(proc.stdout)["sources"][
        "rok"], "new": 0, "errors": 1}
    lines = [line for line in proc.stderr.splitlines() if "source=rok" in line]
    assert len(lines) == 1, proc.stderr
    assert "TLS certificate verification failed" in lines[0]
    assert "ca_bundle" in lines[0] and "Traceback" not in proc.stderr
    status = env.run("status").stdout
    assert "TLS certificate verification failed" in status


@pytest.mark.parametrize("kind,expected", [
    ("expired", "TLS certificate verification failed"),
    ("other-host", "TLS certificate is not valid for this host name"),
])
def test_expired_or_foreign_certificates_are_refused_even_with_the_ca(tmp_path, bad_certificates,
                                                                      kind, expected):
    web, ca = bad_certificates[kind]
    env = tls_env(tmp_path, web, ["rok"], ca_bundle=str(ca.ca_pem))
    proc = env.crawl(check=False)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["sources"]["rok"]["new"] == 0
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_tls_verify_false_is_possible_and_warned_about(tmp_path, tls_web):
    web, _ = tls_web
    env = tls_env(tmp_path, web, ["rok"], tls_verify=False)
    assert json.loads(env.crawl().stdout)["sources"]["rok"]["new"] == 7
    check = env.run("sources", "check", str(env.sources))
    assert "tls_verify: false" in check.stderr and "ca_bundle" in check.stderr


def test_a_trusted_connection_is_not_reused_for_a_source_that_trusts_nothing(tmp_path, tls_web):
    """Pooled connections are keyed by the TLS policy: one source trusting the CA must not
    lend its verified connection to another source on the same host that does not."""
    web, ca = tls_web
    sources = tls_env(tmp_path, web, ["rok"], ca_bundle=str(ca.ca_pem)).sources
    doc = yaml.safe_load(sources.read_text(encoding="utf-8"))
    twin = {**doc["sources"][0], "id": "rok-untrusting", "name": "rok without its CA"}
    twin.pop("ca_bundle")
    doc["sources"].append(twin)
    sources.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    env = tls_env(tmp_path, web, [])   # same data dir and config, sources file rewritten below
    env.sources.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    summary = json.loads(env.crawl(check=False).stdout)["sources"]
    assert summary["rok"]["new"] == 7 and summary["rok"]["errors"] == 0
    assert summary["rok-untrusting"]["errors"] == 1 and summary["rok-untrusting"]["new"] == 0


@pytest.mark.parametrize("value,expected", [
    ("missing.pem", "does not exist"),
    ("notpem.txt", "is not a PEM file of CA certificates"),
    ("''", "give the path of a PEM file"),
])
def test_ca_bundle_problems_name_the_line_and_the_fix(tmp_path, value, expected):
    (tmp_path / "notpem.txt").write_text("hello\n", encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: a\n    kind: feed\n    start_urls: [https://a.example/feed]\n"
                    f"    ca_bundle: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert f"{path}:5:" in str(info.value) and expected in str(info.value)


def test_ca_bundle_is_relative_to_the_source_file(tmp_path, tls_web):
    _, ca = tls_web
    (tmp_path / "ca.pem").write_bytes(ca.ca_pem.read_bytes())
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: a\n    kind: feed\n    start_urls: [https://a.example/feed]\n"
                    "    ca_bundle: ca.pem\n", encoding="utf-8")
    assert load_sources(path)[0].ca_bundle == str(tmp_path / "ca.pem")


def test_test_ca_is_what_the_fixture_serves(tls_web):
    _, ca = tls_web
    assert isinstance(ca, FixtureCA) and b"BEGIN CERTIFICATE" in ca.ca_pem.read_bytes()
