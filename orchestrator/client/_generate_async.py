"""Writes the asyncio client from the blocking one, so each method body exists once (huggingface_hub's approach).

`async_client.py` comes from `sync_client.py`, `async_streams.py` from `streams.py` and `async_retry_loop.py` from
`retry_loop.py`, by explicit rules: which
functions become coroutines, which calls are awaited, which names, loops and phrases change. The rules are read
off the source's syntax tree and applied as text edits, so comments and layout survive; ruff then sorts imports
and formats. Every rule must apply at least once: a rule the source no longer matches stops the generator
instead of silently writing a different client.

    python -m orchestrator.client._generate_async          # rewrite the generated files
    python -m orchestrator.client._generate_async --check  # exit 1 if they differ from what the sources give
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SPECS", "GenerationError", "Spec", "generate", "main"]

PACKAGE_DIR = Path(__file__).resolve().parent
COMMAND = "python -m orchestrator.client._generate_async"
MARKER = "# GENERATED FILE, DO NOT EDIT."


class GenerationError(RuntimeError):
    """A rule no longer fits the source, or ruff could not process the result."""


@dataclass(frozen=True)
class Spec:
    """How one blocking module becomes its asyncio twin."""

    source: str  # file name in orchestrator/client
    target: str
    summary: str  # the generated module's docstring, first paragraph
    async_defs: frozenset[str]  # functions (methods, nested) that become coroutines
    def_renames: Mapping[str, str]  # their new names (the async protocol's dunders, `aclose`)
    awaited: frozenset[str]  # dotted callees whose calls are awaited (never inside a lambda)
    call_renames: Mapping[str, str]  # dotted callee -> its new last name
    async_iterables: frozenset[str] = (
        frozenset()
    )  # `for` loops over these (or their calls) become `async for`
    dropped: frozenset[str] = frozenset()  # members with no asyncio meaning
    names: Mapping[str, str] = field(default_factory=dict)  # whole-word renames, code and prose
    phrases: Mapping[str, str] = field(default_factory=dict)  # exact text replacements (docstrings, imports)


LIFECYCLE = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}

SPECS = (
    Spec(
        source="sync_client.py",
        target="async_client.py",
        summary="`AsyncTGIClient`: the asyncio twin of `TGIClient`, with the same methods, parameters and rules.",
        async_defs=frozenset(
            {
                *LIFECYCLE,
                "_request",
                "_open",
                "generate",
                "stream",
                "chat",
                "attempt",
                "chat_stream",
                "health",
                "info",
                "_on_engine",
                "_probe",
                "run_on",
                "detect_engine",
            }
        ),
        def_renames=LIFECYCLE,
        awaited=frozenset(
            {
                "run_sync",
                "run_on",
                "self._request",
                "self.detect_engine",
                "self._on_engine",
                "self.close",
                "self._http.close",
                "self._http.request",
                "self._http.send",
                "self._http.get",
                "hf.close",
                "response.read",
                "response.close",
                "next",
                "call.send",
            }
        ),
        call_renames={
            "self.close": "aclose",
            "self._http.close": "aclose",
            "response.read": "aread",
            "response.close": "aclose",
            "response.iter_bytes": "aiter_bytes",
            "next": "anext",
        },
        names={
            "TGIClient": "AsyncTGIClient",
            "InferenceClient": "AsyncInferenceClient",
            "TokenStream": "AsyncTokenStream",
            "ChatStream": "AsyncChatStream",
            "Iterator": "AsyncIterator",
            "run_sync": "run_async",
            "httpx2.Client": "httpx2.AsyncClient",
            "httpx2.BaseTransport": "httpx2.AsyncBaseTransport",
        },
        phrases={
            "Blocking client": "Asyncio client",
            ">>> with ": ">>> async with ",
            "...     client.generate(": "...     await client.generate(",
            "from collections.abc import Callable,": "from collections.abc import Awaitable, Callable,",
            "run_on: Callable[[Wire], T]": "run_on: Callable[[Wire], Awaitable[T]]",
            "orchestrator.client.streams import": "orchestrator.client.async_streams import",
            "orchestrator.client.retry_loop import": "orchestrator.client.async_retry_loop import",
        },
    ),
    Spec(
        source="retry_loop.py",
        target="async_retry_loop.py",
        summary="`run_async`: the asyncio client's one retry loop, on tenacity's `AsyncRetrying`.",
        async_defs=frozenset({"run_sync", "again"}),
        def_renames={},
        awaited=frozenset({"attempt", "again"}),
        call_renames={},
        async_iterables=frozenset({"build_retrying"}),
        names={"run_sync": "run_async"},
        phrases={
            "import Callable": "import Awaitable, Callable",
            "attempt: Callable[[CallContext], T]": "attempt: Callable[[CallContext], Awaitable[T]]",
            "build_retrying(ctx, budget, pool)": "build_retrying(ctx, budget, pool, asynchronous=True)",
            "tenacity's `Retrying`": "tenacity's `AsyncRetrying`",
        },
    ),
    Spec(
        source="streams.py",
        target="async_streams.py",
        summary="`AsyncTokenStream` / `AsyncChatStream`: the open streams `AsyncTGIClient` hands to callers.",
        async_defs=frozenset({*LIFECYCLE, "__iter__", "_fail", "_finish"}),
        def_renames={**LIFECYCLE, "__iter__": "__aiter__"},
        awaited=frozenset({"self.close", "self._fail", "self._finish", "self._response.close"}),
        call_renames={"self.close": "aclose", "self._response.close": "aclose"},
        async_iterables=frozenset({"self._chunks"}),
        dropped=frozenset({"__del__"}),  # a finalizer cannot await: callers close async streams
        names={
            "TokenStream": "AsyncTokenStream",
            "ChatStream": "AsyncChatStream",
            "_Stream": "_AsyncStream",
            "Iterator": "AsyncIterator",
        },
        phrases={
            "iterate it for events. Closing it (or leaving a `with` block)": (
                "`async for` it. `aclose()` (or leaving `async with`)"
            ),
        },
    ),
)


def _dotted(node: ast.expr) -> str | None:
    """`self._http.send` for that attribute chain; None for anything that is not names and attributes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


