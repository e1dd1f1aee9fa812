"""The raw ASGI application: vLLM 0.33.0's routes, API-key check, JSON bodies and error answers.

Order as FastAPI + vLLM's middleware answer [vllm-server.md §5]: the API key first for paths under `/v1` (401
`{"error":"Unauthorized"}`, OPTIONS exempt), then routing (404 `{"detail":"Not Found"}`, 405 `{"detail":"Method
Not Allowed"}`), then the content type and JSON syntax (400), the model name (404 with the valid aliases) and the
handler's own errors. A raw ASGI callable keeps per-request overhead low (thousands of requests/s on one core).
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable
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
)
from orchestrator.emulator.vllm.errors import VllmError, internal_error, model_not_found, schema_error
from orchestrator.emulator.vllm.routes.chat import chat_completions
from orchestrator.emulator.vllm.routes.completions import completions
from orchestrator.emulator.vllm.routes.tokenize import detokenize, tokenize
from orchestrator.emulator.vllm.service import VllmService
from orchestrator.engines.vllm import routes

__all__ = ["VllmApp"]

Handler = Callable[[VllmService, Scope, Any, Send, float], Awaitable[None]]
_GENERATE: dict[str, Handler] = {routes.COMPLETIONS: completions, routes.CHAT: chat_completions}
_METHODS = {routes.HEALTH: ("GET",), routes.PING: ("GET", "POST"), routes.VERSION: ("GET",),
            routes.LOAD: ("GET",), routes.METRICS: ("GET",), routes.MODELS: ("GET",),
            routes.COMPLETIONS: ("POST",), routes.CHAT: ("POST",), routes.TOKENIZE: ("POST",),
            routes.DETOKENIZE: ("POST",)}  # fmt: skip
_PROTECTED = ("/v1", "/v2", "/inference", "/cohere")
_METRICS_TYPE = (b"content-type", b"text/plain; version=0.0.4; charset=utf-8")


class VllmApp:
    """ASGI 3 callable serving vLLM's OpenAI-compatible API from a `VllmService`."""

    def __init__(self, service: VllmService) -> None:
        self.service = service
        self.keys = [f"bearer {key}".encode() for key in service.config.api_keys]
        self.retry_after = service.config.faults.retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        arrival = arrival_of(scope)
        try:
            await self._route(scope, receive, send, arrival)
        except VllmError as error:
            headers: Headers = []
            if self.retry_after is not None and error.status == 503:
                headers.append((b"retry-after", f"{self.retry_after:g}".encode()))
            await send_json(send, error.status, error.body(), headers)
        except Exception:
            traceback.print_exc()
            await send_json(send, 500, internal_error().body())

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope["headers"]:
            if key == b"authorization":
                given = value.lower()[:7] + value[7:]
                return any(hmac.compare_digest(given, expected) for expected in self.keys)
        return False

    async def _route(self, scope: Scope, receive: Receive, send: Send, arrival: float) -> None:
        service = self.service
        path: str = scope["path"]
        method: str = scope["method"]
        if self.keys and method != "OPTIONS" and path.startswith(_PROTECTED) and not self._authorized(scope):
            await send_json(send, 401, {"error": "Unauthorized"})
            return
        allowed = _METHODS.get(path)
        if allowed is None:
            await send_json(send, 404, {"detail": "Not Found"})
            return
        if method not in allowed and not (method == "HEAD" and "GET" in allowed):
            await send_json(
                send, 405, {"detail": "Method Not Allowed"}, [(b"allow", ", ".join(allowed).encode())]
            )
            return
        if path in (routes.HEALTH, routes.PING):
            await send_empty(send, 503 if service.dead or service.faults.unhealthy() else 200)
        elif path == routes.VERSION:
            await send_json(send, 200, {"version": "0.33.0"})
        elif path == routes.LOAD:
            load = len(service.in_flight) if service.config.enable_server_load_tracking else 0
            await send_json(send, 200, {"server_load": load})
        elif path == routes.METRICS:
            await send_body(send, 200, service.metrics.render().encode(), [_METRICS_TYPE])
        elif path == routes.MODELS:
            await send_json(send, 200, self._models())
        else:
            body = await _read_json(scope, receive)
            self._check_model(body)
            handler = _GENERATE.get(path)
            if handler is not None:
                await handler(service, scope, body, send, arrival)
            elif path == routes.TOKENIZE:
                await tokenize(service, body, send)
            else:
                await detokenize(service, body, send)

    def _check_model(self, body: Any) -> None:
        served = self.service.config.served_model_names
        model = body.get("model") if isinstance(body, dict) else None
        if isinstance(model, str) and model and model not in served:
            raise model_not_found(model, served)

    def _models(self) -> dict[str, Any]:
        config = self.service.config
        now = int(time.time())
        cards = [{"id": name, "object": "model", "created": now, "owned_by": "vllm", "root": config.model,
                  "parent": None, "max_model_len": config.max_model_len,
                  "permission": [{"id": f"modelperm-{secrets.token_hex(16)}", "object": "model_permission",
                                  "created": now, "allow_create_engine": False, "allow_sampling": True,
                                  "allow_logprobs": True, "allow_search_indices": False, "allow_view": True,
                                  "allow_fine_tuning": False, "organization": "*", "group": None,
                                  "is_blocking": False}]}
                 for name in config.served_model_names]  # fmt: skip
        return {"object": "list", "data": cards}


async def _read_json(scope: Scope, receive: Receive) -> Any:
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
        raise schema_error(["Unsupported Media Type: Only 'application/json' is allowed"], None)
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    try:
        return json.loads(raw)
    except ValueError as exc:
        position = getattr(exc, "pos", 0)
        reason = getattr(exc, "msg", "Expecting value")
        raise schema_error([f"{{'type': 'json_invalid', 'loc': 'body.{position}', 'msg': 'JSON decode error', "
                            f"'input': {{}}, 'ctx': {{'error': '{reason}'}}}}"], f"body.{position}") from None  # fmt: skip
