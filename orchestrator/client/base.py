"""What the sync and async clients share without I/O: construction, secrets, presets, local tokens, stats,
and each public method's preparation (`_prepare_generate`, `_prepare_chat`) and result (`_generate_result`).

`TGIClient` and `AsyncTGIClient` subclass `ClientBase` and add only the send path: each public method prepares
here, runs its attempt through `run_sync` / `run_async`, and wraps the result; every attempt holds its replica
through `_Attempt`, a plain `with` block usable from both. The API key is kept in a `SecretStr`-like holder and
copied into the request headers; `repr` shows endpoints, policy and preset only.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import httpx2

from orchestrator.client.chat_call import ChatCall, split_chat_arguments
from orchestrator.client.endpoints import Endpoint, EndpointPool
from orchestrator.client.errors import TGIError
from orchestrator.client.presets import MISTRAL_MODEL_CARD, SamplingPreset
from orchestrator.client.protocol import merge_parameters, overlay, request_headers
from orchestrator.client.results import CallStats, GenerateResult
from orchestrator.client.retry import CallContext, RetryBudget, RetryPolicy
from orchestrator.client.translate import error_from_exception, error_from_response, key_was_sent
from orchestrator.client.wire import TGI_WIRE, Wire, wire_for
from orchestrator.engines.detection import Detected

if TYPE_CHECKING:
    from orchestrator.tokens import MistralTokenizer

__all__ = ["ChatCall", "ClientBase", "SecretLike", "attempt_timeout", "check_status", "split_chat_arguments"]

_LAST_STATS: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("tgi_last_stats", default=None)

C = TypeVar("C", bound="ClientBase")
H = TypeVar("H")


def attempt_timeout(ctx: CallContext) -> Any:
    """The client's timeouts, or tighter ones when the call's deadline is nearer than the read timeout."""
    cut = ctx.attempt_timeouts()
    if cut is None:
        return httpx2.USE_CLIENT_DEFAULT
    return httpx2.Timeout(cut[1], connect=cut[0])


def check_status(response: httpx2.Response, url: str) -> None:
    """Raise the translated error for an HTTP error status of a fully read response."""
    if response.status_code >= 400:
        raise error_from_response(
            response.status_code, response.headers, response.content, url, key_sent=key_was_sent(response)
        )


class _Attempt:
    """One attempt's hold on a replica, entered with `with` by both shells (sync and async alike).

    Entering picks the replica (fewest in flight) and counts the attempt. Leaving gives the replica back:
    plainly on success (unless `hold`: an opened stream keeps it until the stream finishes); as a failure
    (cooling it on a connection error or 503) when a `TGIError` or one of `translate` escaped, the latter
    re-raised translated; plainly again for anything else (cancelled, interrupted). A plain class rather than
    `contextlib.contextmanager`, which costs several times more on the fast path.
    """

    __slots__ = ("_client", "_ctx", "_endpoint", "_hold", "_translate")

    def __init__(
        self, client: ClientBase, ctx: CallContext, translate: type[BaseException], hold: bool
    ) -> None:
        self._client = client
        self._ctx = ctx
        self._translate = translate
        self._hold = hold

    def __enter__(self) -> Endpoint:
        endpoint = self._endpoint = self._client._pool.acquire(self._ctx.avoid)
        self._ctx.begin_attempt(endpoint.url)
        return endpoint

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        client, endpoint = self._client, self._endpoint
        if exc is None:
            if not self._hold:
                client._pool.release(endpoint)
        elif isinstance(exc, TGIError):
            client._failed(self._ctx, endpoint, exc)  # propagates as it is
        elif isinstance(exc, self._translate):
            raise client._failed(self._ctx, endpoint, error_from_exception(exc, endpoint.url)) from exc
        else:
            client._pool.release(endpoint)


class SecretLike(Protocol):
    """pydantic's `SecretStr` (or anything with `get_secret_value()`)."""

    def get_secret_value(self) -> str: ...


def _secret_value(api_key: str | SecretLike | None) -> str | None:
    if api_key is None:
        return None
    value = api_key if isinstance(api_key, str) else api_key.get_secret_value()
    if not value:
        return None
    if any(c in value for c in "\r\n"):
        raise ValueError("api_key contains a line break; check how it was read (the value is not shown)")
    return value