class _Rewriter:
    """Collects text edits (start, end, replacement) from the source's syntax tree, then applies them."""

    def __init__(self, spec: Spec, text: str) -> None:
        self.spec = spec
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.edits: list[tuple[int, int, str]] = []
        self.used: set[str] = set()

    def at(self, lineno: int, col: int) -> int:
        """Text offset of an AST position (its column counts UTF-8 bytes)."""
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode())

    def start(self, node: ast.stmt | ast.expr) -> int:
        return self.at(node.lineno, node.col_offset)

    def end(self, node: ast.stmt | ast.expr) -> int:
        assert node.end_lineno is not None and node.end_col_offset is not None
        return self.at(node.end_lineno, node.end_col_offset)

    def edit(self, start: int, end: int, replacement: str, rule: str) -> None:
        self.edits.append((start, end, replacement))
        self.used.add(rule)

    def visit(self, node: ast.AST, parent: ast.AST | None, in_lambda: bool) -> None:
        if isinstance(node, ast.FunctionDef):
            if node.name in self.spec.dropped:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                self.edit(self.starts[first - 1], self.starts[node.end_lineno], "", f"dropped:{node.name}")
                return
            if node.name in self.spec.async_defs:
                self._make_async(node)
        elif isinstance(node, ast.Call):
            self._call(node, parent, in_lambda)
        elif isinstance(node, ast.For):
            iterable = _dotted(node.iter.func if isinstance(node.iter, ast.Call) else node.iter)
            if iterable in self.spec.async_iterables:
                self.edit(self.start(node), self.start(node), "async ", f"async_iterables:{iterable}")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.YieldFrom):
            # An async generator cannot `yield from`: loop and yield each item instead.
            value, indent = node.value.value, " " * node.col_offset
            self.edit(self.start(node), self.start(value), "for event in ", "yield_from")
            self.edit(self.end(value), self.end(value), f":\n{indent}    yield event", "yield_from")
        for child in ast.iter_child_nodes(node):
            self.visit(child, node, in_lambda or isinstance(node, ast.Lambda))

    def _make_async(self, node: ast.FunctionDef) -> None:
        at = self.start(node)
        self.edit(at, at, "async ", f"async_defs:{node.name}")
        new_name = self.spec.def_renames.get(node.name)
        if new_name is not None:
            name_at = self.text.index(node.name, at)
            self.edit(name_at, name_at + len(node.name), new_name, f"def_renames:{node.name}")

    def _call(self, node: ast.Call, parent: ast.AST | None, in_lambda: bool) -> None:
        callee = _dotted(node.func)
        if callee is None:
            return
        new_last = self.spec.call_renames.get(callee)
        if new_last is not None:
            end = self.end(node.func)
            self.edit(end - len(callee.rsplit(".", 1)[-1]), end, new_last, f"call_renames:{callee}")
        if callee in self.spec.awaited and not in_lambda:
            wrapped = isinstance(parent, ast.Attribute | ast.Subscript) or (
                isinstance(parent, ast.Call) and parent.func is node
            )
            at = self.start(node)
            self.edit(at, at, "(await " if wrapped else "await ", f"awaited:{callee}")
            if wrapped:
                self.edit(self.end(node), self.end(node), ")", f"awaited:{callee}")

    def apply(self) -> str:
        out, cursor = [], 0
        for start, end, replacement in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if start < cursor:
                raise GenerationError(f"{self.spec.source}: two rules edit the same text at offset {start}")
            out += [self.text[cursor:start], replacement]
            cursor = end
        out.append(self.text[cursor:])
        return "".join(out)


