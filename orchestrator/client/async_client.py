# GENERATED FILE, DO NOT EDIT. Written from sync_client.py by `python -m orchestrator.client._generate_async`.
"""`AsyncTGIClient`: the asyncio twin of `TGIClient`, with the same methods, parameters and rules.

Generated from the blocking `sync_client.py`, where this code is written once: edit that file, then run
`python -m orchestrator.client._generate_async`. tests/client/test_generated_async.py fails on any drift.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx2

from orchestrator.client.async_retry_loop import run_async
from orchestrator.client.async_streams import AsyncChatStream, AsyncTokenStream
from orchestrator.client.base import ClientBase, SecretLike, attempt_timeout, check_status
from orchestrator.client.endpoints import Endpoint
from orchestrator.client.errors import TGIError, TGIValidationError
from orchestrator.client.presets import MISTRAL_MODEL_CARD, SamplingPreset
from orchestrator.client.protocol import StreamReader
from orchestrator.client.results import CallStats, GenerateResult
from orchestrator.client.retry import CallContext, RetryPolicy
from orchestrator.client.wire import Wire
from orchestrator.engines.detection import TGI_PROBE, VLLM_PROBES, Detected, from_tgi_info, from_vllm_answers
from orchestrator.engines.tgi import routes

if TYPE_CHECKING:
    from huggingface_hub import AsyncInferenceClient, ChatCompletionOutput

__all__ = ["AsyncTGIClient"]

T = TypeVar("T")


class AsyncTGIClient(ClientBase):
    """Asyncio client for one or more TGI or vLLM replicas, with retries, a deadline and a retry budget.

    `engine` is `"tgi"`, `"vllm"`, or None to detect it from the endpoint (all replicas serve the same engine).

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
        engine: str | None = None,
    ) -> None:
        super().__init__(
            url,
            api_key=api_key,
            policy=policy,
            preset=preset,
            headers=headers,
            max_connections=max_connections,
            engine=engine,
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

    async def _on_engine(self, run_on: Callable[[Wire], Awaitable[T]]) -> T:
        """`run_on(wire)` on the engine's wire; before detection on TGI's, detecting on a 404 and running again."""
        wire = self._wire
        if wire is not None:
            return await run_on(wire)
        try:
            return await run_on(self._wire_or_default())
        except TGIError as exc:
            if not self._may_detect(exc):
                raise
            found = await self.detect_engine()
            if found.kind == "tgi":
                raise
        return await run_on(self._wire_or_default())

    async def _probe(self, ctx: CallContext) -> Detected:
        """One detection attempt: TGI's `/info`, else vLLM's `/version` and `/v1/models`."""
        try:
            info = await self._request(ctx, "GET", TGI_PROBE, None)
        except TGIError as exc:
            if exc.status != 404:
                raise
        else:
            found = from_tgi_info(_json_or_none(info))
            if found is not None:
                return found
        found = None
        try:
            version = await self._request(ctx, "GET", VLLM_PROBES[0], None)
            models = await self._request(ctx, "GET", VLLM_PROBES[1], None)
        except TGIError as exc:
            if exc.status != 404:
                raise
        else:
            found = from_vllm_answers(_json_or_none(version), _json_or_none(models))
        if found is None:
            raise TGIValidationError(
                f"{ctx.endpoint} answers neither as TGI ({TGI_PROBE}) nor as vLLM ({', '.join(VLLM_PROBES)}); "
                "check the URL, or pass engine='tgi' or engine='vllm'",
                error_type="unknown_engine",
                endpoint=ctx.endpoint,
            )
        return found

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

        async def run_on(wire: Wire) -> str | GenerateResult:
            body, ctx = self._prepare_generate(
                wire, "generate", prompt, details, preset, parameters, deadline,
                max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                repetition_penalty=repetition_penalty, do_sample=do_sample, stop=stop, seed=seed,
            )  # fmt: skip
            response = await run_async(
                lambda c: self._request(c, "POST", wire.generate_path, body), ctx, self._budget, self._pool
            )
            return self._generate_result(wire, response, ctx, details)

        return await self._on_engine(run_on)

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

        async def run_on(wire: Wire) -> AsyncTokenStream:
            body, ctx = self._prepare_generate(
                wire, "stream", prompt, True, preset, parameters, deadline,
                max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                repetition_penalty=repetition_penalty, do_sample=do_sample, stop=stop, seed=seed,
            )  # fmt: skip
            opened = await run_async(
                lambda c: self._open(c, wire.stream_path, body, wire.token_reader),
                ctx,
                self._budget,
                self._pool,
            )
            return AsyncTokenStream(self._pool, *opened, ctx.stats)

        return await self._on_engine(run_on)

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
        """OpenAI-style chat over `/v1/chat/completions` (on TGI via huggingface_hub's `chat_completion`)."""

        async def run_on(wire: Wire) -> ChatCompletionOutput:
            call, ctx = self._prepare_chat(
                wire, messages, False, preset, parameters, deadline,
                max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
            )  # fmt: skip
            if not wire.chat_via_hub:
                response = await run_async(
                    lambda c: self._request(c, "POST", wire.chat_path, call.body),
                    ctx,
                    self._budget,
                    self._pool,
                )
                parsed: ChatCompletionOutput = call.parse(response.content)
                return parsed

            async def attempt(c: CallContext) -> ChatCompletionOutput:
                with self._attempt(c, Exception) as endpoint:
                    out: ChatCompletionOutput = await call.send(self._inference_client(endpoint.url))
                return out

            return await run_async(attempt, ctx, self._budget, self._pool)

        return await self._on_engine(run_on)

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

        async def run_on(wire: Wire) -> AsyncChatStream:
            call, ctx = self._prepare_chat(
                wire, messages, True, preset, parameters, deadline,
                max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
            )  # fmt: skip
            opened = await run_async(
                lambda c: self._open(c, wire.chat_path, call.body, call.make),
                ctx,
                self._budget,
                self._pool,
            )
            return AsyncChatStream(self._pool, *opened, ctx.stats)

        return await self._on_engine(run_on)

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
        """The deployment's `/info` (model id, limits, version), with retries; on vLLM, which has no `/info`,
        the same names filled from `/version` and `/v1/models` (and `engine: "vllm"`)."""

        async def run_on(wire: Wire) -> dict[str, Any]:
            if wire.kind != "tgi":
                return self._info_of(self._detected or await self.detect_engine(deadline=deadline))
            ctx = self._context("info", deadline)
            response = await run_async(
                lambda c: self._request(c, "GET", routes.INFO, None), ctx, self._budget, self._pool
            )
            data: dict[str, Any] = response.json()
            return data

        return await self._on_engine(run_on)

    async def detect_engine(self, *, deadline: float | None = None) -> Detected:
        """Ask the first endpoint which engine it is (TGI's `/info`, else vLLM's `/version` + `/v1/models`),
        with retries, and speak that engine's wire from now on."""
        ctx = self._context("detect_engine", deadline)
        found = await run_async(self._probe, ctx, self._budget, self._pool)
        return self._use(found)


def _json_or_none(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
