"""The import graph of ``src/vivant``, read with ``ast`` (nothing imported): no cycle between the engine and the
lane scheduler, and backends never reach the steps package (they report through :mod:`vivant.roles`).

Every ``import`` counts, at module level or inside a function, except those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, package: str, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (SRC / "vivant").rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text(encoding="utf-8")), package, modules)
    return graph


def reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "vivant.lanes" in graph["vivant.engine"] and "vivant.unit" in graph["vivant.lanes"]
    assert "vivant.roles" in graph["vivant.backends.whisper"]


def test_no_cycle_between_the_engine_and_the_lanes() -> None:
    graph = import_graph()
    for module in ("vivant.lanes", "vivant.unit"):
        assert "vivant.engine" not in reach(graph, module), f"{module} imports vivant.engine (a cycle)"
    for module in ("vivant.engine", "vivant.lanes", "vivant.unit"):
        assert module not in reach(graph, module), f"{module} is in an import cycle"


def test_backends_never_reach_the_steps() -> None:
    graph = import_graph()
    for module in sorted(m for m in graph if m.startswith("vivant.backends")):
        reached = {m for m in reach(graph, module) if m == "vivant.steps" or m.startswith("vivant.steps.")}
        assert not reached, f"{module} imports {sorted(reached)} (backends report through vivant.roles)"


def test_a_cycle_would_be_seen() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert "a" in reach(graph, "a") and "a" not in reach({"a": {"b"}, "b": set()}, "a")
