"""TGI's native routes: POST `/generate`, `/generate_stream`, `/` (compat) and `/tokenize`.

Bodies follow TGI 3.3.x: `GenerateResponse` (`details` only when asked for), `StreamResponse` events with a
1-based `index`, the last event carrying `generated_text` and `details` (with `input_length`), and the timing
headers of a non-streamed answer (x-compute-time in float seconds, the others in integer milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.emulator.core.generation import Generation
from orchestrator.emulator.core.http import Send, json_text, send_json
from orchestrator.emulator.tgi.errors import ApiError, validation_error
from orchestrator.emulator.tgi.jobs import (
    begin_stream,
    raise_planned_error,
    run_job,
    start_job,
    timing_headers,
)
from orchestrator.emulator.tgi.service import Job, Service
from orchestrator.emulator.tgi.streaming import PumpResult, end_stream, pump
from orchestrator.emulator.tgi.tokenize import tokenize_text
from orchestrator.tokens import EOS_ID

__all__ = ["generate", "generate_stream", "parse_generate_request", "tokenize"]


def parse_generate_request(req: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A `GenerateRequest` read by `schema.parse`: the inputs and a copy of its typed parameters."""
    return req["inputs"], dict(req["parameters"])


def _token(service: Service, token_id: int, logprob: float) -> dict[str, Any]:
    return {"id": token_id, "text": service.vocab.text_of(token_id), "logprob": logprob,
            "special": token_id == EOS_ID}  # fmt: skip


def _prefill(service: Service, job: Job) -> list[dict[str, Any]]:
    if not job.valid.decoder_input_details:
        return []
    tokenizer = service.tokenizer
    out: list[dict[str, Any]] = []
    for position, token_id in enumerate(job.valid.input_ids):
        logprob = None if position == 0 else -round(((token_id * 7919 + position) % 1000) / 400, 4)
        out.append({"id": token_id, "text": tokenizer.piece(token_id), "logprob": logprob})
    return out


def _sequence_details(service: Service, job: Job, generation: Generation) -> dict[str, Any]:
    details: dict[str, Any] = {
        "finish_reason": generation.finish_reason or "length",
        "generated_tokens": len(generation.ids),
        "seed": generation.seed,
        "prefill": _prefill(service, job),
        "tokens": [_token(service, t, lp) for t, lp in zip(generation.ids, generation.logprobs, strict=True)],
    }
    if generation.top_tokens:
        details["top_tokens"] = [[_token(service, t, lp) for t, lp in step] for step in generation.top_tokens]
    return details


def _full_text(job: Job, generation: Generation) -> str:
    text = generation.text()
    return job.valid.inputs + text if job.valid.return_full_text else text


def generate_body(service: Service, job: Job) -> dict[str, Any]:
    best = job.best
    response: dict[str, Any] = {"generated_text": _full_text(job, best)}
    if job.valid.details or job.valid.decoder_input_details:
        details = _sequence_details(service, job, best)
        if len(job.generations) > 1:
            others = []
            for generation in job.generations:
                if generation is best:
                    continue
                other = _sequence_details(service, job, generation)
                other = {"generated_text": _full_text(job, generation), **other}
                others.append(other)
            details["best_of_sequences"] = others
        response["details"] = details
    return response


def _parse_request(req: Mapping[str, Any], *, compat: bool) -> tuple[str, dict[str, Any]]:
    """`parse_generate_request`; on the compat routes (`/`, `/invocations`) `return_full_text` defaults to true
    (pipeline tag text-generation returns the full text)."""
    inputs, params = parse_generate_request(req)
    if compat and params.get("return_full_text") is None:
        params["return_full_text"] = True
    return inputs, params


async def generate(
    service: Service, req: Mapping[str, Any], send: Send, arrival: float, *, route: str = "/generate",
    compat: bool = False,
) -> None:  # fmt: skip
    inputs, params = _parse_request(req, compat=compat)
    job = await start_job(service, inputs, params, send, arrival, route, stream=False)
    if job is None:
        return
    await run_job(service, job)
    response = generate_body(service, job)
    headers = timing_headers(service, job)
    service.finish(job)
    await send_json(send, 200, [response] if compat else response, headers)


def _event_error(error: ApiError) -> str:
    return "data: " + json_text(error.body()) + "\n\n"


async def generate_stream(
    service: Service, req: Mapping[str, Any], send: Send, arrival: float, *, route: str = "/generate_stream",
    compat: bool = False,
) -> None:  # fmt: skip
    inputs, params = _parse_request(req, compat=compat)
    plan = await begin_stream(service, send, len(inputs))
    if plan is None:
        return
    try:
        raise_planned_error(service, plan)
        if params.get("best_of") not in (None, 1):
            invalid = validation_error("`best_of` != 1 is not supported when streaming tokens")
            service.fail(invalid)
            raise invalid
        if params.get("decoder_input_details"):
            invalid = validation_error(
                "`decoder_input_details` == true is not supported when streaming tokens"
            )
            service.fail(invalid)
            raise invalid
        job = service.submit(inputs, params, arrival=arrival, plan=plan, route=route, stream=True)
    except ApiError as rejected:
        await end_stream(send, _event_error(rejected))
        return
    generation = job.generations[0]
    vocab = service.vocab
    top_n = job.valid.top_n_tokens
    want_details = job.valid.details

    def render(i: int) -> str:
        token_id = generation.ids[i]
        special = "true" if token_id == EOS_ID else "false"
        top = ""
        if top_n:
            top = ',"top_tokens":[' + ",".join(
                f'{{"id":{t},"text":{vocab.json_of(t)},"logprob":{lp!r},"special":false}}'
                for t, lp in generation.top_tokens[i]
            ) + "]"  # fmt: skip
        last = generation.finished and i == len(generation.ids) - 1
        if last:
            text = json_text(_full_text(job, generation))
            details = "null"
            if want_details:
                details = json_text({"finish_reason": generation.finish_reason, "generated_tokens": i + 1,
                                 "seed": generation.seed, "input_length": job.valid.input_length})  # fmt: skip
        else:
            text, details = "null", "null"
        return (
            f'data: {{"index":{i + 1},"token":{{"id":{token_id},"text":{vocab.json_of(token_id)},'
            f'"logprob":{generation.logprobs[i]!r},"special":{special}}}{top},"generated_text":{text},'
            f'"details":{details}}}\n\n'
        )

    result, error = await pump(service, job, send, render, _event_error)
    if result == PumpResult.DROPPED:
        service.finish(job, dropped=True)
        return
    if error is not None:
        service.finish(job, status=error.status, error_type=error.error_type)
    else:
        service.finish(job)
    await end_stream(send)


async def tokenize(service: Service, req: Mapping[str, Any], send: Send) -> None:
    inputs, _params = parse_generate_request(req)
    await send_json(send, 200, tokenize_text(service, inputs, add_special_tokens=True))
