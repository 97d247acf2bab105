"""What an operator meets on the first day with deploy/: secrets, the container's config folder,
Kibana saved searches from the rules in force, and a production install without test tools.

Docker and Kibana cannot run here; the entry point is a shell script run for real (with
``chavder`` on PATH), and ``chavder kibana import`` posts to a loopback HTTP server that records
what Kibana's saved-objects import API would receive.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
SETUP_USERS = DEPLOY / "elasticsearch" / "setup-users.sh"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
GOOD = {"ELASTIC_PASSWORD": "3f9c1d7e0a2b4c6d8e0f1a2b",
        "KIBANA_SYSTEM_PASSWORD": "9a8b7c6d5e4f3a2b1c0d9e8f",
        "CHAVDER_ES_PASSWORD": "0a1b2c3d4e5f6a7b8c9d0e1f",
        "KIBANA_ENCRYPTION_KEY": "4c1f0e2d9b8a7c6d5e4f3a2b1c0d9e8f7a6b"}


def _setup_users(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in GOOD}
    return subprocess.run(["bash", str(SETUP_USERS), "--check"], env={**clean, **env},
                          capture_output=True, text=True, timeout=30)


def test_setup_users_accepts_real_secrets():
    proc = _setup_users(**GOOD)
    assert proc.returncode == 0, proc.stderr


def _example_secrets() -> dict[str, str]:
    text = (DEPLOY / "elasticsearch" / "stack.env.example").read_text(encoding="utf-8")
    pairs = dict(re.findall(r"^([A-Z_]+)=(.*)$", text, re.M))
    return {k: v for k, v in pairs.items() if k in GOOD}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_setup_users_refuses_every_placeholder_of_the_example(name):
    example = _example_secrets()
    assert name in example
    proc = _setup_users(**{**GOOD, name: example[name]})
    assert proc.returncode == 2
    assert name in proc.stderr and "placeholder" in proc.stderr


@pytest.mark.parametrize("value,why", [("Password123456789", "placeholder"),
                                       ("short1", "shorter than"),
                                       ("<your-password-here>", "placeholder"),
                                       ("has space in it 123456", "letters/digits"),
                                       ("", "is not set")])
def test_setup_users_refuses_weak_or_odd_secrets(value, why):
    proc = _setup_users(**{**GOOD, "CHAVDER_ES_PASSWORD": value})
    assert proc.returncode == 2 and "CHAVDER_ES_PASSWORD" in proc.stderr and why in proc.stderr


# ---------------------------------------------------------------------- container entry point

def _entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CHAVDER_CONFIG_DIR": str(tmp_path / "config"),
           "CHAVDER_DATA_DIR": str(tmp_path / "data"), "CHAVDER_EXAMPLES": str(REPO),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("CHAVDER_CONFIG", None)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "config").mkdir(exist_ok=True)
    return subprocess.run(["sh", str(ENTRYPOINT), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_container_reads_sources_and_alerts_from_the_mounted_folder(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "sources.yaml").write_text(
        "sources:\n  - id: mounted-outlet\n    kind: feed\n"
        "    start_urls: [https://outlet.example/feed/]\n    languages: [ar]\n",
        encoding="utf-8")
    (tmp_path / "config" / "alerts.yaml").write_text(
        "rules:\n  - name: mounted-rule\n    any: [كوباني]\n    recipients: [desk@news.test]\n",
        encoding="utf-8")
    listed = _entrypoint(tmp_path, "sources", "list")
    assert listed.returncode == 0, listed.stderr
    assert "mounted-outlet" in listed.stdout and "rudaw" not in listed.stdout
    rules = _entrypoint(tmp_path, "alerts", "list")
    assert "mounted-rule" in rules.stdout, rules.stderr
    assert "using the shipped example" not in listed.stderr + rules.stderr


def test_container_without_a_config_folder_says_so_and_uses_the_examples(tmp_path):
    listed = _entrypoint(tmp_path, "sources", "list")
    assert listed.returncode == 0, listed.stderr
    assert "no " + str(tmp_path / "config" / "sources.yaml") + " mounted" in listed.stderr
    assert "rudaw" in listed.stdout
    config = (tmp_path / "data" / ".chavder.container.yaml").read_text(encoding="utf-8")
    assert f"store: sqlite:///{tmp_path / 'data'}/chavder.db" in config


def test_container_runs_a_shell_command_with_the_config_set(tmp_path):
    proc = _entrypoint(tmp_path, "sh", "-c", 'echo "config=$CHAVDER_CONFIG"')
    assert proc.stdout.strip() == f"config={tmp_path / 'data' / '.chavder.container.yaml'}"


# ---------------------------------------------------------------------- Kibana saved objects

class _RecordingKibana(BaseHTTPRequestHandler):
    received: list[tuple[str, dict, bytes]] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        answer = json.dumps({"success": True, "successCount": body.count(b'"type"')}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def kibana():
    _RecordingKibana.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _RecordingKibana.received
    server.shutdown()
    server.server_close()


def _saved_objects(body: bytes) -> dict[str, dict]:
    ndjson = body.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0].decode("utf-8")
    return {o["id"]: o for o in map(json.loads, ndjson.splitlines())}


def test_kibana_import_builds_saved_searches_from_the_rules_in_force(tmp_path, kibana):
    server, received = kibana
    alerts = tmp_path / "alerts.yaml"
    config = tmp_path / "chavder.yaml"
    config.write_text(f"alerts: {alerts}\ndata_dir: {tmp_path}\n", encoding="utf-8")
    env = {**os.environ, "CHAVDER_CONFIG": str(config), "CHAVDER_KIBANA_PASSWORD": "s3cret-pw"}
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "crawler.cli", "kibana", "import", "--url",
                               url], env=env, capture_output=True, text=True, timeout=60)

    alerts.write_text("rules:\n  - name: kobani\n    any: [[كوباني, Kobanî]]\n"
                      "    recipients: [desk@news.test]\n", encoding="utf-8")
    first = run()
    assert first.returncode == 0, first.stderr
    assert f"the rules in {alerts}" in first.stdout
    path, headers, body = received[-1]
    headers = {k.lower(): v for k, v in headers.items()}
    assert path.startswith("/api/saved_objects/_import") and headers["kbn-xsrf"]
    assert headers["authorization"].startswith("Basic ")
    objects = _saved_objects(body)
    kobani = objects["chavder-rule-kobani"]
    query = json.loads(kobani["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert "كوباني" in query["query"]["query"] and "kobani" in query["query"]["query"]
    assert "chavder-rule-raqqa" not in objects and "chavder-overview" in objects

    alerts.write_text("rules:\n  - name: Raqqa desk\n    any: [الرقة]\n    none: [كرة القدم]\n"
                      "    recipients: [desk@news.test]\n", encoding="utf-8")
    assert run().returncode == 0
    objects = _saved_objects(received[-1][2])
    assert "chavder-rule-kobani" not in objects
    raqqa = json.loads(objects["chavder-rule-raqqa-desk"]["attributes"]
                       ["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
    assert '"الرقه"' in raqqa and "AND NOT" in raqqa


def test_kibana_import_without_rules_says_what_to_do(tmp_path, kibana):
    config = tmp_path / "chavder.yaml"
    config.write_text(f"alerts: {tmp_path / 'missing.yaml'}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "kibana", "import", "--url",
                           "http://127.0.0.1:9"], env={**os.environ, "CHAVDER_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "alert rules not found" in proc.stderr
    assert "--file" in proc.stderr


# ---------------------------------------------------------------------- production install

def test_production_install_has_no_test_tools():
    """`make install` (the service host) installs the service's dependencies only; the test
    tools come with `make dev`/`make test`."""
    dry = subprocess.run(["make", "-n", "-B", "install"], cwd=REPO, capture_output=True,
                         text=True, timeout=60).stdout
    production = [line for line in dry.splitlines() if "pip install" in line and "else" in line]
    assert production and "[test]" not in production[0], dry
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = " ".join(meta["dependencies"] + meta["optional-dependencies"]["apprise"]).lower()
    for tool in ("pytest", "aiosmtpd", "pyseccomp"):
        assert tool not in runtime
        assert any(tool in dep for dep in meta["optional-dependencies"]["test"])
    dev = subprocess.run(["make", "-n", "-B", "test"], cwd=REPO, capture_output=True, text=True,
                         timeout=60).stdout
    assert "-e '.[test]'" in dev
