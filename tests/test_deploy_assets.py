"""Deployment assets: Elasticsearch templates, Kibana saved objects, the compose stack.

Docker, Elasticsearch and Kibana cannot run on these machines, so the assets are validated by
parsing them and checking what the servers would check first: valid JSON/YAML, analyzer names
Elasticsearch knows, references Kibana can resolve, and no secret written into a file.
"""
from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crawler.config import load_settings
from crawler.store.elasticsearch import EsConfig, alerts_template, index_template
from crawler.text import normalize

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
TEMPLATE = DEPLOY / "elasticsearch" / "chavder-template.json"
ALERTS_TEMPLATE = DEPLOY / "elasticsearch" / "chavder-alerts-template.json"
NDJSON = DEPLOY / "kibana" / "chavder.ndjson"
COMPOSE = DEPLOY / "docker-compose.yml"
STACK_CONFIG = DEPLOY / "chavder.compose.yaml"
ENV_EXAMPLE = DEPLOY / "elasticsearch" / "stack.env.example"

# Elasticsearch reference: "Built-in analyzer reference" and "Language analyzers"
BUILTIN_ANALYZERS = {
    "standard", "simple", "whitespace", "stop", "keyword", "pattern", "fingerprint",
    "arabic", "armenian", "basque", "bengali", "brazilian", "bulgarian", "catalan", "cjk",
    "czech", "danish", "dutch", "english", "estonian", "finnish", "french", "galician",
    "german", "greek", "hindi", "hungarian", "indonesian", "irish", "italian", "latvian",
    "lithuanian", "norwegian", "persian", "portuguese", "romanian", "russian", "serbian",
    "sorani", "spanish", "swedish", "turkish", "thai"}
BUILTIN_TOKENIZERS = {"standard", "letter", "lowercase", "whitespace", "uax_url_email",
                      "classic", "thai", "ngram", "edge_ngram", "keyword", "pattern",
                      "simple_pattern", "char_group", "simple_pattern_split", "path_hierarchy"}
BUILTIN_FILTERS = {"lowercase", "uppercase", "asciifolding", "stop", "trim", "unique",
                   "decimal_digit", "arabic_normalization", "persian_normalization",
                   "sorani_normalization", "stemmer", "elision", "cjk_width"}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ENCRYPTIONKEY", re.I)


def _walk_fields(props: dict, prefix: str = ""):
    for name, spec in props.items():
        yield prefix + name, spec
        yield from _walk_fields(spec.get("properties", {}), f"{prefix}{name}.")
        for sub, sub_spec in spec.get("fields", {}).items():
            yield f"{prefix}{name}.{sub}", sub_spec


def _fields(template: dict) -> dict[str, dict]:
    return dict(_walk_fields(template["template"]["mappings"]["properties"]))


# ---------------------------------------------------------------------- Elasticsearch

@pytest.mark.parametrize("path,build", [(TEMPLATE, index_template),
                                        (ALERTS_TEMPLATE, alerts_template)])
def test_template_files_are_what_setup_installs(path, build):
    assert json.loads(path.read_text(encoding="utf-8")) == build(), (
        f"{path.name} is stale: regenerate it from crawler/store/elasticsearch/mapping.py")


def test_article_template_fields_and_analyzers():
    tpl = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    assert tpl["index_patterns"] == ["chavder-articles-0*"]
    fields = _fields(tpl)
    for name in ("title", "body"):
        assert fields[name]["type"] == "text"
        assert fields[f"{name}.ar"]["analyzer"] == "arabic"
        assert fields[f"{name}.ckb"]["analyzer"] == "sorani"
        assert fields[f"{name}.kmr"]["analyzer"] == "chavder_latin"
        assert fields[f"{name}_norm"] == {"type": "text", "analyzer": "whitespace"}
    for name in ("published_at", "updated_at", "fetched_at", "timeline_at"):
        assert fields[name]["type"] == "date"
    for name in ("source", "language", "url", "authors", "tags", "title_exact"):
        assert fields[name]["type"] == "keyword"
    assert fields["story_id"]["type"] == "long"       # collapse needs doc values
    custom = tpl["template"]["settings"]["analysis"]["analyzer"]
    used = {spec["analyzer"] for _, spec in fields.items() if "analyzer" in spec}
    assert used <= BUILTIN_ANALYZERS | set(custom), used - BUILTIN_ANALYZERS - set(custom)
    for name, spec in custom.items():
        assert name not in BUILTIN_ANALYZERS and spec["type"] == "custom"
        assert spec["tokenizer"] in BUILTIN_TOKENIZERS
        assert set(spec["filter"]) <= BUILTIN_FILTERS
    assert tpl["template"]["mappings"]["dynamic"] is False


