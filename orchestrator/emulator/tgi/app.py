"""The raw ASGI application: routing, API key, body limit, JSON parsing, CORS and error bodies as TGI's router.

Rejections follow axum's order: unknown path 404 / wrong method 405 (empty bodies), then the API key (401, empty,
generation routes only), then the content type (415), the payload limit (413) and JSON syntax (400), all plain
text, then the handler's own errors as JSON `{error, error_type}`. A raw ASGI callable (no framework) keeps the
per-request overhead low enough for thousands of requests per second on one core.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from orchestrator.emulator.core.http import (
    Headers,
    Receive,
    Scope,
    Send,
    arrival_of,
    send_body,
    send_empty,
    send_json,
    send_plain,
)
from orchestrator.emulator.tgi.config import VERSION
from orchestrator.emulator.tgi.errors import ApiError, PlainError, unhealthy_error
from orchestrator.emulator.tgi.routes import completions, native, openai
from orchestrator.emulator.tgi.schema import CHAT, COMPAT, COMPLETION, GENERATE, SAGEMAKER, Type, parse
from orchestrator.emulator.tgi.service import Service

__all__ = ["EmulatorApp"]

Handler = Callable[[Service, Any, Send, float], Awaitable[None]]

_GENERATION: dict[str, Handler] = {
    "/generate": native.generate,
    "/generate_stream": native.generate_stream,
    "/v1/chat/completions": openai.chat_completions,
    "/v1/completions": completions.completions,
}
_BODIES: dict[str, Type] = {"/generate": GENERATE, "/generate_stream": GENERATE, "/v1/chat/completions": CHAT,
                             "/v1/completions": COMPLETION, "/": COMPAT, "/tokenize": GENERATE, "/chat_tokenize": CHAT,
                             "/invocations": SAGEMAKER}  # fmt: skip
_PROTECTED = {"/", "/generate", "/generate_stream", "/v1/chat/completions", "/v1/completions", "/vertex",
              "/invocations", "/tokenize"}  # fmt: skip
_POST_ONLY = {"/generate", "/generate_stream", "/v1/chat/completions", "/v1/completions", "/tokenize",
              "/chat_tokenize", "/invocations", "/vertex"}  # fmt: skip
_GET_ONLY = {"/health", "/ping", "/info", "/metrics", "/v1/models", "/emulator/requests", "/emulator/summary",
             "/docs", "/api-doc/openapi.json"}  # fmt: skip


class EmulatorApp:
    """ASGI 3 callable serving TGI's HTTP API from a `Service`."""

    def __init__(self, service: Service) -> None:
        self.service = service
        config = service.config
        self.api_key = config.api_key
        self.payload_limit = config.payload_limit
        self.cors = config.cors_allow_origin
        self.retry_after = config.faults.retry_after
        self.info = self._info()

    def _info(self) -> dict[str, Any]:
        c = self.service.config
        return {
            "model_id": c.model_id,
            "model_sha": model_sha(c.model_id, c.revision),
            "model_pipeline_tag": "text-generation",
            "max_concurrent_requests": c.max_concurrent_requests,
            "max_best_of": c.max_best_of,
            "max_stop_sequences": c.max_stop_sequences,
            "max_input_tokens": c.max_input_tokens,
            "max_total_tokens": c.max_total_tokens,
            "validation_workers": c.validation_workers,
            "max_client_batch_size": c.max_client_batch_size,
            "router": "text-generation-router",
            "version": VERSION,
            "sha": None,
            "docker_label": self.service.docker_label,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        arrival = arrival_of(scope)
        path: str = scope["path"]
        method: str = scope["method"]
        cors = self._cors_headers(scope) if self.cors is not None else []
        if cors:
            inner_send = send

            async def send_with_cors(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *cors]
                await inner_send(message)

            send = send_with_cors
            if method == "OPTIONS":
                await send_empty(send, 200, [(b"access-control-allow-methods", b"GET,POST"),
                                             (b"access-control-allow-headers", b"content-type")])  # fmt: skip
                return
        try:
            await self._route(scope, receive, send, path, method, arrival)
        except ApiError as error:
            headers: Headers = []
            if self.retry_after is not None and error.status in (429, 503):
                headers.append((b"retry-after", _seconds(self.retry_after)))
            await send_json(send, error.status, error.body(), headers)
        except PlainError as error:
            await send_plain(send, error.status, error.text)

    def _cors_headers(self, scope: Scope) -> Headers:
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None:
            return []
        vary = (b"vary", b"origin, access-control-request-method, access-control-request-headers")
        if not self.cors:
            return [(b"access-control-allow-origin", b"*"), vary]
        if origin.decode(errors="replace") in self.cors:
            return [(b"access-control-allow-origin", origin), vary]
        return [vary]

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, path: str, method: str, arrival: float
    ) -> None:
        service = self.service
        if method in ("GET", "HEAD"):
            if path in ("/health", "/ping", "/"):
                if service.faults.unhealthy():
                    raise unhealthy_error()
                await send_empty(send, 200)
                return
            if path == "/info":
                await send_json(send, 200, self.info)
                return
            if path == "/metrics":
                await send_plain(send, 200, service.metrics.render())
                return
            if path == "/v1/models":
                await openai.models(service, send)
                return
            if path == "/api-doc/openapi.json":
                await send_body(send, 200, _openapi(), [(b"content-type", b"application/json")])
                return
            if path == "/docs":
                await send_body(send, 200, _DOCS_HTML, [(b"content-type", b"text/html; charset=utf-8")])
                return
            if path == "/emulator/requests":
                await send_json(send, 200, {"count": len(service.records), "requests": list(service.records)})
                return
            if path == "/emulator/summary":
                await send_json(send, 200, service.summary())
                return
            if path in _POST_ONLY:
                await send_empty(send, 405, [(b"allow", b"POST")])
                return
            await send_empty(send, 404)
            return
        if method == "DELETE" and path == "/emulator/requests":
            cleared = len(service.records)
            service.records.clear()
            await send_json(send, 200, {"cleared": cleared})
            return
        if method != "POST":
            known = path in _POST_ONLY or path in _GET_ONLY or path == "/"
            await send_empty(send, 405 if known else 404)
            return
        if path in _GET_ONLY:
            await send_empty(send, 405, [(b"allow", b"GET,HEAD")])
            return
        if path not in _POST_ONLY and path != "/":
            await send_empty(send, 404)
            return
        if path in _PROTECTED and self.api_key is not None and not self._authorized(scope):
            await send_empty(send, 401)
            return
        body = await self._read_json_body(scope, receive)
        schema = _BODIES.get(path)
        if schema is None:
            await send_empty(send, 404)
            return
        await self._dispatch(path, parse(body, schema), send, arrival)

    async def _dispatch(self, path: str, request: Any, send: Send, arrival: float) -> None:
        service = self.service
        handler = _GENERATION.get(path)
        if handler is not None:
            await handler(service, request, send, arrival)
        elif path == "/tokenize":
            await native.tokenize(service, request, send)
        elif path == "/chat_tokenize":
            await openai.chat_tokenize(service, request, send)
        else:  # `/` and `/invocations` (SageMaker: the first variant of its untagged enum that fits)
            kind, request = ("generate", request) if path == "/" else request
            if kind == "chat":
                await openai.chat_completions(service, request, send, arrival, path)
            elif kind == "completion":
                await completions.completions(service, request, send, arrival, path)
            elif request["stream"]:
                await native.generate_stream(service, request, send, arrival, route=path, compat=True)
            else:
                await native.generate(service, request, send, arrival, route=path, compat=True)

    def _authorized(self, scope: Scope) -> bool:
        expected = f"bearer {self.api_key}".lower().encode()
        for key, value in scope["headers"]:
            if key == b"authorization":
                return bool(value.lower() == expected)
        return False

    async def _read_json_body(self, scope: Scope, receive: Receive) -> bytes:
        content_type = b""
        length: int | None = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value
            elif key == b"content-length":
                length = int(value) if value.isdigit() else None
        mime = content_type.split(b";", 1)[0].strip().lower()
        if not (
            mime == b"application/json" or (mime.startswith(b"application/") and mime.endswith(b"+json"))
        ):
            raise PlainError(415, "Expected request with `Content-Type: application/json`")
        if length is not None and length > self.payload_limit:
            raise PlainError(413, "Failed to buffer the request body: length limit exceeded")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.payload_limit:
                raise PlainError(413, "Failed to buffer the request body: length limit exceeded")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_DOCS_HTML = (
    b"<!doctype html><html><head><title>Text Generation Inference API</title></head><body>"
    b'<p>TGI 3.3.x API (emulated). OpenAPI document: <a href="/api-doc/openapi.json">/api-doc/openapi.json</a></p>'
    b"</body></html>"
)


@lru_cache(maxsize=1)
def _openapi() -> bytes:
    """TGI 3.3.7's OpenAPI document, shipped with the package (what TGI serves at /api-doc/openapi.json)."""
    return (Path(__file__).parent / "openapi.json").read_bytes()


def model_sha(model_id: str, revision: str | None) -> str:
    """The 40-hex commit TGI reports from the Hub: the revision itself when it is one, else a stable stand-in
    derived from the model id and revision (the emulator has no Hub to ask)."""
    if revision is not None and re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    return hashlib.sha1(f"{model_id}@{revision or 'main'}".encode()).hexdigest()


def _seconds(value: float) -> bytes:
    return str(int(value) if float(value).is_integer() else value).encode()
