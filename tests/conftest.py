"""Shared fixtures: the fixture news web on 127.0.0.1 and a CLI runner with an isolated data dir."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.sampleweb import default_root
from testsupport.config import default_store, write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.processes import chavder_env

REPO = Path(__file__).resolve().parent.parent
CONTACT_URL = "https://example.org/chavder-tests"


@pytest.fixture(scope="session")
def fixture_web():
    """The bundled fixture outlets, each site on its own loopback port, for the whole session."""
    web = FixtureWeb(default_root()).start()
    yield web
    web.stop()


@pytest.fixture(scope="session")
def tls_web(tmp_path_factory):
    """The fixture outlets served over HTTPS with a test CA: ``(web, ca)``."""
    from testsupport.tls import make_ca
    ca = make_ca(tmp_path_factory.mktemp("tls-ca"))
    web = FixtureWeb(default_root(), tls=ca).start()
    yield web, ca
    web.stop()


@dataclass
class ChavderEnv:
    """An isolated Chavder installation: its own data dir, store, settings and source list."""

    root: Path
    sources: Path
    config: Path
    store_url: str

    @property
    def db_path(self) -> Path:
        return Path(self.store_url[len("sqlite:///"):])

    def run(self, *args: str, timeout: float = 240, input: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run ``chavder ARGS`` in a subprocess, as a user would."""
        proc = subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=self.root,
                              env=chavder_env(self.config), capture_output=True, text=True,
                              timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"chavder {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    @classmethod
    def create(cls, root: Path, sources: Path, **settings: object) -> "ChavderEnv":
        """An installation in ``root`` crawling ``sources``; its data dir is made, and
        ``settings`` go to ``chavder.yaml`` as ``testsupport.config.write_config`` takes them."""
        data = settings.pop("data_dir", root / "data")
        if data is not None:
            Path(str(data)).mkdir(exist_ok=True)
        store = str(settings.pop("store", None) or default_store(data))
        config = write_config(root, data_dir=data, store=store, sources=sources, **settings)
        return cls(root=root, sources=sources, config=config, store_url=store)

    def crawl(self, *sources: str, **kw) -> subprocess.CompletedProcess:
        extra = [a for s in sources for a in ("--source", s)]
        return self.run("crawl", "--json", "--progress-interval", "0", *extra, **kw)

    def open_store(self):
        from crawler.store import open_store
        return open_store(self.store_url)


@pytest.fixture
def chavder(tmp_path: Path, fixture_web: FixtureWeb) -> ChavderEnv:
    return ChavderEnv.create(tmp_path, fixture_web.write_sources(tmp_path / "sources.yaml"),
                             contact_url=CONTACT_URL)


def _engine_node(engine: str):
    from testsupport.engine_node import EngineNode, NodeError
    node = EngineNode(engine)
    try:
        node.start()
    except NodeError as exc:
        node.close()
        pytest.fail(f"the real {engine} test node could not start: {exc}", pytrace=False)
    print(f"\n{engine} test node {node.url} up in {node.startup_seconds[-1]:.1f} s")
    return node


@pytest.fixture(scope="session")
def elasticsearch_node():
    """One real Elasticsearch 8 node (testsupport/engine_node.py) for the whole session.

    If it cannot be built or started, every test that needs it fails with the reason."""
    node = _engine_node("elasticsearch")
    yield node
    node.close()


@pytest.fixture(scope="session")
def opensearch_node():
    """One real OpenSearch 2 node for the whole session; fails the tests that need it if it
    cannot start."""
    node = _engine_node("opensearch")
    yield node
    node.close()


@pytest.fixture(scope="session")
def redis_node():
    """One real Redis server (Debian's redis-server) on a loopback port for the whole session;
    fails the tests that need it, with the reason, if it cannot start."""
    from testsupport.redis_node import RedisError, RedisNode
    node = RedisNode()
    try:
        node.start()
    except RedisError as exc:
        node.close()
        pytest.fail(f"the real Redis test server could not start: {exc}", pytrace=False)
    yield node
    node.close()


@pytest.fixture(params=["elasticsearch", "opensearch"])
def search_node(request):
    """Each real engine in turn (the session's node of that engine)."""
    return request.getfixturevalue(f"{request.param}_node")
