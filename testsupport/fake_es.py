"""A protocol-level fake Elasticsearch 8 on 127.0.0.1, for driving the REAL client transport.

It speaks just enough of the REST API for Chavder: ``GET /`` (with the
``X-Elastic-Product: Elasticsearch`` header the client insists on), index templates, index
creation with aliases, ``_mapping``, ``_aliases``, ``_bulk`` (NDJSON, ``require_alias``),
``_refresh``, ``_count``, ``_doc`` and a ``_search`` evaluator for the query subset Chavder
sends (bool/term/terms/range/match/match_phrase, sort, collapse, terms aggregations).
Like a real 8.x server it rejects ``compatible-with=9`` media types.

Fault injection, to test the outage path: ``stop()`` closes the port and every open
connection (connection refused), ``start()`` reopens the same port; ``hang(seconds)`` makes
bulk requests stall and then drop without applying anything (a client timeout);
``fail_bulk(status, times)`` answers whole bulk requests with 429/503;
``fail_items({doc_id: status})`` fails single bulk items once.

The search evaluator is an approximation: ``arabic``/``sorani`` sub-fields are tokenised but
not stemmed, and scores are simple term counts. It checks Chavder's requests and response
handling, not Elasticsearch relevance.
"""
from __future__ import annotations

import json
import re
import socket
import threading
import time
import unicodedata
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.text.dates import parse_iso

VERSION = "8.19.3"


class _Index:
    def __init__(self, name: str, mappings: dict, settings: dict):
        self.name = name
        self.mappings = mappings or {}
        self.settings = settings or {}
        self.docs: dict[str, dict] = {}
        self.versions: dict[str, int] = {}