def test_alerts_template_has_the_dashboard_fields():
    fields = _fields(json.loads(ALERTS_TEMPLATE.read_text(encoding="utf-8")))
    for name in ("rule", "state", "source", "recipient"):
        assert fields[name]["type"] == "keyword"
    assert fields["created_at"]["type"] == "date" and fields["story_id"]["type"] == "long"


# ---------------------------------------------------------------------- Kibana

def _objects() -> list[dict]:
    lines = NDJSON.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.strip() for line in lines), "no blank lines in NDJSON"
    return [json.loads(line) for line in lines]


def test_kibana_objects_are_valid_and_every_reference_resolves():
    objects = _objects()
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects), "duplicate saved object ids"
    for o in objects:
        assert set(o) >= {"id", "type", "attributes", "references"}
        assert o["type"] in {"index-pattern", "search", "visualization", "dashboard"}
        assert re.fullmatch(r"\d+\.\d+\.\d+", o["typeMigrationVersion"])
        assert o["coreMigrationVersion"].startswith("8.")
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{o['id']}: dangling reference {ref}"
        meta = o["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta:
            source = json.loads(meta)
            if "indexRefName" in source:
                names = {r["name"] for r in o["references"]}
                assert source["indexRefName"] in names
    data_views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    assert data_views["chavder-articles"]["attributes"]["title"] == "chavder-articles"
    assert data_views["chavder-articles"]["attributes"]["timeFieldName"] == "timeline_at"
    rule_searches = [o for o in objects if o["id"].startswith("chavder-rule-")]
    shipped_rules = yaml.safe_load((DEPLOY.parent / "alerts.yaml").read_text(encoding="utf-8"))
    assert len(rule_searches) == len(shipped_rules["rules"])   # one per rule in force
    for o in rule_searches:
        assert o["references"] == [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                                    "type": "index-pattern", "id": "chavder-articles"}]


