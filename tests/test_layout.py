"""The layout says what depends on what, for every module of ``crawler/``, ``scheduler/`` and
``testsupport/`` — new ones included, nothing is listed by hand:

* **no module over 600 lines** (a module that long does several jobs);
* **no import cycle between modules**;
* **no import cycle between packages** (``crawler.cli``, ``crawler.store``,
  ``crawler.store.sqlite``, ``scheduler`` …; a module directly in ``crawler/`` — ``app.py``,
  ``crawl.py``, ``defaults.py`` — stands at their level: ``crawler/`` is the project's
  namespace, not one job);
* **the layers import downwards only**: ``crawler`` (the domain, its Scrapy components and the
  command line) imports neither ``scheduler`` (the APScheduler service built on it) nor
  ``testsupport``; ``scheduler`` never imports ``testsupport``.

What counts as an import. Every ``import``/``from … import`` anywhere in a module's body —
**function-level (lazy) imports included**, and reported as such: an import moved into a
function only defers the moment the loop bites (a partly initialised module, an order that
works in one entry point and not in another); the two modules still change together, which is
what a cycle costs. Imports under ``if TYPE_CHECKING:`` are left out: they never run, and an
annotation naming a type is no dependency of the code. Names given as strings (Scrapy settings
naming components, the ``chavder`` group naming the service's commands in
``crawler/cli/service.py``) are configuration, not imports.

One exemption, between packages only: a package's ``__init__`` importing its own parts
(``crawler.store`` opening a ``crawler.store.sqlite`` store, ``crawler.text`` re-exporting
``crawler.text.dates``) is the package being made of its parts — Python runs a part's parent
``__init__`` before the part in any case. The package's other modules may not import the part
(the store's contracts, ``base.py`` and ``roles.py``, never name a backend), and the module
graph still sees every such import.

Read from the source with ``ast``: nothing is imported. A failure names each edge of the
cycle with the ``file:line`` of every import behind it.
"""
from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "scheduler", "testsupport")
#: Each may import only those before it.
LAYERS = ("crawler", "scheduler", "testsupport")
#: Directories whose direct modules stand at package level (see the module docstring).
NAMESPACES = ("crawler",)
MAX_LINES = 600


@dataclass(frozen=True)
class Import:
    source: str      # the importing module
    target: str      # the project module imported
    path: Path
    line: int
    lazy: bool       # inside a function body

    def where(self, root: Path = ROOT) -> str:
        return f"{self.path.relative_to(root)}:{self.line}" + (" (in a function)"
                                                               if self.lazy else "")


def _modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> list[Import]:
    """The project modules ``name`` imports anywhere in its body (``from p import m`` counts as
    importing module ``p.m`` when that is a module, else ``p``)."""
    found: list[Import] = []
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if _type_checking(block)
                   for stmt in block.body for n in ast.walk(stmt)}
    in_function = {id(n) for f in ast.walk(tree)
                   if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                   for n in ast.walk(f) if n is not f}
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
                found.append(Import(name, target, path, node.lineno, id(node) in in_function))
    return list(dict.fromkeys(found))       # ``from p import a, b``: one import of p


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def _scan(root: Path, packages: tuple[str, ...]) -> list[Import]:
    """Every import of the modules of ``packages`` under ``root``."""
    modules = _modules(root, packages)
    known = set(modules)
    return [imp for name, path in modules.items() for imp in _imports(name, path, known)]


@functools.lru_cache(maxsize=1)
def _all_imports() -> list[Import]:
    """Every import of the project, parsed once: each rule reads the same graph."""
    return _scan(ROOT, PACKAGES)


def _graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (every module is a key)."""
    graph: dict[str, set[str]] = {name: set() for name in _modules()}
    for imp in _all_imports():
        graph[imp.source].add(imp.target)
    return graph


def _unit(module: str, packages_in: set[str]) -> str:
    """The package a module belongs to: itself if it is a package, else its parent — except
    in a namespace directory, where a module is a unit of its own."""
    if module in packages_in:
        return module
    parent = module.rpartition(".")[0]
    return module if not parent or parent in NAMESPACES else parent


def _package_imports(imports: list[Import], packages_in: set[str]) -> list[Import]:
    """The imports between packages, as ``Import``s from unit to unit (a package's
    ``__init__`` importing its own parts left out: see the module docstring)."""
    out = []
    for imp in imports:
        source, target = _unit(imp.source, packages_in), _unit(imp.target, packages_in)
        if source == target:
            continue
        if imp.source in packages_in and imp.target.startswith(imp.source + "."):
            continue
        out.append(Import(source, target, imp.path, imp.line, imp.lazy))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iteratively)."""
    graph = {**{t: set() for ts in graph.values() for t in ts}, **graph}
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


def _explain(cycles: list[list[str]], imports: list[Import], root: Path = ROOT) -> str:
    """Each cycle as its edges, each edge with the ``file:line`` of the imports behind it."""
    lines = []
    imports = list(dict.fromkeys(imports))
    for members in cycles:
        inside = set(members)
        lines.append(f"import cycle among {', '.join(members)}:")
        edges: dict[tuple[str, str], list[Import]] = {}
        for imp in imports:
            if imp.source in inside and imp.target in inside:
                edges.setdefault((imp.source, imp.target), []).append(imp)
        for (source, target), sites in sorted(edges.items()):
            shown = ", ".join(imp.where(root) for imp in sites[:4])
            more = f" (+{len(sites) - 4} more)" if len(sites) > 4 else ""
            lines.append(f"  {source} → {target}: {shown}{more}")
    return "\n".join(lines)


