"""The package's layers, enforced: no import circle, and no module importing a layer above its own.

Every `import` counts, including the lazy ones inside functions and those under `TYPE_CHECKING`: a lazy import
that runs back up is still an arrow running back up. Layers, top to bottom (README, "How the parts fit"):
the CLI; load tests and smoke checks; the client; the deployment lifecycle; the Docker runtime; launch plans;
the GPUs (NVML readings, the capacity planner); configuration; engine facts; wire formats, errors and tokens. The emulator stands beside them and may use only
what a real server could know: the engine facts, the wire formats, the tokenizer. Inside it, the engine-neutral
core never imports a protocol front-end, and a front-end's route modules never import one another.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "orchestrator"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"cli"}),
    frozenset({"load", "smoke"}),
    frozenset({"client"}),
    frozenset({"deploy"}),
    frozenset({"runtime"}),
    frozenset({"launch"}),
    frozenset({"gpu"}),
    frozenset({"config"}),
    frozenset({"engines"}),
    frozenset({"formats", "errors", "tokens"}),
)
"""Top to bottom; a module may import its own layer's packages only within the same package."""

EMULATOR_MAY_USE = frozenset({"emulator", "engines", "formats", "tokens"})
EMULATOR_CORE = "orchestrator.emulator.core"
EMULATOR_FRONT_ENDS = frozenset({"orchestrator.emulator.tgi", "orchestrator.emulator.vllm"})
"""The protocol front-ends on the emulator core; each keeps its route handlers in `<front-end>.routes`."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The module `name` refers to (a submodule, else the longest existing parent), inside our package."""
    while name and name not in _modules():
        name = name.rpartition(".")[0]
    return name or None


@cache
def _imports(module: str) -> frozenset[str]:
    path = _modules()[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        for target in targets:
            if target == "orchestrator" or target.startswith("orchestrator."):
                resolved = _resolve(target)
                if resolved and resolved != module:
                    found.add(resolved)
    return frozenset(found)


def _top(module: str) -> str:
    """`orchestrator.deploy.status` -> `deploy`; `orchestrator` (the public face) -> ``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _layer(top: str) -> int:
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    raise AssertionError(f"orchestrator.{top} belongs to no layer: add it to LAYERS in {__file__}")


def test_every_package_has_a_layer() -> None:
    for module in _modules():
        top = _top(module)
        if top and top != "emulator":
            _layer(top)


def test_no_import_runs_up_a_layer() -> None:
    wrong: list[str] = []
    for module in sorted(_modules()):
        top = _top(module)
        if not top:
            continue  # the public face re-exports from every layer
        for target in sorted(_imports(module)):
            other = _top(target)
            if top == "emulator":
                if other not in EMULATOR_MAY_USE:
                    wrong.append(
                        f"{module} -> {target} (the emulator may use only {sorted(EMULATOR_MAY_USE)})"
                    )
            elif not other:
                wrong.append(f"{module} -> orchestrator (the public face is for users, not for the package)")
            elif other == "emulator":
                if top != "cli":
                    wrong.append(f"{module} -> {target} (only the CLI starts the emulator)")
            elif other != top and _layer(other) <= _layer(top):
                wrong.append(f"{module} -> {target} (layer {_layer(top)} importing layer {_layer(other)})")
    assert not wrong, "imports that run up or across layers:\n" + "\n".join(wrong)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_emulator_core_imports_no_front_end() -> None:
    wrong = [
        f"{module} -> {target}"
        for module in sorted(_modules())
        if _within(module, EMULATOR_CORE)
        for target in sorted(_imports(module))
        if _within(target, "orchestrator.emulator") and not _within(target, EMULATOR_CORE)
    ]
    assert not wrong, "the emulator core imports a front-end (it must stay engine-neutral):\n" + "\n".join(
        wrong
    )


def test_every_emulator_package_is_core_or_a_front_end() -> None:
    packages = {".".join(m.split(".")[:3]) for m in _modules() if m.count(".") >= 2 and _top(m) == "emulator"}
    stray = {p for p in packages if p != EMULATOR_CORE and p not in EMULATOR_FRONT_ENDS}
    stray = {p for p in stray if _modules()[p].name == "__init__.py"}
    assert not stray, f"emulator packages outside core and the known front-ends: {sorted(stray)}"


def test_emulator_front_ends_do_not_import_one_another() -> None:
    """What two engines' front-ends share lives in the core, never in one front-end used by the other."""
    wrong = [
        f"{module} -> {target}"
        for front_end in sorted(EMULATOR_FRONT_ENDS)
        for module in sorted(_modules())
        if _within(module, front_end)
        for target in sorted(_imports(module))
        if any(_within(target, other) for other in EMULATOR_FRONT_ENDS if other != front_end)
    ]
    assert not wrong, (
        "an emulator front-end imports another (move the shared piece into core):\n" + "\n".join(wrong)
    )


@pytest.mark.parametrize("front_end", sorted(EMULATOR_FRONT_ENDS))
def test_emulator_route_modules_do_not_import_one_another(front_end: str) -> None:
    routes = f"{front_end}.routes"
    assert routes in _modules(), f"{routes} is missing"
    wrong = [
        f"{module} -> {target}"
        for module in sorted(_modules())
        if _within(module, routes) and module != routes
        for target in sorted(_imports(module))
        if _within(target, routes)
    ]
    assert not wrong, "route modules import one another (move the shared helper beside them):\n" + "\n".join(
        wrong
    )


def _cycle_from(start: str) -> list[str] | None:
    """A shortest import circle through `start`, or None (breadth-first over the import graph)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for target in sorted(_imports(current)):
            if target == start:
                return [*paths[current], start]
            if target not in paths and not _is_package_face(target):
                paths[target] = [*paths[current], target]
                queue.append(target)
    return None


def _is_package_face(module: str) -> bool:
    """A package `__init__` that only re-exports: importing a package runs it, so it is not a real arrow back."""
    return _modules()[module].name == "__init__.py"


@pytest.mark.parametrize("module", sorted(m for m in _modules() if not _is_package_face(m)))
def test_no_import_circle(module: str) -> None:
    cycle = _cycle_from(module)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])
