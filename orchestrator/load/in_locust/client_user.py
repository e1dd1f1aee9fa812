"""`ClientUser`: load through our own `TGIClient`, so its retries can be watched under load.

It streams `/generate_stream` with `TGIClient.stream` (which retries until the first token has arrived) and
records what an application using the client sees: TTFT includes the client's own retries and back-off, and each
sample carries the call's retry count (`CallStats.retries`), summed in the report as `retries`. Failures are
grouped by the client's error class and TGI's `error_type`.

The client is imported lazily (in `on_start`), so the other users work even where it is missing.
"""

from __future__ import annotations

import os
import time
from typing import Any

from orchestrator.engines.tgi import routes
from orchestrator.load.engines import LoadWire
from orchestrator.load.figures import Sample
from orchestrator.load.in_locust.users import TGIUser
from orchestrator.load.options import API_KEY_ENV
from orchestrator.load.prompts import PromptSpec

__all__ = ["ClientUser"]

_perf = time.perf_counter


class ClientUser(TGIUser):
    """Streams through `orchestrator.client.TGIClient` (greedy, retries per the client's default policy)."""

    abstract = False
    scenario = "client"
    path = routes.GENERATE_STREAM
    weight = 1

    def on_start(self) -> None:
        super().on_start()
        from orchestrator.client import GREEDY, TGIClient

        self.tgi: Any = TGIClient(
            self.lane.host, api_key=os.environ.get(API_KEY_ENV) or None, preset=GREEDY, engine=self.wire.kind
        )

    def route_of(self, wire: LoadWire) -> str:
        return wire.stream_path

    def on_stop(self) -> None:
        super().on_stop()
        self.tgi.close()

    def send(self, spec: PromptSpec, scheduled: float | None) -> Sample:
        from orchestrator.client import TGIError

        prompt = spec.as_inputs()
        start = scheduled if scheduled is not None else _perf()
        sample = self.new_sample(spec, start)
        first: float | None = None
        last: float | None = None
        events = 0
        final: Any = None
        stats: Any = None
        try:
            stream = self.tgi.stream(prompt, max_new_tokens=spec.max_new_tokens)
            stats = stream.stats
            for event in stream:
                now = _perf()
                if first is None:
                    first = now
                last = now
                events += 1
                if event.generated_text is not None:
                    final = event
        except TGIError as exc:
            sample.retries = exc.stats.retries if exc.stats is not None else max(0, exc.attempts - 1)
            return self.fail(
                sample, start, exc.status or 0, exc.error_type or type(exc).__name__, exc.message
            )
        except Exception as exc:
            return self.fail(sample, start, 0, type(exc).__name__, str(exc))
        end = _perf()
        sample.retries = stats.retries if stats is not None else 0
        if final is None:
            return self.fail(sample, start, 200, "incomplete_stream", "stream ended without a final event")
        details = final.details or {}
        sample.ok = True
        sample.status = 200
        sample.e2e = end - start
        sample.ttft = None if first is None else first - start
        sample.last_token = None if last is None else last - start
        sample.token_events = events
        sample.output_tokens = details.get("generated_tokens")
        sample.input_tokens = details.get("input_length")
        sample.finish_reason = details.get("finish_reason")
        if self.rt.keep_text() and sample.output_tokens is not None:
            self.reply = final.generated_text
            self.rt.collector.add_text(
                sample.output_tokens,
                final.generated_text,
                sample.finish_reason == "eos_token",  # both engines
            )
        return sample