def _module_cycles(imports: list[Import]) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).add(imp.target)
    return _cycles(graph)


def _package_cycles(imports: list[Import], packages_in: set[str]
                    ) -> tuple[list[list[str]], list[Import]]:
    between = _package_imports(imports, packages_in)
    graph: dict[str, set[str]] = {}
    for imp in between:
        graph.setdefault(imp.source, set()).add(imp.target)
    return _cycles(graph), between


def _packages_in(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> set[str]:
    return {name for name, path in _modules(root, packages).items()
            if path.name == "__init__.py"}


# --------------------------------------------------------------------------- the rules

def test_no_module_over_600_lines():
    long = {str(path.relative_to(ROOT)): n for path in _modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these by job (at most {MAX_LINES} lines a module): {long}"


def test_no_import_cycle_between_modules():
    imports = _all_imports()
    cycles = _module_cycles(imports)
    assert cycles == [], _explain(cycles, imports)


def test_no_import_cycle_between_packages():
    cycles, between = _package_cycles(_all_imports(), _packages_in())
    assert cycles == [], _explain(cycles, between)


def test_the_layers_import_downwards_only():
    """The domain never imports the service nor the test support; the service never imports
    the test support (``chavder run`` / ``status`` are the service's own commands,
    ``scheduler/commands.py``, named by the command line by module path)."""
    rank = {layer: n for n, layer in enumerate(LAYERS)}
    upwards = [imp.where() + f" imports {imp.target}" for imp in _all_imports()
               if rank[imp.target.split(".")[0]] > rank[imp.source.split(".")[0]]]
    assert upwards == []


def test_the_service_package_is_only_the_service():
    """Alerts, digests, mail and delivery live in the domain; scheduler/ holds the service,
    its jobs, its run lock and its two commands."""
    assert sorted(p.name for p in (ROOT / "scheduler").glob("*.py")) == [
        "__init__.py", "commands.py", "jobs.py", "runlock.py", "service.py"]
    assert not (ROOT / "scheduler" / "mail").exists()


def test_the_commands_named_by_path_load():
    """What the command line names by path loads, and is the command it names."""
    import click

    from crawler.cli import cli
    from scheduler.commands import cmd_run, cmd_status
    ctx = click.Context(cli)
    assert cli.get_command(ctx, "run") is cmd_run
    assert cli.get_command(ctx, "status") is cmd_status
    assert cli.commands["run"].help == cmd_run.help        # and the stand-in reads as it


# --------------------------------------------------------------------------- the checker

def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_sees_a_cycle(tmp_path):
    """The walk itself: a two-module loop through a function-level import is found and named
    with file:line; a ``TYPE_CHECKING`` import is not an edge; relative imports resolve."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    _tree(tmp_path, {
        "p/__init__.py": "",
        "p/a.py": "from p import b\n",
        "p/b.py": "def f():\n    from .a import x\n",
        "p/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p import d\n",
        "p/d.py": "import p.c\n",
    })
    imports = _scan(tmp_path, ("p",))
    cycles = _module_cycles(imports)
    assert cycles == [["p.a", "p.b"]]
    message = _explain(cycles, imports, tmp_path)
    assert "p.a → p.b: p/a.py:1" in message
    assert "p.b → p.a: p/b.py:2 (in a function)" in message
    graph = _graph()
    assert "crawler.digests" in graph["crawler.cli.digest"]   # imported inside a function


def test_the_checker_sees_a_package_cycle(tmp_path, monkeypatch):
    """Packages: ``q.x → r.y`` and ``r.z → q.w`` loop although no module does; a package's
    ``__init__`` importing its part is no loop, a contract module importing it is; a module
    in a namespace directory is a unit of its own (``app → q → defaults`` is no loop)."""
    _tree(tmp_path, {
        "ns/__init__.py": "",
        "ns/q/__init__.py": "",
        "ns/q/x.py": "from ns.r import y\n",
        "ns/q/w.py": "import ns.defaults\n",
        "ns/r/__init__.py": "",
        "ns/r/y.py": "",
        "ns/r/z.py": "from ns.q import w\n",
        "ns/s/__init__.py": "from ns.s.impl import open_it\n",
        "ns/s/base.py": "",
        "ns/s/impl/__init__.py": "from ns.s.base import *\n",
        "ns/app.py": "from ns.q import x\n",
        "ns/defaults.py": "",
    })
    monkeypatch.setattr(sys.modules[__name__], "NAMESPACES", ("ns",))
    imports = _scan(tmp_path, ("ns",))
    assert _module_cycles(imports) == []
    cycles, between = _package_cycles(imports, _packages_in(tmp_path, ("ns",)))
    assert cycles == [["ns.q", "ns.r"]]
    assert "ns.r → ns.q: ns/r/z.py:1" in _explain(cycles, between, tmp_path)
    (tmp_path / "ns/s/base.py").write_text("def f():\n    import ns.s.impl\n")
    imports = _scan(tmp_path, ("ns",))
    cycles, _ = _package_cycles(imports, _packages_in(tmp_path, ("ns",)))
    assert ["ns.s", "ns.s.impl"] in cycles
    monkeypatch.setattr(sys.modules[__name__], "NAMESPACES", ())
    cycles, _ = _package_cycles(imports, _packages_in(tmp_path, ("ns",)))
    assert ["ns", "ns.q", "ns.r"] in cycles           # without the namespace rule: one loop
