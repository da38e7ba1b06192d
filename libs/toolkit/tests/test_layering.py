"""The two libraries stay layered: no import cycle inside either (counting every import, in a
function or for type checking too), and the runtime never needs the toolkit to load (module-level
imports: a function may import the toolkit on demand)."""

from __future__ import annotations

import ast
from pathlib import Path

LIBS = Path(__file__).resolve().parents[2]


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph(package: str, *, anywhere: bool = True) -> dict[str, set[str]]:
    """Module -> the modules of the two libraries it imports (``anywhere=False``: as it loads)."""
    src = LIBS / package / "src"
    edges: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        name = module_name(path, src)
        targets = edges.setdefault(name, set())
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree) if anywhere else tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
    return {m: {t for t in ts if t.split(".")[0] in ("common", "toolkit")} for m, ts in edges.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in edges or target == node:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_in_either_library() -> None:
    for package in ("common", "toolkit"):
        edges = graph(package)
        assert len(edges) > 10
        assert cycle(edges) is None, f"import cycle: {' -> '.join(cycle(edges) or [])}"


def test_the_cycle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_runtime_loads_without_the_toolkit() -> None:
    imports = {t for targets in graph("common", anywhere=False).values() for t in targets}
    assert not [t for t in imports if t.startswith("toolkit")]
