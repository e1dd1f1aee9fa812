"""The `async_*.py` client modules are exactly what the generator writes from their blocking sources.

The generator is `orchestrator/client/_generate_async.py`; these tests regenerate in memory and fail on any drift
(a hand edit of a generated file, or a source edited without regenerating), and check that its rules fail loudly
when the source no longer fits them.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.client import _generate_async as gen

ROOT = Path(__file__).resolve().parents[2]
SPECS = {spec.target: spec for spec in gen.SPECS}


@pytest.mark.parametrize("target", sorted(SPECS))
def test_generated_file_is_what_its_source_gives(target: str) -> None:
    spec = SPECS[target]
    on_disk = (gen.PACKAGE_DIR / target).read_text()
    assert on_disk.startswith(gen.MARKER), f"{target} lost its generated-file header"
    assert on_disk == gen.generate(spec), (
        f"orchestrator/client/{target} differs from what {spec.source} gives: edit {spec.source}, "
        f"then run `{gen.COMMAND}`"
    )


def test_async_client_has_no_blocking_call_left() -> None:
    """Every I/O method of the generated client is a coroutine, and it names no blocking twin."""
    text = (gen.PACKAGE_DIR / "async_client.py").read_text()
    tree = ast.parse(text)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AsyncTGIClient")
    coroutines = {n.name for n in cls.body if isinstance(n, ast.AsyncFunctionDef)}
    assert {"aclose", "__aenter__", "__aexit__", "generate", "stream", "chat", "chat_stream", "health",
            "info"} <= coroutines  # fmt: skip
    for blocking in ("run_sync", "httpx2.Client(", ".iter_bytes(", "TokenStream(", "= next("):
        assert blocking not in text.replace("AsyncTokenStream(", ""), blocking


def test_a_rule_the_source_no_longer_matches_stops_the_generator() -> None:
    spec = SPECS["async_client.py"]
    source = (gen.PACKAGE_DIR / spec.source).read_text()
    changed = source.replace("response.iter_bytes()", "response.iter_raw()")
    assert changed != source
    with pytest.raises(gen.GenerationError, match=r"call_renames:response\.iter_bytes") as info:
        gen.generate(spec, changed)
    assert "_generate_async.py" in str(info.value)


def test_rewrite_rules_on_a_small_source() -> None:
    """The rules' mechanics: coroutines, awaits (with parentheses where precedence needs them, none inside a
    lambda), renamed calls and dunders, `async for`, `yield from` unrolled, dropped members, names and phrases."""
    spec = gen.Spec(
        source="small.py",
        target="async_small.py",
        summary="Small.",
        async_defs=frozenset({"fetch", "__iter__", "close"}),
        def_renames={"__iter__": "__aiter__", "close": "aclose"},
        awaited=frozenset({"self.get", "self.close"}),
        call_renames={"self.close": "aclose"},
        async_iterables=frozenset({"self.chunks"}),
        dropped=frozenset({"__del__"}),
        names={"Reader": "AsyncReader"},
        phrases={"Blocking": "Asyncio"},
    )
    source = '''"""Doc."""


class Reader:
    """Blocking reader."""

    def fetch(self) -> int:
        later = lambda: self.get()  # noqa: E731
        return self.get().size + len(later())

    def __iter__(self):
        for chunk in self.chunks:
            yield from chunk.split()
        self.close()

    def close(self) -> None:
        pass

    def __del__(self) -> None:
        self.close()
'''
    out = gen.generate(spec, source)
    body = out
    assert "class AsyncReader:" in body and '"""Asyncio reader."""' in body
    assert "async def fetch(self) -> int:" in body
    assert "later = lambda: self.get()" in body
    assert "return (await self.get()).size + len(later())" in body
    assert "async def __aiter__(self):" in body and "async for chunk in self.chunks:" in body
    assert "for event in chunk.split():\n                yield event" in body
    assert "await self.aclose()" in body and "async def aclose(self) -> None:" in body
    assert "__del__" not in body


def test_check_command_fails_on_a_hand_edited_copy(tmp_path: Path) -> None:
    """`--check` exits 1 and names the file when a generated file was edited by hand (run on a copy of the
    package, as a script, so it works even when the package itself would not import)."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # the whole package: the formatter sorts imports of our own subpackages as first-party only if they exist
    shutil.copytree(
        gen.PACKAGE_DIR.parent, tmp_path / "orchestrator", ignore=shutil.ignore_patterns("__pycache__")
    )
    package = tmp_path / "orchestrator" / "client"
    script = [sys.executable, str(package / "_generate_async.py"), "--check"]
    clean = subprocess.run(script, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stderr
    edited = package / "async_streams.py"
    edited.write_text(edited.read_text().replace("await self._finish(None)", "pass"))
    drift = subprocess.run(script, capture_output=True, text=True, check=False)
    assert drift.returncode == 1 and "async_streams.py" in drift.stderr
    assert gen.COMMAND in drift.stderr