class ClientBase:
    """Configuration and pure helpers common to `TGIClient` and `AsyncTGIClient`."""

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        api_key: str | SecretLike | None = None,
        policy: RetryPolicy | None = None,
        preset: SamplingPreset | None = MISTRAL_MODEL_CARD,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        engine: str | None = None,
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        self._wire: Wire | None = None if engine is None else wire_for(engine)
        self._detected: Detected | None = None
        self.policy = policy or RetryPolicy()
        self.preset = preset
        self._pool = EndpointPool(urls, self.policy.cooldown)
        self._budget = RetryBudget(self.policy.budget_ratio, self.policy.budget_burst)
        self._api_key = _secret_value(api_key)
        self._headers = request_headers(self._api_key, headers)
        self._max_connections = max_connections
        self._hf: dict[str, Any] = {}

    def _timeout(self) -> httpx2.Timeout:
        return httpx2.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout)

    def _http_options(self) -> dict[str, Any]:
        """Options of the shell's `httpx2` pool: finite timeouts, our headers only, no proxies or redirects."""
        limits = httpx2.Limits(
            max_connections=self._max_connections, max_keepalive_connections=self._max_connections
        )
        return {
            "timeout": self._timeout(),
            "limits": limits,
            "headers": self._headers,
            "trust_env": False,
            "follow_redirects": False,
        }

    def _cached_inference_client(self, url: str, factory: Callable[..., H]) -> H:
        """huggingface_hub's (Async)InferenceClient for `url`, made once with our headers and timeouts."""
        client = self._hf.get(url)
        if client is None:
            # huggingface_hub passes `timeout` to httpx2 as is: separate connect and read timeouts.
            client = self._hf[url] = factory(model=url, headers=self._hf_headers(), timeout=self._timeout())
        return cast(H, client)

    # -- construction ---------------------------------------------------------------------------------------

    @classmethod
    def from_settings(cls: type[C], settings: Any, **kwargs: Any) -> C:
        """A client for the deployment described by `orchestrator.config.settings.Settings` (URL and API key)."""
        kwargs.setdefault("api_key", settings.secrets.api_key)
        kind = getattr(getattr(settings, "engine", None), "kind", None)
        if kind is not None:  # `engine.kind` where the settings have it (a str or an enum of them)
            kwargs.setdefault("engine", str(getattr(kind, "value", kind)))
        return cls(str(settings.endpoint), **kwargs)

    @classmethod
    def from_deployment(cls: type[C], name: str, **kwargs: Any) -> C:
        """A client for the running deployment (container) called `name`, found through the Docker runtime.

        Pass `api_key=` (e.g. `settings.secrets.api_key`) if the deployment requires one.
        """
        from orchestrator.deploy.lifecycle import find_deployment

        info = find_deployment(name)
        status = getattr(info, "status", "running") if info is not None else None
        if info is None or status != "running":
            found = "none" if info is None else f"one in state {status!r}"
            raise TGIError(
                f"no running deployment named {name!r} (found {found}); start it with `orchestrator up` "
                "or check the name with `orchestrator status`",
                error_type="deployment_not_found",
            )
        return cls(str(info.endpoint), **kwargs)

    # -- introspection --------------------------------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        """Base URLs of the replicas this client spreads calls over."""
        return self._pool.urls

    @property
    def engine(self) -> str | None:
        """The engine this client speaks to (`tgi`, `vllm`): given, or detected; None until detected."""
        return None if self._wire is None else self._wire.kind

    @property
    def detected(self) -> Detected | None:
        """What `detect_engine` found (engine, version, model, context length), once it ran."""
        return self._detected

    @property
    def budget(self) -> RetryBudget:
        """The retry budget shared by this client's calls (tokens, calls, retries, refusals)."""
        return self._budget

    @property
    def last_stats(self) -> CallStats | None:
        """Statistics of the last call made from this thread or asyncio task."""
        return _LAST_STATS.get()

    def __repr__(self) -> str:
        auth = "api_key=***" if self._api_key else "no api_key"
        preset = self.preset.name if self.preset else None
        engine = f", engine={self.engine!r}" if self._wire is not None else ""
        return f"{type(self).__name__}({self.endpoints!r}, {auth}, preset={preset!r}{engine}, policy={self.policy!r})"

    # -- local tokenizer ------------------------------------------------------------------------------------

    @staticmethod
    def tokenizer() -> MistralTokenizer:
        from orchestrator.tokens import get_tokenizer

        return get_tokenizer()

    def count_tokens(self, text: str, *, add_bos: bool = True) -> int:
        """Tokens TGI counts for `text` as `inputs` (Mistral 7B v0.2 tokenizer, BOS included), offline."""
        return self.tokenizer().count(text, add_bos=add_bos)

    def format_prompt(self, prompt: str | Sequence[Mapping[str, Any]]) -> str:
        """One prompt, or chat messages, in Mistral's `[INST]` template, ready for `generate`."""
        from orchestrator.tokens import format_chat, format_prompt

        if isinstance(prompt, str):
            return format_prompt(prompt)
        return format_chat(prompt)

    def _hf_headers(self) -> dict[str, Any]:
        """Headers for huggingface_hub: ours, and `authorization: None` when there is no API key.

        huggingface_hub merges user headers over its own and then drops None values, so this removes the
        ambient Hugging Face token (`HF_TOKEN` or the saved login) it would otherwise send to the endpoint.
        """
        out: dict[str, Any] = {k: v for k, v in self._headers.items() if k != "content-type"}
        out.setdefault("authorization", None)
        return out

    # -- the engine ---------------------------------------------------------------------------------------

    def _wire_or_default(self) -> Wire:
        """The wire to try: the engine's, or TGI's until detection says otherwise (see `_may_detect`)."""
        return self._wire or TGI_WIRE

    def _may_detect(self, error: TGIError) -> bool:
        """Whether a failure of a not-yet-detected client calls for detection: a 404 (vLLM has no `/generate`,
        and no model called `tgi`), so a TGI endpoint costs no extra request."""
        return self._wire is None and error.status == 404

    def _use(self, found: Detected) -> Detected:
        self._detected = found
        self._wire = wire_for(found)
        return found

    @staticmethod
    def _info_of(found: Detected) -> dict[str, Any]:
        """`info()` for an engine without `/info` (vLLM): what detection learnt, in `/info`'s names."""
        return {
            "model_id": found.model,
            "max_total_tokens": found.max_context,
            "version": found.version,
            "engine": found.kind,
        }

    # -- per-call helpers -----------------------------------------------------------------------------------

    def _failed(self, ctx: CallContext, endpoint: Endpoint, error: TGIError) -> TGIError:
        """End a failed attempt: free the endpoint (cooling it on 503/connection errors), count the attempt."""
        self._pool.release(endpoint, error)
        self._pool.note_failure(endpoint, error, ctx.avoid)
        error.attempts = ctx.stats.attempts
        return error

    def _context(self, operation: str, deadline: float | None) -> CallContext:
        ctx = CallContext(self.policy, operation)
        if deadline is not None:
            if deadline <= 0:
                raise ValueError(f"deadline={deadline} must be > 0 seconds")
            ctx.deadline_at = ctx.started + deadline
        _LAST_STATS.set(ctx.stats)
        return ctx

    def _attempt(self, ctx: CallContext, translate: type[BaseException], *, hold: bool = False) -> _Attempt:
        """`with self._attempt(ctx, ...) as endpoint:` around one attempt's I/O (see `_Attempt`)."""
        return _Attempt(self, ctx, translate, hold)

    def _parameters(
        self, preset: SamplingPreset | None, explicit: Mapping[str, Any], extra: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return merge_parameters(preset if preset is not None else self.preset, explicit, extra)

    def _chat_parameters(
        self, preset: SamplingPreset | None, explicit: Mapping[str, Any], extra: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        chosen = preset if preset is not None else self.preset
        return overlay(chosen.chat_parameters() if chosen is not None else {}, explicit, extra)

    # -- what each public method does before and after its I/O (the shells only send) ------------------------

    def _prepare_generate(
        self,
        wire: Wire,
        operation: str,
        prompt: str,
        details: bool,
        preset: SamplingPreset | None,
        parameters: Mapping[str, Any] | None,
        deadline: float | None,
        *,
        max_new_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        top_k: int | None,
        repetition_penalty: float | None,
        do_sample: bool | None,
        stop: list[str] | None,
        seed: int | None,
    ) -> tuple[bytes, CallContext]:
        """Body and call context of `generate` (or, with `details=True`, of `stream`)."""
        explicit = {
            "max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p, "top_k": top_k,
            "repetition_penalty": repetition_penalty, "do_sample": do_sample, "stop": stop, "seed": seed,
        }  # fmt: skip
        params = self._parameters(preset, explicit, parameters)
        if operation == "stream":
            body = wire.stream_body(prompt, params)
        else:
            body = wire.generate_body(prompt, params, details)
        return body, self._context(operation, deadline)

    @staticmethod
    def _generate_result(
        wire: Wire, response: httpx2.Response, ctx: CallContext, details: bool
    ) -> str | GenerateResult:
        """What `generate` returns: just the text (fast path), or a `GenerateResult` with details."""
        if not details:
            return wire.text(response.content)
        return wire.result(response.content, response.headers, ctx.stats, ctx.endpoint or "")

    def _prepare_chat(
        self,
        wire: Wire,
        messages: Sequence[Mapping[str, Any]],
        stream: bool,
        preset: SamplingPreset | None,
        parameters: Mapping[str, Any] | None,
        deadline: float | None,
        *,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop: list[str] | None,
        seed: int | None,
    ) -> tuple[ChatCall, CallContext]:
        """What `chat` (through huggingface_hub) or `chat_stream` (raw SSE) sends, and the call context."""
        explicit = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "stop": stop,
            "seed": seed,
        }
        params = self._chat_parameters(preset, explicit, parameters)
        if stream or not wire.chat_via_hub:
            body = wire.chat_body(messages, params, stream)
            return ChatCall(body=body), self._context("chat_stream" if stream else "chat", deadline)
        known, extra = split_chat_arguments(params)
        ctx = self._context("chat", deadline)
        return ChatCall(messages=[dict(m) for m in messages], known=known, extra=extra), ctx
