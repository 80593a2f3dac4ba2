"""Inside the command line, import arrows point down only, lazy imports included.

``headwater.cli`` (the root) composes ``admin``, ``processes``, ``quickstart`` and ``remote``;
``remote`` never reaches back up to them, ``errors`` is a leaf, and only ``__main__`` imports the
root. Every ``import`` statement counts, also those inside functions and ``TYPE_CHECKING``
blocks, so a deferred import cannot hide an arrow. (What the package as a whole may import, and
that no two modules import each other, is ``tests/test_layers.py``'s.)
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import headwater

SRC = Path(headwater.__file__).parent
CLI = SRC / "cli"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as dotted names; ``from a import b``
    counts as ``a.b`` when ``a/b`` is a module or package, else as ``a``."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = SRC.parent.joinpath(*f"{base}.{alias.name}".split("."))
                is_module = candidate.with_suffix(".py").exists() or candidate.is_dir()
                found.add(f"{base}.{alias.name}" if is_module else base)
    return {name for name in found if name == "headwater" or name.startswith("headwater.")}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in sorted(SRC.rglob("*.py"))}


def test_remote_never_imports_the_cli_root_or_its_siblings() -> None:
    allowed = ("headwater.cli.remote", "headwater.cli.errors")
    wrong = {
        module: sorted(
            name
            for name in targets
            if (name == "headwater.cli" or name.startswith("headwater.cli."))
            and not name.startswith(allowed)
        )
        for module, targets in graph().items()
        if module.startswith("headwater.cli.remote")
    }
    assert {m: names for m, names in wrong.items() if names} == {}
    # ``from headwater import cli`` names the root too.
    for module, targets in graph().items():
        if module.startswith("headwater.cli.remote"):
            assert "headwater.cli" not in targets, module


def test_the_error_renderer_is_a_leaf() -> None:
    targets = graph()["headwater.cli.errors"]
    assert sorted(t for t in targets if t.startswith("headwater.cli")) == []


def test_only_the_entry_point_imports_the_cli_root() -> None:
    importers = sorted(
        module
        for module, targets in graph().items()
        if "headwater.cli" in targets and module != "headwater.cli"
    )
    assert importers == ["headwater.__main__"]


def test_the_command_line_starts_without_the_service_layer_the_settings_or_the_emulator() -> None:
    code = (
        "import sys, headwater.cli;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'deltalake', 'pyarrow', 'duckdb', 'uvicorn', "
        "'pydantic', 'pydantic_settings') "
        "or m.startswith(('headwater.emulator.hubspot', 'headwater.services', "
        "'headwater.store', 'headwater.engine', 'headwater.api', 'headwater.lake', "
        "'headwater.settings')));"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_graph_sees_deferred_imports() -> None:
    """The checks above would be empty promises if function-level imports were missed."""
    targets = graph()["headwater.cli.processes"]
    assert "headwater.engine.worker" in targets  # imported inside ``worker()``
    assert "headwater.cli.local" in targets
