"""Facts the engines package states without loading an engine agree with the engines themselves."""

from __future__ import annotations

import pytest

from orchestrator.engines import IMAGE_REPOSITORIES, KINDS, engine_for


@pytest.mark.parametrize("kind", KINDS)
def test_each_engines_default_image_is_a_tag_of_its_repository(kind: str) -> None:
    image = engine_for(kind).default_image
    assert image.rsplit(":", 1)[0] == IMAGE_REPOSITORIES[kind]
