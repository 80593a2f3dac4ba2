"""The direction of imports, checked on the source: every ``import`` and ``from ... import`` of
every module under ``src/headwater`` (at the top, inside functions, under ``TYPE_CHECKING``) must
follow :data:`RULES`.

To add a top-level package or module, add a row to :data:`RULES` naming what it may import; an
unknown package fails :func:`test_every_package_has_a_rule`. A known violation that its owner has
not removed yet goes in :data:`KNOWN_VIOLATIONS` with the reason, so it stays visible; an entry
that no longer matches any import fails :func:`test_no_known_violation_is_stale`.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "headwater"

#: The floor: ``headwater`` itself (``__version__``), the error tree and logging. Every package may
#: import these, except the emulator.
FLOOR = frozenset({"headwater", "errors", "logs"})

#: What each top-level package (or module) of ``headwater`` may import besides itself and the
#: floor. The layers: domain ← connectors, lake, store ← services ← api, ui, cli; engine runs the
#: plans of services with store, connectors and lake; settings are read only at the composition
#: roots (runtime, the CLI and the ASGI entry point); the emulator imports nothing.
RULES: dict[str, frozenset[str]] = {
    "headwater": frozenset(),
    "__main__": frozenset({"cli"}),
    "errors": frozenset(),
    "logs": frozenset(),
    "settings": frozenset(),
    "domain": frozenset(),
    "connectors": frozenset({"domain"}),
    "lake": frozenset({"domain"}),
    "store": frozenset({"domain"}),
    "mapping": frozenset({"domain"}),  # Data Prep's language on Arrow, beside domain
    "services": frozenset({"domain", "connectors", "lake", "store", "mapping"}),
    "engine": frozenset({"domain", "connectors", "lake", "store", "services"}),
    "runtime": frozenset({"domain", "connectors", "lake", "store", "services", "settings"}),
    "api": frozenset({"domain", "services", "ui"}),  # create_app mounts the web UI
    "ui": frozenset({"domain", "services"}),
    "cli": frozenset({"domain", "services", "engine", "runtime", "settings", "emulator"}),
    "emulator": frozenset(),
}

#: Modules that are composition roots inside a package, and what else they may import.
ROOT_MODULES: dict[str, frozenset[str]] = {
    "headwater.api.asgi": frozenset({"runtime", "settings"}),  # the ASGI entry point
}

#: Imports that break :data:`RULES` today, each with who removes it: (importing module, imported
#: name) → why it is there.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}

#: Third-party frameworks a package must not import: the web framework stays in the API (and the
#: UI), SQL in the store and the floors that need it, pydantic-settings in settings.
FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "pydantic_settings", "uvicorn", "typer"}
MAY_USE: dict[str, frozenset[str]] = {
    "store": frozenset({"sqlalchemy"}),
    "services": frozenset({"sqlalchemy"}),  # Engine and error types only: SQL lives in store
    "engine": frozenset({"sqlalchemy"}),  # the scheduler retries on SQLAlchemyError
    "runtime": frozenset({"sqlalchemy"}),
    "settings": frozenset({"pydantic_settings"}),
    "api": frozenset({"fastapi", "starlette", "sqlalchemy"}),
    "ui": frozenset({"fastapi", "starlette"}),
    "cli": frozenset({"typer", "uvicorn", "sqlalchemy"}),
    "emulator": frozenset({"starlette", "uvicorn", "typer"}),
}


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module, e.g. headwater.api.app
    path: Path
    line: int
    name: str  # what it imports, resolved to a module where one exists

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(SRC.parent)}:{self.line}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The longest prefix of ``name`` that is a module of ours (``headwater.x.y`` where ``y`` is
    a function of module ``headwater.x`` resolves to ``headwater.x``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return name


def _package(name: str) -> str:
    """The top-level package of a ``headwater`` name (``headwater`` itself for the root)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "headwater"


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes.update(id(sub) for sub in ast.walk(node))
    return nodes


