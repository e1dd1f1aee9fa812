"""TGI's native routes: POST `/generate`, `/generate_stream`, `/` (compat) and `/tokenize`.

Bodies follow TGI 3.3.x: `GenerateResponse` (`details` only when asked for), `StreamResponse` events with a
1-based `index`, the last event carrying `generated_text` and `details` (with `input_length`), and the timing
headers of a non-streamed answer (x-compute-time in float seconds, the others in integer milliseconds).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from orchestrator.emulator.errors import ApiError, validation_error
from orchestrator.emulator.faults import FaultPlan
from orchestrator.emulator.generation import Generation
from orchestrator.emulator.http import Headers, Send, abort_connection, json_text, send_json, sse_start
from orchestrator.emulator.service import Job, Service
from orchestrator.emulator.streaming import PumpResult, end_stream, pump
from orchestrator.tokens import EOS_ID

__all__ = ["generate", "generate_stream", "parse_generate_request", "timing_headers", "tokenize"]


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


def timing_headers(service: Service, job: Job) -> Headers:
    """TGI's headers on non-streamed answers."""
    best = job.best
    end = time.perf_counter()
    total = end - job.arrival
    validation = job.validated - job.arrival
    queue = best.queue_seconds
    inference = end - best.admitted_at if best.admitted_at else 0.0
    generated = len(best.ids)
    per_token = inference / generated if generated else 0.0
    return [
        service.compute_type_header,
        (b"x-compute-time", repr(total).encode()),
        (b"x-compute-characters", str(job.compute_characters).encode()),
        (b"x-total-time", str(int(total * 1000)).encode()),
        (b"x-validation-time", str(int(validation * 1000)).encode()),
        (b"x-queue-time", str(int(queue * 1000)).encode()),
        (b"x-inference-time", str(int(inference * 1000)).encode()),
        (b"x-time-per-token", str(int(per_token * 1000)).encode()),
        (b"x-prompt-tokens", str(job.valid.input_length).encode()),
        (b"x-generated-tokens", str(generated).encode()),
    ]


async def run_job(service: Service, job: Job) -> None:
    """Wait for every sequence of a non-streamed job; raise the planned or engine error."""
    plan = job.plan
    try:
        if plan.error is not None and plan.fail_mid_generation:
            await job.generations[0].wait(0)
            raise plan.error
        if plan.stall_seconds:
            await job.generations[0].wait(0)
            await asyncio.sleep(plan.stall_seconds)
        for generation in job.generations:
            await generation.wait_finished()
            if generation.error is not None:
                raise ApiError(424, "generation", generation.error, "generation")
    except ApiError as error:
        service.cancel(job)
        service.fail(error)
        service.finish(job, status=error.status, error_type=error.error_type)
        raise


async def begin_plan(service: Service, send: Send) -> FaultPlan | None:
    """Count the request and draw its faults; apply a connection reset or a slow first byte. None = reset."""
    plan = service.begin()
    if plan.reset:
        abort_connection(send, reset=True)
        return None
    if plan.first_byte_delay:
        await asyncio.sleep(plan.first_byte_delay)
    return plan


async def begin_stream(service: Service, send: Send, characters: int) -> FaultPlan | None:
    """`begin_plan`, then the SSE response head (sent before any error: TGI reports stream errors as events)."""
    plan = await begin_plan(service, send)
    if plan is not None:
        await sse_start(send, [service.compute_type_header, (b"x-compute-characters", str(characters).encode()),
                               (b"x-accel-buffering", b"no")])  # fmt: skip
    return plan


def raise_planned_error(service: Service, plan: FaultPlan) -> None:
    """Raise (and count) a fault drawn to fail the request before generation starts."""
    if plan.error is not None and not plan.fail_mid_generation:
        service.fail(plan.error)
        raise plan.error


async def start_job(
    service: Service, inputs: str, params: Mapping[str, Any], send: Send, arrival: float, route: str,
    *, stream: bool, add_special_tokens: bool = True,
) -> Job | None:  # fmt: skip
    """Common prologue: faults drawn, reset/slow first byte applied, then submit. None = connection reset."""
    plan = await begin_plan(service, send)
    if plan is None:
        return None
    raise_planned_error(service, plan)
    return service.submit(inputs, params, arrival=arrival, plan=plan, route=route, stream=stream,
                          add_special_tokens=add_special_tokens)  # fmt: skip


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


def tokenize_text(service: Service, text: str, *, add_special_tokens: bool) -> list[dict[str, Any]]:
    """`[{id, text, start, stop}]` with character offsets into `text`, like TGI's `/tokenize`."""
    tokenizer = service.tokenizer
    ids = tokenizer.encode(text, add_bos=add_special_tokens)
    out: list[dict[str, Any]] = []
    position = 0
    for token_id in ids:
        if token_id in (1, 2) and tokenizer.piece(token_id) in ("<s>", "</s>"):
            marker = tokenizer.piece(token_id)
            start = text.find(marker, position)
            if start < 0:
                out.append({"id": token_id, "text": marker, "start": 0, "stop": 0})
                continue
            out.append({"id": token_id, "text": marker, "start": start, "stop": start + len(marker)})
            position = start + len(marker)
            continue
        piece_text = tokenizer.token_text(token_id)
        if position == 0 and piece_text.startswith(" ") and not text.startswith(" "):
            piece_text = piece_text[1:]
        start = position
        stop = min(len(text), start + len(piece_text))
        out.append({"id": token_id, "text": text[start:stop], "start": start, "stop": stop})
        position = stop
    return out
