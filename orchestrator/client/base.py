"""What the sync and async clients share without I/O: construction, secrets, presets, local tokens, stats.

`TGIClient` and `AsyncTGIClient` subclass `ClientBase` and add only the send path. The API key is kept in a
`SecretStr`-like holder and copied into the request headers; `repr` shows endpoints, policy and preset only.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx2

from orchestrator.client.endpoints import Endpoint, EndpointPool
from orchestrator.client.errors import TGIError
from orchestrator.client.presets import MISTRAL_MODEL_CARD, SamplingPreset
from orchestrator.client.protocol import merge_parameters, request_headers
from orchestrator.client.results import CallStats
from orchestrator.client.retry import CallContext, RetryBudget, RetryPolicy

if TYPE_CHECKING:
    from orchestrator.tokens import MistralTokenizer

__all__ = ["ClientBase", "SecretLike", "attempt_timeout", "split_chat_arguments"]

_LAST_STATS: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar("tgi_last_stats", default=None)

C = TypeVar("C", bound="ClientBase")

# Keyword arguments `InferenceClient.chat_completion` takes itself; any other chat field goes in `extra_body`.
_CHAT_KWARGS = frozenset(
    {"frequency_penalty", "logprobs", "max_tokens", "presence_penalty", "response_format", "seed", "stop",
     "temperature", "tool_choice", "tool_prompt", "tools", "top_logprobs", "top_p", "stream_options"}
)  # fmt: skip


def split_chat_arguments(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(keyword arguments of `chat_completion`, TGI extras such as `top_k` for its `extra_body`)."""
    known = {k: v for k, v in params.items() if k in _CHAT_KWARGS}
    extra = {k: v for k, v in params.items() if k not in _CHAT_KWARGS}
    return known, extra


def attempt_timeout(ctx: CallContext) -> Any:
    """The client's timeouts, or tighter ones when the call's deadline is nearer than the read timeout."""
    cut = ctx.attempt_timeouts()
    if cut is None:
        return httpx2.USE_CLIENT_DEFAULT
    return httpx2.Timeout(cut[1], connect=cut[0])


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
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        self.policy = policy or RetryPolicy()
        self.preset = preset
        self._pool = EndpointPool(urls, self.policy.cooldown)
        self._budget = RetryBudget(self.policy.budget_ratio, self.policy.budget_burst)
        self._api_key = _secret_value(api_key)
        self._headers = request_headers(self._api_key, headers)
        self._max_connections = max_connections

    # -- construction ---------------------------------------------------------------------------------------

    @classmethod
    def from_settings(cls: type[C], settings: Any, **kwargs: Any) -> C:
        """A client for the deployment described by `orchestrator.settings.Settings` (URL and API key)."""
        host = str(settings.host.bind_address)
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        kwargs.setdefault("api_key", settings.secrets.api_key)
        return cls(f"http://{host}:{int(settings.host.port)}", **kwargs)

    @classmethod
    def from_deployment(cls: type[C], name: str, **kwargs: Any) -> C:
        """A client for the running deployment (container) called `name`, found through the Docker runtime.

        Pass `api_key=` (e.g. `settings.secrets.api_key`) if the deployment requires one.
        """
        from orchestrator.runtime import find_deployment

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
        return f"{type(self).__name__}({self.endpoints!r}, {auth}, preset={preset!r}, policy={self.policy!r})"

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

    def _parameters(
        self, preset: SamplingPreset | None, explicit: Mapping[str, Any], extra: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return merge_parameters(preset if preset is not None else self.preset, explicit, extra)

    def _chat_parameters(
        self, preset: SamplingPreset | None, explicit: Mapping[str, Any], extra: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        chosen = preset if preset is not None else self.preset
        params: dict[str, Any] = chosen.chat_parameters() if chosen is not None else {}
        if extra:
            params.update(extra)
        for key, value in explicit.items():
            if value is not None:
                params[key] = value
        return params