def imports(*, type_checking: bool = True) -> Iterator[Import]:
    """Every import of a ``headwater`` name by every module, wherever it stands."""
    for module, path in MODULES.items():
        tree = _tree(path)
        skip = set() if type_checking else _type_checking_nodes(tree)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against the importing package
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                names = [f"{source}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name == "headwater" or name.startswith("headwater."):
                    yield Import(module, path, node.lineno, _resolve(name))


def third_party_imports() -> Iterator[tuple[str, Path, int, str]]:
    for module, path in MODULES.items():
        tree = _tree(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in FRAMEWORKS:
                    yield module, path, node.lineno, top


def top_level_packages() -> set[str]:
    names = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    return names | {"headwater"}


def test_every_package_has_a_rule() -> None:
    missing = sorted(top_level_packages() - set(RULES))
    assert not missing, (
        f"headwater.{missing[0]} has no row in RULES (tests/test_layers.py): add one naming the "
        "packages it may import, so its place in the layers is decided, not implied"
    )


def may_import(package: str) -> frozenset[str]:
    """The packages ``package`` may import: its row, plus the floor for all but the floor itself
    and the emulator."""
    if package in FLOOR or package == "emulator":
        return RULES.get(package, frozenset())
    return RULES.get(package, frozenset()) | FLOOR


def test_the_rules_name_known_packages_and_form_no_cycle() -> None:
    for package, allowed in RULES.items():
        unknown = allowed - set(RULES)
        assert not unknown, f"RULES[{package!r}] names unknown packages {sorted(unknown)}"
    state: dict[str, int] = {}  # 1 = on the path, 2 = done

    def visit(package: str, path: list[str]) -> None:
        state[package] = 1
        for below in sorted(may_import(package) - {package}):
            assert state.get(below) != 1, f"RULES allow a cycle: {' → '.join([*path, below])}"
            if below not in state:
                visit(below, [*path, below])
        state[package] = 2

    for package in sorted(RULES):
        if package not in state:
            visit(package, [package])


def _allowed(imp: Import) -> bool:
    source, target = _package(imp.module), _package(imp.name)
    return source == target or target in may_import(source) | ROOT_MODULES.get(
        imp.module, frozenset()
    )


def test_imports_follow_the_rules() -> None:
    broken = [
        f"{imp.where}: {imp.module} imports {imp.name} "
        f"({_package(imp.module)} may import {sorted(may_import(_package(imp.module)))})"
        for imp in imports()
        if not _allowed(imp) and (imp.module, imp.name) not in KNOWN_VIOLATIONS
    ]
    assert not broken, "imports against the layers:\n" + "\n".join(broken)


def test_no_known_violation_is_stale() -> None:
    seen = {(imp.module, imp.name) for imp in imports() if not _allowed(imp)}
    stale = sorted(set(KNOWN_VIOLATIONS) - seen)
    assert not stale, f"fixed: remove these from KNOWN_VIOLATIONS: {stale}"


def test_frameworks_stay_on_their_floors() -> None:
    broken = [
        f"{path.relative_to(SRC.parent)}:{line}: {module} imports {top}"
        for module, path, line, top in third_party_imports()
        if top not in MAY_USE.get(_package(module), frozenset())
    ]
    assert not broken, "frameworks outside their floors:\n" + "\n".join(broken)


def test_no_import_cycle_between_modules() -> None:
    """Counting deferred imports too (they hide a cycle, they do not remove it), but not
    ``TYPE_CHECKING`` back-references, which never run."""
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in imports(type_checking=False):
        if imp.name != imp.module and (imp.module, imp.name) not in KNOWN_VIOLATIONS:
            graph[imp.module].add(imp.name)
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for nxt in sorted(graph[module]):
            assert nxt not in path, f"import cycle: {' → '.join([*path[path.index(nxt) :], nxt])}"
            if nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(module)

    for module in sorted(MODULES):
        if module not in done:
            visit(module, [module])


def test_importing_the_lake_pulls_in_no_web_or_database_framework() -> None:
    """At run time too, in a fresh interpreter: what the lake imports, transitively."""
    code = (
        "import sys, headwater.lake, headwater.lake.query;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'pydantic_settings') "
        "or m in ('headwater.settings', 'headwater.api', 'headwater.store', 'headwater.services'));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
