"""Load shapes as pure functions of run time: step, ramp and spike.

A shape spec is a string so that it travels through command lines and Locust's worker messages unchanged:

- `step:START,STEP,EVERY_S,MAX[,HOLD_S]`  START users, STEP more every EVERY_S seconds up to MAX, then hold
- `ramp:FROM,TO,OVER_S[,HOLD_S]`          linear from FROM to TO users over OVER_S seconds, then hold
- `spike:BASE,PEAK,AT_S,FOR_S[,TOTAL_S]`  BASE users, PEAK users from AT_S for FOR_S seconds, back to BASE

`level(t)` gives the user count at `t` seconds, None once the shape is over (the run ends). Without a hold or total
time the run ends with `--run-time`/`--duration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Shape", "ShapeError", "parse_shape"]


class ShapeError(ValueError):
    """A `--shape` value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Shape:
    kind: str
    params: tuple[float, ...]
    end_s: float | None

    def level(self, t: float) -> int | None:
        if self.end_s is not None and t >= self.end_s:
            return None
        p = self.params
        if self.kind == "step":
            start, step, every, top = p[:4]
            return int(min(top, start + step * math.floor(t / every)))
        if self.kind == "ramp":
            low, high, over = p[:3]
            fraction = min(1.0, t / over) if over > 0 else 1.0
            return round(low + (high - low) * fraction)
        base, peak, at, width = p[:4]
        return int(peak if at <= t < at + width else base)

    def peak(self) -> int:
        p = self.params
        return int(p[3] if self.kind == "step" else max(p[0], p[1]))

    def __str__(self) -> str:
        return f"{self.kind}:" + ",".join(f"{x:g}" for x in self.params)


_ARITY = {"step": (4, 5), "ramp": (3, 4), "spike": (4, 5)}


def parse_shape(text: str) -> Shape:
    kind, _, rest = text.strip().partition(":")
    hint = (
        f"--shape {text!r}: use step:START,STEP,EVERY_S,MAX[,HOLD_S], ramp:FROM,TO,OVER_S[,HOLD_S] "
        "or spike:BASE,PEAK,AT_S,FOR_S[,TOTAL_S]"
    )
    if kind not in _ARITY:
        raise ShapeError(f"unknown shape {hint}")
    try:
        params = tuple(float(x) for x in rest.split(","))
    except ValueError as exc:
        raise ShapeError(f"non-numeric value in {hint}") from exc
    if len(params) not in _ARITY[kind] or any(x < 0 for x in params):
        raise ShapeError(f"wrong number of values or a negative one in {hint}")
    if kind == "step":
        if params[2] <= 0:
            raise ShapeError(f"EVERY_S must be above 0 in {hint}")
        steps = math.ceil(max(0.0, params[3] - params[0]) / params[1]) if params[1] > 0 else 0
        end = steps * params[2] + params[4] if len(params) == 5 else None
    elif kind == "ramp":
        end = params[2] + params[3] if len(params) == 4 else None
    else:
        end = params[4] if len(params) == 5 else None
    return Shape(kind, params[:4] if kind != "ramp" else params[:3], end)
