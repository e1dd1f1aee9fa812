"""Locust users for TGI's and vLLM's routes, timing every token event exactly.

Each user speaks the run's engine (`LoadRuntime.engine`) through its `LoadWire` (`load/engines.py`): the route,
the body and the stream reader; everything else (timing, failures, samples) is the same for both.

Each user owns one keep-alive connection (geventhttpclient's `HTTPClient`, the engine under Locust's
`FastHttpUser`) and reads streams line by line (`wire.stamped_lines`), timing each line when its bytes reached
the machine (the kernel's receive stamp), not when this busy process got round to reading it:
`FastHttpUser.iter_lines` would hold small events back until 1 KiB piles up, and its `readline()` waits for
`\\r\\n`, which TGI never sends. The exact figures go to the run's `SampleCollector`; `events.request` is
still fired (e2e, plus `TTFT` and `ITL` rows) so Locust's CSV/HTML show them, bucketed as Locust does.

Importing this module imports Locust (and gevent's monkey-patching): only locustfiles import it.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, ClassVar, cast

import gevent
from geventhttpclient import HTTPClient
from locust import User, constant, task

from orchestrator.load.engines import LoadWire, wire_for
from orchestrator.load.figures import Sample
from orchestrator.load.in_locust.runtime import LoadRuntime, get_runtime
from orchestrator.load.in_locust.wire import stamped_lines
from orchestrator.load.options import auth_headers
from orchestrator.load.prompts import PromptSpec
from orchestrator.load.sse import ChatStreamReader, parse_error_body

__all__ = ["ChatUser", "GenerateUser", "StreamUser", "TGIUser"]

_perf = time.perf_counter
_BLOCK_SIZE = 16384


class RequestTimeout(BaseException):
    """A request took longer than `--request-timeout` (raised by a per-request gevent timer).

    A BaseException, like `gevent.Timeout`, so that the users' `except Exception` around I/O cannot swallow it.
    """


def sample_start(scheduled: float | None, before: float) -> float:
    return scheduled if scheduled is not None else before


class _IdleDigester:
    """Parses streams' pending token events while the process is idle (`gevent.idle`), 8 at a time.

    The readers time and count a token event on arrival and leave its JSON for later (see `sse._Reader`):
    parsing on arrival would delay every other stream's timestamp in a burst. Whatever is still pending when
    a stream ends is parsed by its user before the sample is recorded.
    """

    def __init__(self) -> None:
        self.queue: deque[Any] = deque()
        self._greenlet: Any = None

    def ensure_running(self) -> None:
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        queue = self.queue
        while True:
            if not queue:
                gevent.sleep(0.002)
                continue
            gevent.idle()
            budget = 8
            while queue and budget > 0:
                reader = queue.popleft()
                budget -= reader.digest(budget)
                if reader.parsed < len(reader.pending):
                    queue.appendleft(reader)


_DIGESTER = _IdleDigester()


class TGIUser(User):
    """Base: takes an arrival slot (open loop) or goes at once (closed loop), sends, records one sample."""

    abstract = True
    wait_time = constant(0)
    scenario: ClassVar[str] = "tgi"
    path: ClassVar[str] = "/"
    """TGI's route (what Locust's tables name the requests); the engine's own is `route`."""

    def on_start(self) -> None:
        self.rt: LoadRuntime = get_runtime(self.environment)
        self.lane = self.rt.next_lane()
        self.wire: LoadWire = wire_for(self.lane.engine)
        self.route = self.route_of(self.wire)
        # vLLM serves generate and stream on one route: Locust's tables then name the scenario too
        self.request_name = f"{self.route} ({self.scenario})" if self.wire.shared_routes else self.route
        self.http = HTTPClient.from_url(
            self.lane.host,
            concurrency=1,
            connection_timeout=10.0,
            # No per-read timeout: gevent would arm a timer object for every read (about a microsecond per token
            # event, which delays every other stream in a burst). One timer per request instead (`one_request`).
            network_timeout=cast(float, None),
            block_size=_BLOCK_SIZE,
        )
        self.headers = {"Content-Type": "application/json", **auth_headers()}
        self.session = self.lane.workload.session()  # each endpoint of an A/B run its own copy of the prompts
        self.reply: str | None = None
        """the last answer's text, when kept (`rt.keep_text()`): a session's next turn is built on it"""
        _DIGESTER.ensure_running()

    def on_stop(self) -> None:
        self.http.close()

    def route_of(self, wire: LoadWire) -> str:
        """This user's route on the engine's wire."""
        return self.path

    @task
    def one_request(self) -> None:
        rt = self.rt
        schedule = self.lane.schedule
        number: int | None = None
        if schedule is not None:
            slot = schedule.next_slot()
            number = schedule.handed_out - 1  # a trace's entry
            wait = slot - _perf()
            if wait > 0:
                self._sleep(wait)
            decision = schedule.decide(slot, _perf())
            if not decision.send:
                return
            scheduled: float | None = slot
            delay = decision.delay
        else:
            scheduled, delay = None, 0.0
        spec = self.session.next(number)
        self.reply = None
        before = _perf()
        self.flight = rt.begin(
            id(self), self.scenario, scheduled if scheduled is not None else before, self.lane
        )
        try:
            with gevent.Timeout(rt.options.request_timeout, RequestTimeout):
                sample = self.send(spec, scheduled)
        except RequestTimeout:
            sample = self.new_sample(spec, scheduled if scheduled is not None else before)
            self.fail(sample, sample_start(scheduled, before), 0, "timeout",
                      f"no complete answer within --request-timeout {rt.options.request_timeout:g} s")  # fmt: skip
        rt.end(id(self))
        if scheduled is not None:
            sample.send_delay = delay
            sample.sent_at = rt.wall(scheduled + delay)
        session = self.session
        if session.wants_reply:
            sample.turn = session.turn
        think = session.answered(self.reply if sample.ok else None)
        rt.record(sample, self.request_name)
        if think > 0:
            self._sleep(think)

    def _sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)

    def new_sample(self, spec: PromptSpec, start: float) -> Sample:
        """A failed sample until proven otherwise; `start` is the scheduled or the actual send time."""
        return Sample(
            scenario=self.scenario,
            ok=False,
            start_at=self.rt.wall(start),
            e2e=0.0,
            expected_input_tokens=spec.input_tokens,
            target_tokens=spec.max_new_tokens,
            prompt_id=spec.number,
            target=self.lane.target,
        )

    def fail(self, sample: Sample, start: float, status: int, error_type: str | None, message: str) -> Sample:
        sample.ok = False
        sample.status = status
        sample.error_type = error_type or ("http" if status else "connection")
        sample.e2e = _perf() - start
        self.rt.failure_messages[id(sample)] = message[:200]
        return sample

    def send(self, spec: PromptSpec, scheduled: float | None) -> Sample:
        """Send one request; the clock starts at `scheduled` (open loop) or just before the request is written."""
        raise NotImplementedError

    def post_stream(
        self, body: dict[str, Any], reader: Any, spec: PromptSpec, scheduled: float | None
    ) -> Sample:
        """POST, then read lines until the reader says the stream is over."""
        payload = json.dumps(body).encode()
        start = scheduled if scheduled is not None else _perf()
        sample = self.new_sample(spec, start)
        try:
            resp = self.http.request("POST", self.route, body=payload, headers=self.headers)
        except Exception as exc:  # connection refused, reset, timeout: a failed request, not a crash
            return self.fail(sample, start, 0, type(exc).__name__, str(exc))
        status = resp.status_code
        if status != 200:
            error_type, message = parse_error_body(resp.read())
            return self.fail(sample, start, status, error_type, message)
        self.flight.reader = reader
        feed = reader.feed
        end: float | None = None
        try:
            for line, arrived in stamped_lines(resp, _BLOCK_SIZE):
                # after the final event: drain the blank line / chunk terminator so the connection is reused
                if end is None and feed(line, arrived):
                    end = arrived
            if end is None:
                end = _perf()
        except Exception as exc:
            return self.fail(sample, start, 200, type(exc).__name__, f"stream broken: {exc}")
        reader.digest()  # whatever the idle digester has not parsed yet
        st = reader.state
        if st.error_type is not None:
            return self.fail(sample, start, 200, st.error_type, st.error_message or "")
        if not st.done:
            return self.fail(sample, start, 200, "incomplete_stream", "stream ended without a final event")
        sample.ok = True
        sample.status = 200
        sample.e2e = end - start
        sample.ttft = None if st.first_token is None else st.first_token - start
        sample.last_token = None if st.last_token is None else st.last_token - start
        sample.token_events = st.token_events
        sample.output_tokens = st.output_tokens
        sample.input_tokens = st.input_tokens
        sample.finish_reason = st.finish_reason
        if reader.keep_text and st.output_tokens is not None:
            self.reply = "".join(st.text)
            self.rt.collector.add_text(
                st.output_tokens, self.reply, st.finish_reason in ("eos_token", "stop")
            )
        return sample


