"""The import graph of gradscape has no cycle: lower layers never import higher ones.

The graph is read from the source with ``ast``: every ``import`` and ``from … import``, at module
level and inside functions alike (an import deferred into a function still ties the two modules
together). Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "gradscape"

#: The modules whose imports must form no cycle: the core layer, bottom first (each may import
#: only those above it in this list).
CORE = (
    "gradscape.errors",
    "gradscape._x64",
    "gradscape.expr.language",
    "gradscape.expr.expression",
    "gradscape.expr.parser",
    "gradscape.expr",
    "gradscape.objectives",
    "gradscape.kinks",
    "gradscape.functions",
    "gradscape.sources",
    "gradscape.calculus",
)


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree``, skipping ``if TYPE_CHECKING:`` bodies."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names of the modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        here = module.split(".") if is_package else module.split(".")[:-1]
        here = here[: len(here) - (node.level - 1)]
        base = ".".join([*here, *([node.module] if node.module else [])])
    # `from pkg import sub` loads the module pkg.sub when there is one
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` between gradscape's own modules. Importing ``a.b.c``
    first runs the packages ``a.b`` above it, so those count too (unless the importer is inside
    them already)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        for node in _imports(tree):
            for target in _targets(module, is_package, node):
                parts = target.split(".")
                for k in range(2, len(parts) + 1):
                    name = ".".join(parts[:k])
                    inside = module == name or module.startswith(name + ".")
                    if name in modules and not inside:
                        graph[module].add(name)
    return graph


def find_cycle(graph: dict[str, set[str]], among: set[str]) -> list[str] | None:
    """One cycle of ``graph`` restricted to ``among`` (``[a, b, …, a]``), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ()) & among):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t]
            if t not in state and (cycle := visit(t)) is not None:
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(among):
        if m not in state and (cycle := visit(m)) is not None:
            return cycle
    return None


def test_the_graph_reads_imports_inside_functions_and_skips_type_checking() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .b import B\n"
        "def f():\n    from .c import g\n    from ..d.e import h\n"
    )
    found = [t for n in _imports(tree) for t in _targets("p.q.a", False, n)]
    assert found == ["typing", "typing.TYPE_CHECKING", "p.q.c", "p.q.c.g", "p.d.e", "p.d.e.h"]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph, {"a", "b", "c", "d"}) == ["a", "b", "c", "a"]
    assert find_cycle(graph, {"a", "b", "d"}) is None


def test_core_modules_exist() -> None:
    missing = sorted(set(CORE) - set(_modules()))
    assert not missing, f"CORE names modules that are not there: {missing}"


def test_no_import_cycle_in_the_core_layer() -> None:
    cycle = find_cycle(import_graph(), set(CORE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", CORE)
def test_the_core_layer_imports_only_downwards(module: str) -> None:
    upward = import_graph()[module] & set(CORE[CORE.index(module) + 1 :])
    assert not upward, f"{module} imports {sorted(upward)}, which sit above it in CORE"


@pytest.mark.parametrize("module", ["gradscape.errors", "gradscape._x64"])
def test_the_bottom_layer_imports_no_gradscape_module(module: str) -> None:
    assert import_graph()[module] == set(), import_graph()[module]
