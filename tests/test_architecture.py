"""The package's layering: no import cycles between its modules, and each layer imports
only the layers below it (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import dist_video

PACKAGE = Path(dist_video.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module of the package -> the package modules it imports (anywhere in its
    body, lazy imports included)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:  # "from . import x" may name a module
                    if f"{target}.{alias.name}" in modules:
                        targets.add(f"{target}.{alias.name}")
                if target in modules:
                    targets.add(target)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in modules)
        graph[name] = targets - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_is_read():
    graph = _imports()
    assert "dist_video.engine.loaders" in graph["dist_video.engine.train"]
    assert "dist_video.errors" in graph["dist_video"]
    assert "dist_video.engine.evaluate" in graph["dist_video.cli.evaluate"]  # lazy imports count


def test_no_import_cycle_between_modules():
    cycle = _cycle(_imports())
    assert cycle is None, " -> ".join(cycle)


def test_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# Each layer imports only the layers listed for it (the package's own modules aside).
BASE = {"dist_video", "constants", "config", "io", "errors"}
ALLOWED = {
    "base": set(),
    "models": {"base"},
    "synthetic": {"base"},
    "data": {"base", "synthetic"},  # data.format: synthetic renders training clips on the fly
    "engine": {"base", "models", "data", "synthetic"},
    "tools": {"base", "models", "data", "synthetic", "engine"},
    "demo": {"base", "models", "data", "synthetic", "engine"},
    "cli": {"base", "models", "data", "synthetic", "engine", "tools", "demo"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return "base" if len(parts) == 1 or parts[1] in BASE else parts[1]


def test_layers_import_only_the_layers_below():
    wrong = [
        f"{module} imports {target}"
        for module, targets in _imports().items()
        for target in targets
        if _layer(target) != _layer(module) and _layer(target) not in ALLOWED[_layer(module)]
    ]
    assert not wrong, wrong
    assert set(ALLOWED) >= {_layer(m) for m in _imports()}  # every layer is listed
