"""Test helpers: plain HTTP over http.client, SSE parsing, and TGI OpenAPI 3.3.7 schema validation."""

from __future__ import annotations

import http.client
import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]

_REPO = Path(__file__).resolve().parents[2]
REFERENCE_SPEC = Path(
    os.environ.get("TGI_OPENAPI_SPEC", _REPO.parent / "shared" / "reference" / "tgi-openapi-3.3.7.json")
)
"""TGI's own spec beside the checkout, where there is one (developer machines); optional, a plain clone has none."""
SHIPPED_SPEC = _REPO / "orchestrator" / "emulator" / "tgi" / "openapi.json"
"""The copy the emulator serves at /api-doc/openapi.json: the source for schema checks (test_spec_copy pins it)."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()

    def events(self) -> list[str]:
        """SSE `data:` payloads in order (TGI 3.x framing: `data: <payload>\\n\\n`)."""
        return [block[len("data: ") :] for block in self.text.split("\n\n") if block.startswith("data: ")]


def request(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    timeout: float = 30,
) -> Reply:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        sent_headers = {"content-type": "application/json"} if (body is not None or raw is not None) else {}
        sent_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        connection.request(method, path, body=payload, headers=sent_headers)
        response = connection.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def post(url: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
    return request(url, "POST", path, body, **kwargs)


def get(url: str, path: str, **kwargs: Any) -> Reply:
    return request(url, "GET", path, **kwargs)


def wait_healthy(url: str, container: Any, timeout: float = 60) -> None:
    """Poll `/health` until it answers 200; fail with the container's log if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url, "/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(container.logs().decode(errors="replace"))


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    return dict(json.loads(SHIPPED_SPEC.read_text()))


def _convert(node: Any, depth: int = 0) -> Any:
    """OpenAPI 3.0 -> JSON Schema: inline `$ref`s, turn `nullable: true` into `anyOf [..., null]`."""
    if depth > 40:
        return {}
    if isinstance(node, list):
        return [_convert(item, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _convert(spec()["components"]["schemas"][name], depth + 1)
    out = {
        k: _convert(v, depth + 1)
        for k, v in node.items()
        if k not in ("nullable", "discriminator", "example")
    }
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def schema(name: str) -> dict[str, Any]:
    return dict(_convert({"$ref": f"#/components/schemas/{name}"}))


def validate(instance: Any, name: str) -> None:
    """Raise jsonschema.ValidationError unless `instance` matches the named TGI component schema."""
    jsonschema.validate(instance, schema(name))


def validate_response(instance: Any, path: str, status: int = 200, method: str = "post") -> None:
    """Validate against the schema the spec declares for `path`/`status` (application/json or SSE event)."""
    content = spec()["paths"][path][method]["responses"][str(status)]["content"]
    media = content.get("application/json") or content.get("text/event-stream")
    jsonschema.validate(instance, _convert(media["schema"]))
