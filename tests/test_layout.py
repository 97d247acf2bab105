"""The layout says what depends on what: the domain (``crawler/``) never imports the APScheduler
service (``scheduler/``), and no two modules import each other, even through function-level
imports (a cycle such as ``cli`` ↔ ``digest_cli`` makes every change to one a risk to the
other). Read from the source with ``ast``: nothing is imported."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "scheduler")
#: The command line starts the service (``chavder run``): it is the composition root above
#: both packages, the one place where ``crawler`` may name ``scheduler``.
ENTRY_POINTS = ("crawler.cli",)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in its body (``from p import m`` counts as
    importing module ``p.m`` when that is a module, else ``p``)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if _type_checking(block)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue                   # ``if TYPE_CHECKING:`` imports never run
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


#: The modules this layout is about: alerts, their dispatch and ledger, delivery, digests, mail,
#: the store, the command modules that reach them, and the service.
DOMAIN = ("crawler.alerts", "crawler.alerting", "crawler.delivery", "crawler.digests",
          "crawler.mail", "crawler.store", "crawler.cli", "scheduler")


def _in_domain(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in DOMAIN)


def _packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between packages and top-level modules (``crawler.alerts``, ``crawler.mail``,
    ``crawler.app``, ``scheduler.service`` …)."""
    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        package = ".".join(name.split(".")[:2])
        out.setdefault(package, set()).update(
            p for p in (".".join(t.split(".")[:2]) for t in targets) if p != package)
    for targets in out.values():
        targets &= set(out)
    return out


def test_no_import_cycle_between_the_domain_modules():
    """Alerts, delivery, digests, mail, the store, the command modules and the service import
    one another in one direction only (``cli`` and ``digest_cli`` used to import each other)."""
    graph = {name: {t for t in targets if _in_domain(t)}
             for name, targets in _graph().items() if _in_domain(name)}
    assert _cycles(graph) == []


def test_no_import_cycle_between_the_domain_packages():
    """Nor between their packages: mail composes alerts, digests use mail and delivery, the
    service uses them all — never the other way round."""
    assert [c for c in _cycles(_packages(_graph())) if any(map(_in_domain, c))] == []


def test_the_domain_never_imports_the_service():
    graph = _graph()
    offenders = {name: sorted(t for t in targets if t.split(".")[0] == "scheduler")
                 for name, targets in graph.items()
                 if name.split(".")[0] == "crawler" and name not in ENTRY_POINTS
                 and not name.startswith(tuple(f"{e}." for e in ENTRY_POINTS))}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_service_package_is_only_the_service():
    """Alerts, digests, mail and delivery live in the domain; scheduler/ holds the service."""
    assert sorted(p.name for p in (ROOT / "scheduler").glob("*.py")) == [
        "__init__.py", "jobs.py", "runlock.py", "service.py"]
    assert not (ROOT / "scheduler" / "mail").exists()


def test_the_checker_sees_a_cycle():
    """The walk itself: a two-module loop and a function-level import are found."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    graph = _graph()
    assert "crawler.digests" in graph["crawler.cli.digest"]   # imported inside a function
