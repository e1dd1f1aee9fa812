# GENERATED FILE, DO NOT EDIT. Written from sync_client.py by `python -m orchestrator.client._generate_async`.
"""`AsyncTGIClient`: the asyncio twin of `TGIClient`, with the same methods, parameters and rules.

Generated from the blocking `sync_client.py`, where this code is written once: edit that file, then run
`python -m orchestrator.client._generate_async`. tests/client/test_generated_async.py fails on any drift.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx2

from orchestrator.client.async_retry_loop import run_async
from orchestrator.client.async_streams import AsyncChatStream, AsyncTokenStream
from orchestrator.client.base import ClientBase, SecretLike, attempt_timeout, check_status
from orchestrator.client.endpoints import Endpoint
from orchestrator.client.errors import TGIError
from orchestrator.client.presets import MISTRAL_MODEL_CARD, SamplingPreset
from orchestrator.client.protocol import StreamReader, token_reader
from orchestrator.client.results import CallStats, GenerateResult
from orchestrator.client.retry import CallContext, RetryPolicy
from orchestrator.engines.tgi import routes

if TYPE_CHECKING:
    from huggingface_hub import AsyncInferenceClient, ChatCompletionOutput

__all__ = ["AsyncTGIClient"]

T = TypeVar("T")


class AsyncTGIClient(ClientBase):
    """Asyncio client for one or more TGI replicas, with retries, a deadline and a retry budget.

    >>> async with AsyncTGIClient("http://127.0.0.1:8080") as client:
    ...     await client.generate(client.format_prompt("Hello"), max_new_tokens=20)
    """

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        api_key: str | SecretLike | None = None,
        policy: RetryPolicy | None = None,
        preset: SamplingPreset | None = MISTRAL_MODEL_CARD,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            api_key=api_key,
            policy=policy,
            preset=preset,
            headers=headers,
            max_connections=max_connections,
        )
        self._http = httpx2.AsyncClient(transport=transport, **self._http_options())

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close every connection (and huggingface_hub's clients and exit stacks)."""
        await self._http.aclose()
        for hf in self._hf.values():
            await hf.close()

    async def __aenter__(self) -> AsyncTGIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def http(self) -> httpx2.AsyncClient:
        """The connection pool used by `generate` and `stream` (for benchmarks and advanced use)."""
        return self._http

    @property
    def inference_client(self) -> AsyncInferenceClient:
        """huggingface_hub's `AsyncInferenceClient` for the first endpoint, configured with this client's auth."""
        return self._inference_client(self.endpoints[0])

    def _inference_client(self, url: str) -> AsyncInferenceClient:
        from huggingface_hub import AsyncInferenceClient

        return self._cached_inference_client(url, AsyncInferenceClient)

    # -- sending --------------------------------------------------------------------------------------------

    async def _request(self, ctx: CallContext, method: str, path: str, body: bytes | None) -> httpx2.Response:
        with self._attempt(ctx, httpx2.RequestError) as endpoint:
            response = await self._http.request(
                method, endpoint.url + path, content=body, timeout=attempt_timeout(ctx)
            )
            check_status(response, endpoint.url)
        return response

    async def _open(
        self,
        ctx: CallContext,
        path: str,
        body: bytes,
        make: Callable[[str, CallStats], StreamReader[T]],
    ) -> tuple[Endpoint, httpx2.Response, AsyncIterator[bytes], StreamReader[T], list[T]]:
        """One attempt at opening a stream: send, check the status, read until the first event."""
        with self._attempt(ctx, httpx2.RequestError, hold=True) as endpoint:
            request = self._http.build_request(
                "POST", endpoint.url + path, content=body, timeout=attempt_timeout(ctx)
            )
            response = await self._http.send(request, stream=True)
        reader = make(endpoint.url, ctx.stats)
        try:
            if response.status_code >= 400:
                await response.aread()
                check_status(response, endpoint.url)
            chunks = response.aiter_bytes()
            pending: list[T] = []
            while not pending:
                chunk = await anext(chunks, None)
                if chunk is None:
                    pending = reader.end()
                    break
                pending = reader.feed(chunk)
        except httpx2.RequestError as exc:
            await response.aclose()
            raise self._failed(ctx, endpoint, reader.broken(exc)) from exc
        except TGIError as exc:
            await response.aclose()
            raise self._failed(ctx, endpoint, exc) from None
        except BaseException:
            await response.aclose()
            self._pool.release(endpoint)
            raise
        return endpoint, response, chunks, reader, pending

    # -- public API -----------------------------------------------------------------------------------------

    @overload
    async def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = ...,
        temperature: float | None = ...,
        top_p: float | None = ...,
        top_k: int | None = ...,
        repetition_penalty: float | None = ...,
        do_sample: bool | None = ...,
        stop: list[str] | None = ...,
        seed: int | None = ...,
        details: Literal[False] = ...,
        preset: SamplingPreset | None = ...,
        parameters: Mapping[str, Any] | None = ...,
        deadline: float | None = ...,
    ) -> str: ...

    @overload
    async def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = ...,
        temperature: float | None = ...,
        top_p: float | None = ...,
        top_k: int | None = ...,
        repetition_penalty: float | None = ...,
        do_sample: bool | None = ...,
        stop: list[str] | None = ...,
        seed: int | None = ...,
        details: Literal[True],
        preset: SamplingPreset | None = ...,
        parameters: Mapping[str, Any] | None = ...,
        deadline: float | None = ...,
    ) -> GenerateResult: ...

    async def generate(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        repetition_penalty: float | None = None,
        do_sample: bool | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        details: bool = False,
        preset: SamplingPreset | None = None,
        parameters: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> str | GenerateResult:
        """Generate text for `prompt` (`/generate`); with `details=True` a `GenerateResult` with TGI's details,
        timing headers and call statistics. Keyword arguments override the preset; `parameters` passes any other
        TGI field; `deadline` (seconds) overrides the policy's for this call."""
        body, ctx = self._prepare_generate(
            "generate", prompt, details, preset, parameters, deadline,
            max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
            repetition_penalty=repetition_penalty, do_sample=do_sample, stop=stop, seed=seed,
        )  # fmt: skip
        response = await run_async(
            lambda c: self._request(c, "POST", routes.GENERATE, body), ctx, self._budget, self._pool
        )
        return self._generate_result(response, ctx, details)

    async def stream(
        self,
        prompt: str,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        repetition_penalty: float | None = None,
        do_sample: bool | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        preset: SamplingPreset | None = None,
        parameters: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> AsyncTokenStream:
        """Stream tokens (`/generate_stream`). Opens at once, retrying until the first token has arrived; the
        returned `AsyncTokenStream` yields `TokenEvent`s, the last with `generated_text` and `details`. A failure after
        the first token raises `TGIStreamInterruptedError` with the partial text."""
        body, ctx = self._prepare_generate(
            "stream", prompt, True, preset, parameters, deadline,
            max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
            repetition_penalty=repetition_penalty, do_sample=do_sample, stop=stop, seed=seed,
        )  # fmt: skip
        opened = await run_async(
            lambda c: self._open(c, routes.GENERATE_STREAM, body, token_reader), ctx, self._budget, self._pool
        )
        return AsyncTokenStream(self._pool, *opened, ctx.stats)

    async def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        preset: SamplingPreset | None = None,
        parameters: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> ChatCompletionOutput:
        """OpenAI-style chat through TGI's `/v1/chat/completions`, via huggingface_hub's `chat_completion`."""
        call, ctx = self._prepare_chat(
            messages, False, preset, parameters, deadline,
            max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
        )  # fmt: skip

        async def attempt(c: CallContext) -> ChatCompletionOutput:
            with self._attempt(c, Exception) as endpoint:
                out: ChatCompletionOutput = await call.send(self._inference_client(endpoint.url))
            return out

        return await run_async(attempt, ctx, self._budget, self._pool)

    async def chat_stream(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        seed: int | None = None,
        preset: SamplingPreset | None = None,
        parameters: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> AsyncChatStream:
        """Stream a chat completion; same retry rules as `stream`. Yields `ChatCompletionStreamOutput` chunks."""
        call, ctx = self._prepare_chat(
            messages, True, preset, parameters, deadline,
            max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
        )  # fmt: skip
        opened = await run_async(
            lambda c: self._open(c, routes.CHAT, call.body, call.make),
            ctx,
            self._budget,
            self._pool,
        )
        return AsyncChatStream(self._pool, *opened, ctx.stats)

    async def health(self) -> bool:
        """Whether any endpoint answers `/health` with 200 now (one try each, no retries, at most 10 s each)."""
        connect, read = self.policy.connect_timeout, min(self.policy.read_timeout, 10.0)
        for url in self.endpoints:
            try:
                response = await self._http.get(
                    url + routes.HEALTH, timeout=httpx2.Timeout(read, connect=connect)
                )
            except httpx2.RequestError:
                continue
            if response.status_code == 200:
                return True
        return False

    async def info(self, *, deadline: float | None = None) -> dict[str, Any]:
        """The deployment's `/info` (model id, limits, version), with retries."""
        ctx = self._context("info", deadline)
        response = await run_async(
            lambda c: self._request(c, "GET", routes.INFO, None), ctx, self._budget, self._pool
        )
        data: dict[str, Any] = response.json()
        return data
