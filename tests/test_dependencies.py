"""Declared runtime dependencies and the imports of the shipped packages agree both ways: nothing
is installed for nothing (defusedxml and dateparser once were), and nothing the code imports is
only there because another package happens to pull it in (requests once was)."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("crawler", "scheduler")
#: Declared but used without an import statement of ours, and why.
USED_WITHOUT_IMPORT = {
    "brotli": "Scrapy's HttpCompressionMiddleware imports it to decode Content-Encoding: br",
}


def _declared(*, extras: bool = False) -> set[str]:
    """Runtime dependencies; with ``extras`` also the optional features (not test/bench)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    if extras:
        specs += [spec for extra, deps in project.get("optional-dependencies", {}).items()
                  if extra not in ("test", "bench") for spec in deps]
    return {_norm(re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0]) for spec in specs}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> dict[str, Path]:
    """Top-level module → first file importing it (function-level imports included)."""
    found: dict[str, Path] = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], path.relative_to(ROOT))
    return found


def _third_party(modules: dict[str, Path]) -> dict[str, tuple[str, Path]]:
    """Distribution (normalised) → (module, importing file) for non-stdlib, non-local imports."""
    dists = packages_distributions()
    out: dict[str, tuple[str, Path]] = {}
    for module, path in modules.items():
        if module in sys.stdlib_module_names or module == "__future__" or (ROOT / module).is_dir():
            continue                               # stdlib, or this repository's own packages
        for dist in dists.get(module, [module]):
            out.setdefault(_norm(dist), (module, path))
    return out


def test_every_declared_dependency_is_imported_by_the_shipped_code() -> None:
    imported = _third_party(_imported_modules())
    unused = sorted(d for d in _declared()
                    if d not in imported and d not in USED_WITHOUT_IMPORT)
    assert unused == [], (f"declared in pyproject.toml but imported nowhere under "
                          f"{'/, '.join(SHIPPED)}/: {unused} — remove them or use them")


def test_every_third_party_import_is_declared() -> None:
    declared = _declared(extras=True)
    missing = sorted(f"{module} ({dist}, imported by {path})"
                     for dist, (module, path) in _third_party(_imported_modules()).items()
                     if dist not in declared)
    assert missing == [], f"imported but not declared in pyproject.toml: {missing}"