class FakeElasticsearch:
    """See the module docstring. ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, port: int = 0):
        self._lock = threading.RLock()
        self.indices: dict[str, _Index] = {}
        self.aliases: dict[str, dict[str, dict]] = {}      # alias -> {index: props}
        self.templates: dict[str, dict] = {}
        self.accepted: list[tuple[str, str, dict | None]] = []   # applied bulk items, in order
        self.rejected_compat: list[str] = []
        self._bulk_failures: list[int] = []
        self._item_failures: dict[str, int] = {}
        self._hang_until = 0.0
        self._release = threading.Event()
        self._conns: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeElasticsearch":
        fake = self

        class Handler(_Handler):
            server_fake = fake

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Refuse connections: close the listening socket and every open connection."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._release.set()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._release = threading.Event()

    # ------------------------------------------------------------------ faults
    def hang(self, seconds: float) -> None:
        """Bulk requests stall this long (or until ``recover``) and are dropped unapplied."""
        self._hang_until = time.monotonic() + seconds

    def fail_bulk(self, status: int, times: int = 1) -> None:
        self._bulk_failures.extend([status] * times)

    def fail_items(self, failures: dict[str, int]) -> None:
        """Fail the next bulk item for each document id once with the given status."""
        self._item_failures.update(failures)

    def recover(self) -> None:
        self._hang_until = 0.0
        self._bulk_failures.clear()
        self._item_failures.clear()
        self._release.set()
        self._release = threading.Event()

    # ------------------------------------------------------------------ inspection
    def resolve(self, name: str, *, write: bool = False) -> list[str]:
        if name in self.aliases:
            members = self.aliases[name]
            if write:
                writers = [i for i, p in members.items() if p.get("is_write_index")]
                return writers or (list(members) if len(members) == 1 else [])
            return list(members)
        if name in self.indices:
            return [name]
        if name.endswith("*"):
            return [i for i in self.indices if i.startswith(name[:-1])]
        return []

    def documents(self, name: str) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for index in self.resolve(name):
            out.update(self.indices[index].docs)
        return out

    # ------------------------------------------------------------------ API
    def handle(self, method: str, path: str, params: dict[str, str], body: bytes,
               handler: "_Handler") -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        if not parts:
            return 200, {"name": "fake", "cluster_name": "chavder-test", "cluster_uuid": "x",
                         "version": {"number": VERSION, "build_flavor": "default",
                                     "lucene_version": "9.12.0",
                                     "minimum_wire_compatibility_version": "7.17.0"},
                         "tagline": "You Know, for Search"}
        if parts[0] == "_bulk":
            return self._bulk(None, params, body, handler)
        with self._lock:
            if parts[0] == "_index_template" and len(parts) == 2:
                if method == "PUT":
                    self.templates[parts[1]] = _json(body)
                    return 200, {"acknowledged": True}
                if parts[1] in self.templates:
                    return 200, {"index_templates": [{"name": parts[1],
                                                      "index_template": self.templates[parts[1]]}]}
                return 404, _error("resource_not_found_exception", parts[1], 404)
            if parts[0] == "_alias" and len(parts) == 2:
                if parts[1] in self.aliases:
                    return 200, {i: {"aliases": {parts[1]: p}}
                                 for i, p in self.aliases[parts[1]].items()}
                return 404, {"error": f"alias [{parts[1]}] missing", "status": 404}
            if parts[0] == "_aliases" and method in ("POST", "PUT"):
                for action in _json(body).get("actions", []):
                    for kind, spec in action.items():
                        if kind == "add":
                            self.aliases.setdefault(spec["alias"], {})[spec["index"]] = {
                                "is_write_index": spec.get("is_write_index", False)}
                        elif kind == "remove":
                            self.aliases.get(spec["alias"], {}).pop(spec["index"], None)
                return 200, {"acknowledged": True}
        if len(parts) == 1 and method == "HEAD":
            with self._lock:
                return (200 if self.resolve(parts[0]) else 404), None
        if len(parts) == 1 and method == "PUT":
            return self._create_index(parts[0], _json(body))
        if len(parts) >= 2:
            name, op = parts[0], parts[1]
            if op == "_bulk":
                return self._bulk(name, params, body, handler)
            with self._lock:
                targets = self.resolve(name)
                if not targets:
                    return 404, _error("index_not_found_exception", f"no such index [{name}]", 404)
                if op == "_mapping" and method == "PUT":
                    new = _json(body)
                    for t in targets:
                        props = self.indices[t].mappings.setdefault("properties", {})
                        props.update(new.get("properties", {}))
                    return 200, {"acknowledged": True}
                if op == "_refresh":
                    return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
                if op == "_count":
                    return 200, {"count": len(self.documents(name))}
                if op == "_doc" and len(parts) == 3:
                    for t in targets:
                        if parts[2] in self.indices[t].docs:
                            return 200, {"_index": t, "_id": parts[2], "found": True,
                                         "_source": self.indices[t].docs[parts[2]]}
                    return 404, {"_index": targets[0], "_id": parts[2], "found": False}
                if op == "_search":
                    return 200, self._search(targets, _json(body) if body else {})
        return 400, _error("illegal_argument_exception", f"fake: {method} {path} unsupported",
                           400)

    def _create_index(self, name: str, spec: dict) -> tuple[int, Any]:
        with self._lock:
            if name in self.indices or name in self.aliases:
                return 400, _error("resource_already_exists_exception",
                                   f"index [{name}] already exists", 400)
            mappings, settings = {}, {}
            for tpl in sorted(self.templates.values(), key=lambda t: -t.get("priority", 0)):
                if any(re.fullmatch(p.replace("*", ".*"), name) for p in tpl["index_patterns"]):
                    mappings = json.loads(json.dumps(tpl.get("template", {}).get("mappings", {})))
                    settings = tpl.get("template", {}).get("settings", {})
                    break
            mappings.update(spec.get("mappings", {}))
            self.indices[name] = _Index(name, mappings, settings)
            for alias, props in (spec.get("aliases") or {}).items():
                self.aliases.setdefault(alias, {})[name] = dict(props)
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _bulk(self, default_index: str | None, params: dict[str, str], body: bytes,
              handler: "_Handler") -> tuple[int, Any]:
        if self._hang_until > time.monotonic():
            release = self._release
            release.wait(max(0.0, self._hang_until - time.monotonic()))
            handler.close_connection = True
            return -1, None                                # drop without answering
        with self._lock:
            if self._bulk_failures:
                status = self._bulk_failures.pop(0)
                kind = "es_rejected_execution_exception" if status == 429 else "unavailable"
                return status, _error(kind, "fake: injected failure", status)
            lines = [ln for ln in body.decode("utf-8").split("\n") if ln.strip()]
            items, errors, i = [], False, 0
            require_alias = params.get("require_alias") == "true"
            while i < len(lines):
                action = json.loads(lines[i])
                (op, meta), = action.items()
                i += 1
                source = None
                if op != "delete":
                    source = json.loads(lines[i])
                    i += 1
                target = meta.get("_index") or default_index
                doc_id = meta.get("_id")
                result: dict[str, Any] = {"_index": target, "_id": doc_id}
                if doc_id in self._item_failures:
                    status = self._item_failures.pop(doc_id)
                    result.update(status=status, error={
                        "type": "es_rejected_execution_exception" if status == 429
                        else "mapper_parsing_exception", "reason": "fake: injected item failure"})
                    errors = True
                elif require_alias and target not in self.aliases:
                    result.update(status=404, error={
                        "type": "index_not_found_exception",
                        "reason": f"no such index [{target}] and [require_alias] request flag "
                                  "is [true] and [{target}] is not an alias"})
                    errors = True
                else:
                    writes = self.resolve(target, write=True)
                    if not writes:
                        self._create_index(target, {})
                        writes = [target]
                    index = self.indices[writes[0]]
                    result["_index"] = index.name
                    if op == "delete":
                        found = index.docs.pop(doc_id, None) is not None
                        result.update(status=200 if found else 404,
                                      result="deleted" if found else "not_found")
                    else:
                        version = meta.get("version")
                        current = index.versions.get(doc_id)
                        if (meta.get("version_type") == "external_gte" and current is not None
                                and version < current):
                            result.update(status=409, error={
                                "type": "version_conflict_engine_exception",
                                "reason": f"[{doc_id}]: version conflict, current version "
                                          f"[{current}] is higher than the one provided "
                                          f"[{version}]"})
                            errors = True
                            items.append({op: result})
                            continue
                        existed = doc_id in index.docs
                        index.docs[doc_id] = source
                        index.versions[doc_id] = version if version is not None else (
                            (current or 0) + 1)
                        result.update(status=200 if existed else 201,
                                      result="updated" if existed else "created")
                    self.accepted.append((index.name, doc_id, source))
                items.append({op: result})
            return 200, {"took": 1, "errors": errors, "items": items}

    # ------------------------------------------------------------------ search evaluator
    def _search(self, targets: list[str], body: dict) -> dict:
        scored: list[tuple[float, str, str, dict]] = []
        query = body.get("query", {"match_all": {}})
        for t in targets:
            index = self.indices[t]
            for doc_id, doc in index.docs.items():
                hit, score = _evaluate(query, doc, index.mappings)
                if hit:
                    scored.append((score, t, doc_id, doc))
        for spec in reversed(body.get("sort", [{"_score": {"order": "desc"}}])):
            (field, opts), = (spec.items() if isinstance(spec, dict) else [(spec, {})])
            order = opts.get("order", "desc") if isinstance(opts, dict) else opts
            if field == "_score":
                scored.sort(key=lambda x: x[0], reverse=(order == "desc"))
            else:
                present = [x for x in scored if x[3].get(field) is not None]
                missing = [x for x in scored if x[3].get(field) is None]
                present.sort(key=lambda x: _sort_key(x[3][field]), reverse=(order == "desc"))
                scored = present + missing
        if "collapse" in body:
            field, seen, kept = body["collapse"]["field"], set(), []
            for x in scored:
                key = x[3].get(field)
                if key in seen:
                    continue
                seen.add(key)
                kept.append(x)
            scored = kept
        excludes = set(body.get("_source", {}).get("excludes", [])) if isinstance(
            body.get("_source"), dict) else set()
        hits = [{"_index": t, "_id": i, "_score": s,
                 "_source": {k: v for k, v in d.items() if k not in excludes}}
                for s, t, i, d in scored[:body.get("size", 10)]]
        out: dict[str, Any] = {"took": 1, "timed_out": False,
                               "hits": {"max_score": hits[0]["_score"] if hits else None,
                                        "hits": hits}}
        aggs = body.get("aggs") or body.get("aggregations")
        if aggs:
            out["aggregations"] = _aggregate(aggs, [x[3] for x in scored])
        return out


# ---------------------------------------------------------------------- HTTP plumbing

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeElasticsearch

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # one small response per request: without this, Nagle + delayed ACK add 40 ms each
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server_fake._lock:
            self.server_fake._conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server_fake._lock:
                self.server_fake._conns.discard(self.connection)

    def _serve(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        for name in ("Accept", "Content-Type"):
            value = self.headers.get(name) or ""
            if "compatible-with=" in value and "compatible-with=8" not in value \
                    and "compatible-with=7" not in value:
                fake.rejected_compat.append(value)
                return self._send(400, _error(
                    "media_type_header_exception",
                    "Invalid media-type value on headers [Accept, Content-Type]", 400))
        try:
            status, payload = fake.handle(self.command, split.path, params, body, self)
        except Exception as exc:  # noqa: BLE001 - surface as a 500 like a broken node
            status, payload = 500, _error("fake_exception", repr(exc), 500)
        if status < 0:
            self.close_connection = True
            return
        self._send(status, payload)

    def _send(self, status: int, payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve


def _json(body: bytes) -> dict:
    return json.loads(body.decode("utf-8")) if body else {}


def _error(kind: str, reason: str, status: int) -> dict:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind,
                      "reason": reason}, "status": status}


# ---------------------------------------------------------------------- query evaluation

def _field_mapping(mappings: dict, field: str) -> dict:
    parts = field.split(".")
    node = mappings.get("properties", {}).get(parts[0], {})
    for sub in parts[1:]:
        node = node.get("fields", {}).get(sub, {})
    return node


def _analyze(text: str, analyzer: str) -> list[str]:
    if analyzer == "whitespace":
        return text.split()
    tokens = re.findall(r"[^\W_]+", text.lower())
    if analyzer == "chavder_latin":
        tokens = ["".join(c for c in unicodedata.normalize("NFKD", t)
                          if not unicodedata.combining(c)) for t in tokens]
    return tokens


def _values(doc: dict, field: str) -> list:
    value = doc.get(field.split(".")[0])
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _field_tokens(doc: dict, field: str, mappings: dict) -> list[str]:
    analyzer = _field_mapping(mappings, field).get("analyzer", "standard")
    out: list[str] = []
    for v in _values(doc, field):
        out.extend(_analyze(str(v), analyzer))
    return out


def _as_time(value: Any) -> datetime | None:
    return parse_iso(str(value))


def _sort_key(value: Any) -> Any:
    t = _as_time(value) if isinstance(value, str) else None
    return t.timestamp() if t else value


def _evaluate(query: dict, doc: dict, mappings: dict) -> tuple[bool, float]:
    (kind, spec), = query.items()
    if kind == "match_all":
        return True, 1.0
    if kind == "bool":
        score = 0.0
        for clause in spec.get("must", []):
            ok, s = _evaluate(clause, doc, mappings)
            if not ok:
                return False, 0.0
            score += s
        for clause in spec.get("filter", []):
            if not _evaluate(clause, doc, mappings)[0]:
                return False, 0.0
        for clause in spec.get("must_not", []):
            if _evaluate(clause, doc, mappings)[0]:
                return False, 0.0
        should = spec.get("should", [])
        default_min = 0 if (spec.get("must") or spec.get("filter")) else (1 if should else 0)
        needed = int(spec.get("minimum_should_match", default_min))
        matched = 0
        for clause in should:
            ok, s = _evaluate(clause, doc, mappings)
            if ok:
                matched += 1
                score += s
        return matched >= needed, score
    if kind == "term":
        (field, value), = spec.items()
        boost = value.get("boost", 1.0) if isinstance(value, dict) else 1.0
        value = value["value"] if isinstance(value, dict) else value
        mapping = _field_mapping(mappings, field)
        if mapping.get("type") == "text":
            n = _field_tokens(doc, field, mappings).count(value)
            return n > 0, boost * n
        return any(v == value for v in _values(doc, field)), boost
    if kind == "terms":
        (field, values), = spec.items()
        return any(v in values for v in _values(doc, field)), 1.0
    if kind == "range":
        (field, bounds), = spec.items()
        for v in _values(doc, field):
            t = _as_time(v)
            if t is None:
                continue
            if "gte" in bounds and t < _as_time(bounds["gte"]):
                continue
            if "lt" in bounds and t >= _as_time(bounds["lt"]):
                continue
            return True, 1.0
        return False, 0.0
    if kind in ("match", "match_phrase"):
        (field, opts), = spec.items()
        opts = opts if isinstance(opts, dict) else {"query": opts}
        analyzer = _field_mapping(mappings, field).get("analyzer", "standard")
        wanted = _analyze(str(opts["query"]), analyzer)
        have = _field_tokens(doc, field, mappings)
        boost = opts.get("boost", 1.0)
        if not wanted:
            return False, 0.0
        if kind == "match":
            n = sum(have.count(w) for w in wanted)
            return n > 0, boost * n
        slop = int(opts.get("slop", 0))
        positions = [[i for i, t in enumerate(have) if t == w] for w in wanted]
        for start in positions[0]:
            last, ok = start, True
            for later in positions[1:]:
                nxt = [p for p in later if p > last]
                if not nxt:
                    ok = False
                    break
                last = nxt[0]
            if ok and (last - start) - (len(wanted) - 1) <= slop:
                return True, boost
        return False, 0.0
    raise ValueError(f"fake Elasticsearch: query type {kind!r} not supported")


def _aggregate(aggs: dict, docs: list[dict]) -> dict:
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        terms = spec.get("terms")
        if terms is None:
            raise ValueError(f"fake Elasticsearch: aggregation {spec} not supported")
        groups: dict[Any, list[dict]] = {}
        for d in docs:
            for v in _values(d, terms["field"]):
                groups.setdefault(v, []).append(d)
        ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))
        buckets = []
        for key, members in ordered[:terms.get("size", 10)]:
            bucket: dict[str, Any] = {"key": key, "doc_count": len(members)}
            if spec.get("aggs"):
                bucket.update(_aggregate(spec["aggs"], members))
            buckets.append(bucket)
        out[name] = {"buckets": buckets}
    return out
