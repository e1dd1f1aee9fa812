"""The package's public surface: every name in `__all__` resolves, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import orchestrator


def test_every_exported_name_resolves() -> None:
    for name in orchestrator.__all__:
        assert getattr(orchestrator, name) is not None, name


def test_all_has_no_duplicates() -> None:
    assert len(orchestrator.__all__) == len(set(orchestrator.__all__))


def test_unknown_name_raises_attribute_error() -> None:
    try:
        orchestrator.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, orchestrator, orchestrator.cli; "
        "heavy = [m for m in ('docker', 'httpx2', 'huggingface_hub', 'locust', 'uvicorn', 'sentencepiece', "
        "'pydantic_settings', 'tenacity') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"heavy modules imported eagerly: {out}"


def test_client_names_are_the_client_modules_own() -> None:
    import orchestrator.client as client

    assert orchestrator.TGIClient is client.TGIClient
    assert issubclass(orchestrator.TGIError, orchestrator.OrchestratorError)


def test_all_lists_exactly_the_eager_and_lazy_names() -> None:
    from orchestrator import _EAGER, _LAZY

    assert set(orchestrator.__all__) == set(_EAGER) | set(_LAZY)
    for name in _EAGER:
        assert getattr(orchestrator, name).__module__ == "orchestrator.errors"


def test_type_checking_imports_mirror_the_lazy_names() -> None:
    """The `TYPE_CHECKING` block (for type checkers) must import exactly `_LAZY_FROM`, each as itself."""
    import ast
    from pathlib import Path

    from orchestrator import _LAZY_FROM

    tree = ast.parse(Path(orchestrator.__file__).read_text(encoding="utf-8"))
    block = next(
        node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported: dict[str, set[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            assert alias.asname == alias.name, f"import {alias.name} as itself (an explicit re-export)"
            imported.setdefault(node.module, set()).add(alias.name)
    assert imported == {module: set(names) for module, names in _LAZY_FROM.items()}
