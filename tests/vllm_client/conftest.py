"""Fixtures of this package: the vLLM emulator as a real process (see `vllm_emulator.py`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from tests.vllm_client.vllm_emulator import VllmEmulator


@pytest.fixture
def vllm_factory() -> Iterator[Callable[..., VllmEmulator]]:
    """Start vLLM emulators with `vllm serve` / emulator flags; every one is stopped at teardown."""
    started: list[VllmEmulator] = []

    def factory(*args: str, env: Mapping[str, str] | None = None) -> VllmEmulator:
        process = VllmEmulator(args, env=env, ready_timeout=60)
        started.append(process)
        return process.__enter__()

    try:
        yield factory
    finally:
        for process in started:
            process.__exit__(None, None, None)


@pytest.fixture(scope="module")
def vllm() -> Iterator[VllmEmulator]:
    """One default vLLM emulator (`instant` profile) shared by a test module."""
    with VllmEmulator((), ready_timeout=60) as process:
        yield process
