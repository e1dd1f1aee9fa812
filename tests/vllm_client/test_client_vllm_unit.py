"""Both clients against recorded vLLM 0.33 answers (`httpx2.MockTransport`): routes, bodies, results, usage,
errors and retry rules, and detection. The same promises over real sockets: test_client_vllm_emulator.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from orchestrator import AsyncClient, Client
from orchestrator.client import (
    GREEDY,
    AsyncTGIClient,
    GenerateResult,
    RetryPolicy,
    TGIAuthenticationError,
    TGIClient,
    TGIError,
    TGIUnavailableError,
    TGIValidationError,
    classify,
)
from tests.client.drivers import DRIVERS
from tests.client.fake_tgi import FakeTGI, generated
from tests.vllm_client import recorded as vllm

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, jitter=0.001, deadline=5)
Make = Callable[..., Any]
PROMPT = "[INST] Capital of France? [/INST]"


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    drivers: list[Any] = []

    def factory(fake: FakeTGI, **kwargs: Any) -> Any:
        kwargs.setdefault("policy", FAST)
        driver = DRIVERS[request.param]("http://vllm.test:8000", transport=fake.transport(), **kwargs)
        drivers.append(driver)
        return driver

    yield factory
    for driver in drivers:
        driver.close()


def test_engine_neutral_names_are_the_same_classes() -> None:
    assert Client is TGIClient and AsyncClient is AsyncTGIClient
    with pytest.raises(ValueError, match="engine='sglang' is not one of tgi, vllm"):
        Client("http://x.test", engine="sglang")


def test_generate_goes_over_completions_with_tgi_parameters_translated(make: Make) -> None:
    fake = FakeTGI([vllm.completion("Paris", tokens=2)])
    driver = make(fake, engine="vllm")
    result = driver.generate(PROMPT, max_new_tokens=5, do_sample=False, details=True)
    (request,) = fake.requests
    assert request.path == "/v1/completions"
    assert "model" not in request.body and "inputs" not in request.body
    assert request.body["prompt"] == PROMPT
    assert request.body["max_tokens"] == 5 and request.body["temperature"] == 0
    assert "max_new_tokens" not in request.body and "do_sample" not in request.body
    assert isinstance(result, GenerateResult) and result.text == "Paris"
    assert result.finish_reason == "eos_token"  # vLLM's `stop` with no stop string, in TGI's words
    assert result.generated_tokens == 2
    assert result.details is not None and result.details["engine_finish_reason"] == "stop"
    assert driver.generate(PROMPT) == "Paris"


def test_stream_takes_the_server_token_count_from_the_usage_chunk(make: Make) -> None:
    fake = FakeTGI([vllm.completion_stream(["Par", "is", "!"])])
    driver = make(fake, engine="vllm")
    events, stream, error = driver.collect(PROMPT, max_new_tokens=3)
    assert error is None
    (request,) = fake.requests
    assert request.body["stream"] is True and request.body["stream_options"] == {"include_usage": True}
    assert [e.text for e in events] == ["Par", "is", "!"]
    assert [e.is_final for e in events] == [False, False, True]
    assert stream.generated_text == "Paris!" and stream.tokens_received == 3
    assert stream.details["generated_tokens"] == 3 and stream.details["input_length"] == 11
    assert stream.details["finish_reason"] == "length"


def test_stream_without_usage_still_ends_with_a_final_event(make: Make) -> None:
    driver = make(FakeTGI([vllm.completion_stream(["a", "b"], usage=False)]), engine="vllm")
    events, stream, error = driver.collect(PROMPT)
    assert error is None and events[-1].is_final
    assert stream.details["generated_tokens"] == 2  # counted events: the server gave no usage


def test_chat_is_a_raw_post_parsed_like_tgi_chat(make: Make) -> None:
    fake = FakeTGI([vllm.chat_completion("Rome.")])
    driver = make(fake, engine="vllm")
    out = driver.chat([{"role": "user", "content": "Capital of Italy?"}], max_tokens=4)
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions" and "model" not in request.body
    assert out.choices[0].message.content == "Rome." and out.usage.completion_tokens == 2


def test_chat_stream_asks_for_usage_and_yields_it_last(make: Make) -> None:
    fake = FakeTGI([vllm.chat_stream(["Ro", "me."])])
    driver = make(fake, engine="vllm")
    chunks, stream = driver.chat_collect([{"role": "user", "content": "Capital of Italy?"}])
    assert fake.requests[0].body["stream_options"] == {"include_usage": True}
    assert stream.text == "Rome." and stream.finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("answer", "error", "kind"),
    [
        (vllm.vllm_error(400, "BadRequestError", "temperature must be in [0, 2], got 3.0."), TGIValidationError,
         "BadRequestError"),
        (vllm.vllm_error(400, "Bad Request", "1 validation error:\n  {'type': 'missing'}", "body.prompt"),
         TGIValidationError, "Bad Request"),
        (vllm.vllm_error(404, "NotFoundError", "The model `x` does not exist.", "model"), TGIValidationError,
         "NotFoundError"),
        (vllm.unauthorized, TGIAuthenticationError, None),
    ],
)  # fmt: skip
def test_client_errors_are_never_retried(make: Make, answer: Any, error: type, kind: str | None) -> None:
    fake = FakeTGI([answer, vllm.completion()])
    driver = make(fake, engine="vllm")
    with pytest.raises(error) as caught:
        driver.generate(PROMPT)
    assert len(fake.requests) == 1 and caught.value.attempts == 1
    assert caught.value.error_type == kind
    assert str(caught.value).startswith("vLLM answered")
    assert not classify(caught.value).retry


def test_401_names_the_missing_key() -> None:
    with (
        TGIClient("http://vllm.test", engine="vllm", transport=FakeTGI([vllm.unauthorized]).transport()) as c,
        pytest.raises(TGIAuthenticationError, match="none was sent"),
    ):
        c.generate(PROMPT)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (vllm.vllm_error(503, "Service Unavailable", vllm.BUSY), TGIUnavailableError),
        (vllm.vllm_error(500, "InternalServerError", "EngineCore encountered an issue."), TGIError),
    ],
)
def test_busy_and_engine_errors_are_retried(make: Make, answer: Any, error: type) -> None:
    fake = FakeTGI([answer, answer, vllm.completion("ok")])
    driver = make(fake, engine="vllm")
    assert driver.generate(PROMPT) == "ok"
    assert len(fake.requests) == 3
    assert driver.last_stats.attempts == 3 and driver.last_stats.outcome == "ok"


def test_error_event_inside_a_stream_is_translated() -> None:
    from orchestrator.client.translate import error_from_sse

    error = error_from_sse({"error": {"message": "boom", "type": "InternalServerError", "param": None,
                                      "code": 500}})  # fmt: skip
    assert error.status == 500 and classify(error).retry


def test_detection_on_a_404_then_the_vllm_wire(make: Make) -> None:
    fake = FakeTGI([vllm.not_found, vllm.not_found, vllm.version, vllm.models, vllm.completion("Paris")])
    driver = make(fake, preset=GREEDY)
    assert driver.generate(PROMPT) == "Paris"
    paths = [r.path for r in fake.requests]
    assert paths == ["/generate", "/info", "/version", "/v1/models", "/v1/completions"]
    assert driver.client.engine == "vllm"
    assert driver.client.detected.version == "0.33.0" and driver.client.detected.model == vllm.MODEL
    # GREEDY sets no max_new_tokens: ask for the rest of the context, as TGI does (vLLM clamps it)
    assert fake.requests[-1].body["max_tokens"] == 32768 and fake.requests[-1].body["temperature"] == 0


def test_detection_costs_a_tgi_endpoint_nothing(make: Make) -> None:
    fake = FakeTGI([generated("hi")])
    driver = make(fake)
    assert driver.generate(PROMPT) == "hi"
    assert [r.path for r in fake.requests] == ["/generate"]


def test_detect_engine_and_info_on_vllm(make: Make) -> None:
    fake = FakeTGI([vllm.not_found, vllm.not_found, vllm.version, vllm.models])
    driver = make(fake)
    info = driver.info()  # /info 404 -> detection (which asks /info first) -> what it learnt
    assert info == {"model_id": vllm.MODEL, "max_total_tokens": 32768, "version": "0.33.0", "engine": "vllm"}


def test_an_endpoint_that_is_neither_engine_is_named() -> None:
    fake = FakeTGI([vllm.not_found])
    with (
        TGIClient("http://other.test", transport=fake.transport(), policy=FAST) as client,
        pytest.raises(TGIValidationError, match="answers neither as TGI"),
    ):
        client.detect_engine()