def test_dashboard_panels_match_references_and_reach_the_data_view():
    objects = {o["id"]: o for o in _objects()}
    dash = objects["chavder-overview"]
    panels = json.loads(dash["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dash["references"]}
    assert {p["panelRefName"] for p in panels} == set(refs)
    for p in panels:
        assert p["type"] == refs[p["panelRefName"]]["type"]
        assert p["gridData"]["x"] + p["gridData"]["w"] <= 48
    reached = {r["id"] for ref in dash["references"]
               for r in objects[ref["id"]]["references"] if r["type"] == "index-pattern"}
    assert reached == {"chavder-articles", "chavder-alerts"}
    titles = " ".join(objects[r["id"]]["attributes"]["title"] for r in dash["references"])
    assert "by source" in titles and "by language" in titles
    assert "outlets" in titles and "alerts" in titles


def test_fields_used_by_kibana_exist_in_the_templates():
    article_fields = _fields(index_template())
    alert_fields = _fields(alerts_template())
    by_view = {"chavder-articles": article_fields, "chavder-alerts": alert_fields}
    for o in _objects():
        attrs = o["attributes"]
        view = next((r["id"] for r in o["references"] if r["type"] == "index-pattern"), None)
        if o["type"] == "index-pattern":
            assert attrs["timeFieldName"] in by_view[o["id"]]
        if o["type"] == "search":
            for column in attrs["columns"]:
                assert column in by_view[view], f"{o['id']}: no field {column}"
            assert attrs["sort"][0][0] in by_view[view]
        if o["type"] == "visualization":
            vis = json.loads(attrs["visState"])
            for agg in vis["aggs"]:
                for key in ("field", "sortField"):
                    if key in agg["params"]:
                        assert agg["params"][key] in by_view[view], (o["id"], agg)


def test_saved_searches_use_the_normalised_rule_terms():
    searches = {o["id"]: json.loads(o["attributes"]["kibanaSavedObjectMeta"]
                                    ["searchSourceJSON"])["query"]
                for o in _objects() if o["id"].startswith("chavder-rule-")}
    raqqa, isis = searches["chavder-rule-raqqa"], searches["chavder-rule-isis"]
    assert raqqa["language"] == "lucene" and isis["language"] == "lucene"
    assert f'"{normalize("الرقة")}"' in raqqa["query"] and "الرقة" not in raqqa["query"]
    assert f'"{normalize("داعش")}"' in isis["query"]
    for q in (raqqa["query"], isis["query"]):
        assert "title_norm:(" in q and "body_norm:(" in q
        assert q.count("(") == q.count(")") and q.count('"') % 2 == 0


def test_kibana_file_is_generated_from_code():
    spec = importlib.util.spec_from_file_location("kibana_generate",
                                                  DEPLOY / "kibana" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == NDJSON.read_text(encoding="utf-8"), (
        "deploy/kibana/chavder.ndjson is stale: run deploy/kibana/generate.py")


# ---------------------------------------------------------------------- compose

def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_compose_services_and_chavder_build():
    services = _compose()["services"]
    assert {"elasticsearch", "kibana", "mailpit", "chavder"} <= set(services)
    es = services["elasticsearch"]
    assert es["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert re.search(r":\$\{STACK_VERSION:-8\.\d+\.\d+\}$", es["image"])
    assert es["environment"]["xpack.security.enabled"] == "true"
    assert es["environment"]["discovery.type"] == "single-node"
    assert services["kibana"]["image"].startswith("docker.elastic.co/kibana/kibana:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    build = services["chavder"]["build"]
    assert build == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert "chavder run" in " ".join(services["chavder"]["command"])
    assert services["kibana"]["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"


def test_compose_has_no_inline_secrets():
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text(encoding="utf-8")))
    for name, service in _compose()["services"].items():
        env = service.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        for key, value in env.items():
            if SECRET_KEY.search(key):
                assert re.fullmatch(r"\$\{\w+(:\?[^}]*)?\}", str(value)), (
                    f"{name}.{key} must come from deploy/.env, not be written inline")
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                   if line and not line.startswith("#"))
    assert required <= set(example), f"not in the .env example: {required - set(example)}"
    assert all(v.startswith("change-me") for k, v in example.items() if SECRET_KEY.search(k))


def test_compose_ports_are_local_and_mounts_exist():
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"
        for volume in service.get("volumes", []):
            src = volume.split(":")[0]
            if src.startswith("."):
                assert (DEPLOY / src).exists(), f"{name} mounts missing {src}"
    ports = " ".join(p for s in _compose()["services"].values() for p in s.get("ports", []))
    assert ":5601" in ports and ":8025" in ports


def test_es_users_script_parses():
    proc = subprocess.run(["bash", "-n", str(DEPLOY / "elasticsearch" / "setup-users.sh")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_stack_config_is_valid_and_points_at_the_stack():
    settings = load_settings(STACK_CONFIG)
    services = _compose()["services"]
    cfg = EsConfig.from_url(settings.store, settings.data_dir,
                            env={"CHAVDER_ES_PASSWORD": "x"})
    assert cfg.hosts == ["http://elasticsearch:9200"] and cfg.username == "chavder"
    assert cfg.sidecar.startswith("/data/") and cfg.spool.startswith("/data/")
    assert settings.mail.smtp_host in services and settings.mail.smtp_port == 1025
    mounts = " ".join(services["chavder"]["volumes"])
    assert f"./{STACK_CONFIG.name}:" in mounts
    assert "CHAVDER_ES_PASSWORD" in services["chavder"]["environment"]
    settings_text = "\n".join(line.split("#")[0] for line in
                              STACK_CONFIG.read_text(encoding="utf-8").splitlines())
    assert not re.search(r"password\s*:", settings_text, re.I)
    assert ":" not in settings.store.split("@")[0].split("//")[1]   # no user:password@


def test_compose_ships_the_elasticsearch_version_the_tests_run():
    """The compose stack's default server version is the one tests/engines starts for real."""
    pom = (Path(__file__).resolve().parent / "engines" / "elasticsearch" / "pom.xml").read_text()
    tested = re.search(r"<elasticsearch.version>([^<]+)</elasticsearch.version>", pom).group(1)
    compose = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    shipped = set(re.findall(r"elastic.co/(?:elasticsearch|kibana)/\w+:\$\{STACK_VERSION:-([^}]+)\}",
                             compose))
    assert shipped == {tested}
    assert f"STACK_VERSION={tested}" in ENV_EXAMPLE.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- scale-out

SCALE_COMPOSE = DEPLOY / "docker-compose.scale.yml"
SCALE_CONFIG = DEPLOY / "chavder.scale.yaml"
WORKER_UNIT = DEPLOY / "systemd" / "chavder-worker@.service"


def _merged_volumes(base: list[str], override: list[str]) -> dict[str, str]:
    """Compose's merge of two files' ``volumes``: by mount target, the later file wins."""
    out: dict[str, str] = {}
    for volume in [*base, *override]:
        source, target = re.match(r"(\$\{[^}]*\}|[^:]+):([^:]+)", volume).groups()
        out[target] = source
    return out


def test_scale_profile_has_redis_one_controller_and_scalable_workers():
    scale = yaml.safe_load(SCALE_COMPOSE.read_text(encoding="utf-8"))["services"]
    base = _compose()["services"]
    assert set(scale) == {"redis", "chavder", "worker"}
    assert scale["redis"]["profiles"] == ["scale"] and scale["worker"]["profiles"] == ["scale"]
    redis = scale["redis"]
    assert redis["image"].startswith("redis:") and "ports" not in redis
    assert "--appendonly" in redis["command"] and "noeviction" in redis["command"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    # the controller is the stack's own service (one of it: no replicas), now on Redis
    controller = {**base["chavder"], **scale["chavder"]}
    assert "chavder run" in " ".join(controller["command"]) and "deploy" not in controller
    mounts = _merged_volumes(base["chavder"]["volumes"], scale["chavder"]["volumes"])
    assert mounts["/config/chavder.yaml"] == f"./{SCALE_CONFIG.name}"
    assert {"/config/sources.yaml", "/config/alerts.yaml", "/data"} <= set(mounts)
    assert scale["chavder"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    worker = scale["worker"]
    assert worker["command"] == ["worker"] and worker["build"] == base["chavder"]["build"]
    assert worker["image"] == base["chavder"]["image"]
    assert "ports" not in worker and "container_name" not in worker   # --scale worker=N
    assert _merged_volumes([], worker["volumes"]) == {
        "/config/chavder.yaml": f"./{SCALE_CONFIG.name}", "/data": "chavderdata",
        "/config/sources.yaml": "${CHAVDER_SOURCES_FILE:-../sources.yaml}",
        "/config/alerts.yaml": "${CHAVDER_ALERTS_FILE:-../alerts.yaml}"}
    assert worker["environment"] == {"CHAVDER_ES_PASSWORD": base["chavder"]["environment"][
        "CHAVDER_ES_PASSWORD"]}                                 # from deploy/.env, not inline
    for service in scale.values():
        for volume in service.get("volumes", []):
            if volume.startswith("."):
                assert (DEPLOY / volume.split(":")[0]).exists(), volume
    assert "'.[apprise,scale]'" in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_scale_compose_ships_the_redis_line_the_tests_run():
    """The image's default version is the major.minor of the redis-server tests start."""
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    tested = re.search(r"v=(\d+\.\d+)\.", out).group(1)
    shipped = re.search(r"image: redis:\$\{REDIS_VERSION:-([\d.]+)\}",
                        SCALE_COMPOSE.read_text(encoding="utf-8")).group(1)
    assert shipped == tested


def test_scale_config_is_the_stack_config_plus_redis_url():
    from dataclasses import asdict
    stack, scale = asdict(load_settings(STACK_CONFIG)), asdict(load_settings(SCALE_CONFIG))
    assert scale.pop("redis_url") == "redis://redis:6379/0" and stack.pop("redis_url") == ""
    stack.pop("path"), scale.pop("path")
    assert scale == stack


def test_worker_unit_runs_the_worker_command_under_the_services_setup():
    from crawler.cli import cli
    from testsupport.sandbox import read_unit
    worker = read_unit(WORKER_UNIT)
    service = read_unit(DEPLOY / "systemd" / "chavder.service")
    program, *args = worker["ExecStart"].split()
    assert program == service["ExecStart"].split()[0] and args == ["worker"]
    assert "worker" in cli.commands and "run" in cli.commands
    for key in ("User", "Group", "WorkingDirectory", "EnvironmentFile", "Environment"):
        assert worker[key] == service[key], key
    text = WORKER_UNIT.read_text(encoding="utf-8")
    assert "Description=Chavder crawl worker %i" in text and "WantedBy=multi-user.target" in text
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", *args, "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Redis" in proc.stdout, proc.stderr


def test_remote_worker_config_loads_and_hands_its_articles_over():
    """deploy/chavder.worker.yaml is a valid configuration for a worker on another machine:
    it names the frontier and hands articles to the controller (no store of its own)."""
    settings = load_settings(DEPLOY / "chavder.worker.yaml")
    assert settings.store_writer == "controller"
    assert settings.redis_url.startswith("redis://") and settings.health_port == -1
    text = (DEPLOY / "chavder.worker.yaml").read_text(encoding="utf-8")
    assert "\nstore:" not in text and "mail:" not in text