def _module_docstring(spec: Spec, tree: ast.Module) -> ast.Expr:
    first = tree.body[0] if tree.body else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)):
        raise GenerationError(f"{spec.source} has no module docstring for the generator to replace")
    return first


_HEADER_SLOT = "\0module docstring\0"


def _header(spec: Spec) -> str:
    return (
        f'{MARKER} Written from {spec.source} by `{COMMAND}`.\n"""{spec.summary}\n\n'
        f"Generated from the blocking `{spec.source}`, where this code is written once: edit that file, then run\n"
        f"`{COMMAND}`. tests/client/test_generated_async.py fails on any drift.\n"
        '"""'
    )


def _rewrite(spec: Spec, text: str) -> str:
    """The rule-based rewrite of one source text (unformatted)."""
    tree = ast.parse(text, filename=spec.source)
    rewriter = _Rewriter(spec, text)
    docstring = _module_docstring(spec, tree)
    rewriter.edit(rewriter.start(docstring), rewriter.end(docstring), _HEADER_SLOT, "header")
    rewriter.visit(tree, None, False)
    out = rewriter.apply()
    used = set(rewriter.used)
    for old, new in spec.phrases.items():
        if old in out:
            out = out.replace(old, new)
            used.add(f"phrases:{old}")
    for old, new in spec.names.items():
        out, count = re.subn(rf"\b{re.escape(old)}\b", new, out)
        if count:
            used.add(f"names:{old}")
    _check_all_used(spec, used)
    return out.replace(_HEADER_SLOT, _header(spec))  # after the renames, which must not touch it


def _check_all_used(spec: Spec, used: set[str]) -> None:
    tables: dict[str, Sequence[str]] = {
        "async_defs": sorted(spec.async_defs),
        "def_renames": sorted(spec.def_renames),
        "awaited": sorted(spec.awaited),
        "call_renames": sorted(spec.call_renames),
        "async_iterables": sorted(spec.async_iterables),
        "dropped": sorted(spec.dropped),
        "names": list(spec.names),
        "phrases": list(spec.phrases),
    }
    stale = [
        f"{table}:{key}" for table, keys in tables.items() for key in keys if f"{table}:{key}" not in used
    ]
    if stale:
        raise GenerationError(
            f"{spec.source}: rules that match nothing in the source: {', '.join(stale)}. The source changed; "
            f"update or remove those rules in the Spec for {spec.target} in {Path(__file__).name}"
        )


def _ruff(args: Sequence[str], text: str, target: Path) -> str:
    command = [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(target), "-"]
    done = subprocess.run(command, input=text, capture_output=True, text=True, cwd=PACKAGE_DIR, check=False)
    if done.returncode != 0:
        raise GenerationError(
            f"`ruff {' '.join(args)}` failed on the generated {target.name}:\n{done.stderr}"
        )
    return done.stdout


def generate(spec: Spec, source_text: str | None = None) -> str:
    """The generated module's text for `spec`, from `source_text` (default: the source file as it is now)."""
    if source_text is None:
        source_text = (PACKAGE_DIR / spec.source).read_text()
    target = PACKAGE_DIR / spec.target
    text = _rewrite(spec, source_text)
    text = _ruff(["check", "--fix", "--quiet", "--select", "I"], text, target)
    return _ruff(["format", "--quiet"], text, target)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for spec in SPECS:
        path = PACKAGE_DIR / spec.target
        text = generate(spec)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(spec.target)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run `{COMMAND}`", file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote orchestrator/client/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
