"""Shared pytest set-up: fixtures live in `tests/fixtures/`, one module per outside system."""

pytest_plugins = ["tests.fixtures.docker_engine", "tests.fixtures.emulator", "tests.fixtures.hub"]