class GenerateUser(TGIUser):
    """Native `/generate` (vLLM: `/v1/completions`), no streaming: e2e, and output tokens from
    `details.generated_tokens` (vLLM: `usage.completion_tokens`)."""

    abstract = False
    scenario = "generate"
    path = wire_for("tgi").generate_path
    weight = 1

    def route_of(self, wire: LoadWire) -> str:
        return wire.generate_path

    def send(self, spec: PromptSpec, scheduled: float | None) -> Sample:
        payload = json.dumps(self.wire.generate_body(spec)).encode()
        start = scheduled if scheduled is not None else _perf()
        sample = self.new_sample(spec, start)
        try:
            resp = self.http.request("POST", self.route, body=payload, headers=self.headers)
            raw = resp.read()
        except Exception as exc:
            return self.fail(sample, start, 0, type(exc).__name__, str(exc))
        end = _perf()
        if resp.status_code != 200:
            error_type, message = parse_error_body(raw)
            return self.fail(sample, start, resp.status_code, error_type, message)
        answer = self.wire.read_generate(json.loads(raw), resp.get if hasattr(resp, "get") else _no_header)
        sample.ok = True
        sample.status = 200
        sample.e2e = end - start
        sample.output_tokens = answer.output_tokens
        sample.finish_reason = answer.finish_reason
        sample.input_tokens = answer.input_tokens
        if self.rt.keep_text() and sample.output_tokens is not None:
            self.reply = answer.text
            self.rt.collector.add_text(
                sample.output_tokens, self.reply or "", sample.finish_reason == self.wire.eos_reason
            )
        return sample


