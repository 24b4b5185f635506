"""The import graph of ``bnbounds/``: no circle, imports run downward (docs/design.md).

The graph is read from the source with :mod:`ast`, not by importing: every ``import``
and ``from ... import`` statement of every module, at module level or inside a
function, with relative imports resolved. ``from . import x`` counts as an import of
the submodule ``x`` when ``x`` is one, and of the package itself otherwise. An edge to
a package means its ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bnbounds

ROOT = Path(bnbounds.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(base: str, level: int, module: str | None) -> str:
    parts = base.split(".")
    if level:
        parts = parts[: len(parts) - level + (1 if _is_package(base) else 0)]
    if module:
        parts += module.split(".")
    return ".".join(parts)


def imports_of(name: str) -> set[str]:
    """Modules of bnbounds that module ``name`` imports anywhere in its source."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, node.level, node.module)
            for a in node.names:
                sub = f"{target}.{a.name}"
                # ``from pkg import submodule`` imports the submodule; a name
                # (``from pkg import Dataset``) comes from the package itself
                found.add(sub if sub in MODULES else target)
    out = set()
    for t in found:
        while t and t not in MODULES:
            t = t.rpartition(".")[0]
        if t.startswith("bnbounds") and t != name:
            out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    """``module -> modules it imports`` over the whole package (package -> __init__)."""
    return {name: imports_of(name) for name in MODULES}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_relative_and_function_level_imports():
    g = graph()
    # module-level relative import
    assert "bnbounds._validation" in g["bnbounds.network"]
    # function-level import (datasets is imported inside a function of margin.dyadic)
    assert "bnbounds.datasets" in g["bnbounds.margin.dyadic"]
    # ``from . import symbols as S`` inside the constants package
    assert "bnbounds.constants.symbols" in g["bnbounds.constants.lemmas"]


def test_checks_appendix_modules_do_not_import_the_catalog():
    g = graph()
    for mod in ("b_normalization", "c_concentration", "d_alignment", "e_sgd", "f_gd"):
        deps = g[f"bnbounds.checks.{mod}"]
        assert "bnbounds.checks.catalog" not in deps
        assert "bnbounds.checks.registry" not in deps
    assert "bnbounds.checks.witnesses" not in g["bnbounds.checks.runner"]


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_package():
    assert cycles(graph()) == []


@pytest.mark.parametrize("room", ["bnbounds.constants", "bnbounds.checks"])
def test_no_import_circle_in(room):
    g = graph()
    sub = {
        v: {w for w in ws if w.startswith(room)}
        for v, ws in g.items()
        if v.startswith(room)
    }
    assert cycles(sub) == []


#: Floors of the house (docs/design.md): an import may only go to a lower floor or stay
#: inside its own room. ``""`` is the facade ``bnbounds/__init__.py``.
FLOORS = {
    "_config": 0,
    "_validation": 0,
    "_json": 0,
    "_signals": 0,
    "_io": 1,  # its errors derive from _validation's BNBoundsError
    "_progress": 1,
    "_printing": 1,  # imports _json (mpf_scientific) for numbers past the float range
    "_version": 0,
    "_kernels": 1,
    "data": 2,
    "datasets": 3,
    "network": 3,
    "trajectory": 4,
    "train": 5,
    "constants": 5,
    "margin": 6,  # evaluates Proposition 1.1's closed form from constants
    "": 6,
    "checks": 7,
    "experiments": 7,
    "sweep": 8,
    "audit": 8,
    "strategies": 9,
    "suite": 9,
    "commands": 10,
    "cli": 10,
    "__main__": 11,
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_imports_run_downward():
    upward = [
        f"{v} -> {w}"
        for v, ws in graph().items()
        for w in ws
        if _room(v) != _room(w)
        and _room(v) in FLOORS  # a room not drawn yet is checked once it is
        and _room(w) in FLOORS
        and FLOORS[_room(v)] <= FLOORS[_room(w)]
    ]
    assert upward == []


def test_the_design_page_names_every_room():
    page = (ROOT.parent / "docs" / "design.md").read_text(encoding="utf-8")
    rooms = ({_room(m) for m in MODULES} & set(FLOORS)) - {"", "__main__", "_version"}
    names = sorted(
        {r + ("/" if _is_package(f"bnbounds.{r}") else ".py") for r in rooms}
        | {
            m.rpartition(".")[2] + ".py"
            for m in MODULES
            if m.startswith("bnbounds.checks.") or m.startswith("bnbounds.constants.")
        }
    )
    assert [n for n in names if n not in page] == []