def _no_header(name: str) -> None:
    return None


class StreamUser(TGIUser):
    """Native `/generate_stream` (vLLM: `/v1/completions` streamed with usage): a timestamp per token event; the
    final event's details (vLLM: the usage chunk) give the counts."""

    abstract = False
    scenario = "stream"
    path = wire_for("tgi").stream_path
    weight = 2

    def route_of(self, wire: LoadWire) -> str:
        return wire.stream_path

    def send(self, spec: PromptSpec, scheduled: float | None) -> Sample:
        reader = self.wire.stream_reader(keep_text=self.rt.keep_text(), sink=_DIGESTER.queue)
        return self.post_stream(self.wire.stream_body(spec), reader, spec, scheduled)


class ChatUser(TGIUser):
    """`/v1/chat/completions` streaming with `stream_options.include_usage`: usage gives the counts."""

    abstract = False
    scenario = "chat"
    path = wire_for("tgi").chat_path
    weight = 2

    def route_of(self, wire: LoadWire) -> str:
        return wire.chat_path

    def send(self, spec: PromptSpec, scheduled: float | None) -> Sample:
        reader = ChatStreamReader(keep_text=self.rt.keep_text(), sink=_DIGESTER.queue)
        return self.post_stream(self.wire.chat_body(spec), reader, spec, scheduled)
