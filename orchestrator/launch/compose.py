"""Settings -> `compose/docker-compose.yml`: one source of truth for the Compose set-up and `orchestrator up`.

The file is rendered from the same `LaunchPlan` that `orchestrator up` runs (command, environment, healthcheck,
GPUs, shm size, grace period), and the checked-in file is the rendering of the default settings (a test fails on
drift). Values that have an `ORCHESTRATOR_*` variable and do not depend on the image version are written as
`${ORCHESTRATOR_X:-default}` (model id, token limits, port, bind address, shm size), so Compose reads the same
variables as the settings. Everything else (image, optional limits, GPUs, extra args, timeouts) is fixed at
render time: re-run `orchestrator compose render` after changing it.

Secrets: the Hugging Face token is a Compose secret (a file) bind-mounted read-only at `/data/token`, which is
`$HF_HOME/token` in TGI's image, and an entrypoint wrapper exports it to the launcher when the file is non-empty
(the same wrapper `up` uses), so it never shows in the Compose file, `docker inspect` or process lists. An API key,
when the settings have one at render time, is another secret file exported as `API_KEY`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

from orchestrator.config.engine_choice import as_engine
from orchestrator.config.settings import Settings, env_var_for
from orchestrator.errors import ConfigError
from orchestrator.launch.plan import API_KEY_TARGET, LaunchPlan, build_plan

__all__ = [
    "DEFAULT_COMPOSE_FILE",
    "EMULATOR_IMAGE",
    "HF_TOKEN_TARGET",
    "env_var",
    "launcher_args",
    "render_compose",
    "write_compose",
]

DEFAULT_COMPOSE_FILE = Path("compose/docker-compose.yml")
EMULATOR_IMAGE = "tgi-orchestrator/emulator:3.3.7"
PROMETHEUS_IMAGE = "prom/prometheus:v2.42.0"
HF_TOKEN_TARGET = "/data/token"

# Launcher flag -> the setting behind its value, for values Compose substitutes from the settings' own variables.
# Everything else in the command is literal (version-aware details come from the launch plan).
_INTERPOLATED_FLAGS = {
    "--model-id": "model.id",
    "--max-input-tokens": "limits.max_input_tokens",
    "--max-total-tokens": "limits.max_total_tokens",
    "--max-batch-prefill-tokens": "limits.max_batch_prefill_tokens",
    "--max-concurrent-requests": "limits.max_concurrent_requests",
    "--max-best-of": "limits.max_best_of",
    "--max-stop-sequences": "limits.max_stop_sequences",
    "--max-top-n-tokens": "limits.max_top_n_tokens",
    # vLLM's flags for the same settings (its positional model is handled in `launcher_args`)
    "--served-model-name": "model.id",
    "--model": "model.id",
    "--max-model-len": "limits.max_total_tokens",
    "--max-num-batched-tokens": "limits.max_batch_prefill_tokens",
}


def env_var(path: str) -> str:
    """`limits.max_input_tokens` -> `ORCHESTRATOR_LIMITS__MAX_INPUT_TOKENS`: the settings' own variable, named by
    the settings module (one naming rule, so Compose and `orchestrator up` read the same variable)."""
    return env_var_for(path)


def _lit(text: str) -> str:
    """Literal text for Compose: `$` would start an interpolation."""
    return text.replace("$", "$$")


def _var(path: str, value: object) -> str:
    return "${" + env_var(path) + ":-" + _lit(str(value)) + "}"


def launcher_args(plan: LaunchPlan) -> list[str]:
    """The plan's launcher arguments as Compose text, with the settings-backed values made `${VAR:-value}`."""
    args: list[str] = []
    previous = ""
    for index, arg in enumerate(plan.command):
        if previous in _INTERPOLATED_FLAGS:
            args.append(_var(_INTERPOLATED_FLAGS[previous], arg))
        elif index == 0 and not arg.startswith("-"):  # `vllm serve MODEL`: the model is positional
            args.append(_var("model.id", arg))
        else:
            args.append(_lit(arg))
        previous = arg
    return args


def _q(text: str) -> str:
    """A YAML scalar: JSON strings are valid YAML double-quoted strings."""
    return json.dumps(text)


def _duration(seconds: float) -> str:
    return f"{math.ceil(seconds)}s"


def _gpu_reservation(plan: LaunchPlan) -> Iterator[str]:
    if not plan.device_requests:
        return
    yield from ("    deploy:", "      resources:", "        reservations:", "          devices:")
    for request in plan.device_requests:
        yield "            - driver: nvidia"
        if request.device_ids:
            yield f"              device_ids: [{', '.join(_q(i) for i in request.device_ids)}]"
        else:
            yield (
                "              count: all"
                if request.count in (None, -1)
                else f"              count: {request.count}"
            )
        yield f"              capabilities: [{', '.join(c for caps in request.capabilities for c in caps)}]"


def wrapper_script(plan: LaunchPlan, settings: Settings) -> str:
    """Entrypoint wrapper: export the token (if the secret file is non-empty) and the API key (if rendered) into
    the launcher's environment, where TGI's router and shards read them, then exec the image's entrypoint ($0).
    Nothing secret is in the Compose file, the container config or the process list."""
    token_env = plan.token_env
    lines = [
        "set -e",
        f'if [ -s {HF_TOKEN_TARGET} ]; then {token_env}="$(cat {HF_TOKEN_TARGET})"; export {token_env}; fi',
    ]
    if settings.secrets.api_key is not None:
        key_env = next(
            s.env_var for s in plan.secret_files if s.target == API_KEY_TARGET
        )  # API_KEY, VLLM_API_KEY
        lines.append(f'{key_env}="$(cat {API_KEY_TARGET})"; export {key_env}')
    lines.append('exec "$0" "$@"')
    return "; ".join(lines)


def _service(
    plan: LaunchPlan, settings: Settings, name: str, *, image: str, profile: str, gpu: bool
) -> Iterator[str]:
    bind, port = plan.port_bindings[f"{plan.container_port}/tcp"]
    entry = plan.image_entrypoint
    yield f"  {name}:"
    yield f"    profiles: [{profile}]"
    yield f"    image: {_q(image)}"
    yield f'    entrypoint: ["/bin/sh", "-c", {_q(_lit(wrapper_script(plan, settings)))}, {", ".join(map(_q, entry))}]'
    yield "    command:"
    for arg in launcher_args(plan):
        yield f"      - {_q(arg)}"
    yield "    environment:"
    for key, value in sorted(plan.environment.items()):
        yield f"      {key}: {_q(_lit(value))}"
    yield "    ports:"
    published = f"{_var('host.bind_address', bind)}:{_var('host.port', port)}:{plan.container_port}"
    yield f"      - {_q(published)}"
    yield f"    shm_size: {_q(_var('host.shm_size', plan.shm_size))}"
    yield "    volumes:"
    yield '      - "${TGI_CACHE_DIR:-./data}:/data"'
    yield "    secrets:"
    yield "      - source: hf_token"
    yield f"        target: {HF_TOKEN_TARGET}"
    if settings.secrets.api_key is not None:
        yield "      - source: tgi_api_key"
        yield f"        target: {API_KEY_TARGET}"
    if gpu:
        yield from _gpu_reservation(plan)
    check = plan.healthcheck
    yield "    healthcheck:"
    yield f"      test: [{', '.join(_q(_lit(part)) for part in check.test)}]"
    yield f"      interval: {_duration(check.interval)}"
    yield f"      timeout: {_duration(check.timeout)}"
    yield f"      retries: {check.retries}"
    yield f"      start_period: {_duration(check.start_period)}"
    yield f"    stop_grace_period: {_duration(plan.stop_timeout)}"
    yield '    restart: "no"'


def _tgi_services(settings: Settings) -> list[str]:
    """The `gpu` and `emulator` profiles: TGI and the emulator image, from TGI's launch plan."""
    plan = build_plan(settings)
    return [
        *_service(plan, settings, "tgi", image=_lit(plan.image), profile="gpu", gpu=True),
        "",
        *_service(
            plan,
            settings,
            "tgi-emulator",
            image="${TGI_EMULATOR_IMAGE:-" + EMULATOR_IMAGE + "}",
            profile="emulator",
            gpu=False,
        ),
        "    networks:",
        "      default:",
        "        aliases: [tgi]",
    ]


def _vllm_service(settings: Settings) -> list[str]:
    """The `vllm` profile: vLLM, from its own launch plan."""
    plan = build_plan(settings)
    return list(_service(plan, settings, "vllm", image=_lit(plan.image), profile="vllm", gpu=True))


def _services_of(kind: str, settings: Settings, render: Callable[[Settings], list[str]]) -> list[str]:
    """`render` of the settings as `kind`'s. The configured engine's broken rules raise as always; the other
    engine's profile is left out, with the reason in a comment, so a setting only one engine refuses (a TGI-only
    stop grace, a vLLM-only prefill bound) does not block the Compose file of the engine you run."""
    try:
        return render(as_engine(settings, kind))
    except ConfigError as exc:
        if settings.engine.kind == kind:
            raise
        return [f"  # The {kind} profile is not rendered: these settings break {kind}'s rules:"] + [
            f"  #   {line}" for line in str(exc).splitlines()
        ]


def render_compose(settings: Settings) -> str:
    """The Compose file (YAML text) for `settings`, from the same launch plan `orchestrator up` uses.

    TGI's services come from the settings as TGI settings, the `vllm` service from the same settings as vLLM's
    (`orchestrator.config.engine_choice.as_engine`), whichever engine.kind says `orchestrator up` runs.
    """
    tgi_lines = _services_of("tgi", settings, _tgi_services)
    vllm_lines = _services_of("vllm", settings, _vllm_service)
    lines = [
        "# TGI serving Mistral 7B Instruct v0.2 AWQ: the same launch plan as `orchestrator up`.",
        "# GENERATED by `orchestrator compose render` from the orchestrator settings: do not edit by hand.",
        "# Values written ${ORCHESTRATOR_X:-default} follow the settings' own environment variables (image-independent",
        "# ones: model, token limits, port, bind address, shm size); re-render after changing anything else.",
        "#",
        "#   mkdir -p data secrets && touch secrets/hf_token    # your HF token in that file, or empty (public model)",
        "#   docker-compose --profile gpu up -d                  # TGI on NVIDIA GPUs (needs the NVIDIA toolkit)",
        "#   docker-compose --profile emulator up -d             # the emulator image: same API and flags, no GPU",
        "#   docker-compose --profile vllm up -d                 # the same settings on vLLM (port 8000 inside)",
        "#   docker-compose --profile gpu --profile monitoring up -d    # + Prometheus on 127.0.0.1:9090",
        "#   orchestrator smoke                                  # check it; `docker-compose --profile gpu down` stops it",
        "#",
        "# The token file is mounted read-only at /data/token ($HF_HOME/token, where TGI's downloader and router look)",
        "# and exported to the launcher by the entrypoint wrapper when non-empty; it never appears in the environment",
        "# Compose or `docker inspect` show. Both TGI services answer as `tgi` on the Compose network (Prometheus",
        "# scrapes that name) and publish the same host port: run one at a time.",
        "",
        "services:",
        *tgi_lines,
        "",
        *vllm_lines,
        "",
        "  prometheus:",
        "    profiles: [monitoring]",
        f"    image: {_q('${PROMETHEUS_IMAGE:-' + PROMETHEUS_IMAGE + '}')}",
        "    command:",
        '      - "--config.file=/etc/prometheus/prometheus.yml"',
        '      - "--storage.tsdb.path=/prometheus"',
        "    volumes:",
        '      - "./prometheus:/etc/prometheus:ro"',
        '      - "prometheus-data:/prometheus"',
        "    ports:",
        '      - "127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"',
        '    restart: "no"',
        "",
        "volumes:",
        "  prometheus-data: {}",
        "",
        "secrets:",
        "  hf_token:",
        '    file: "${HF_TOKEN_FILE:-./secrets/hf_token}"',
    ]
    if settings.secrets.api_key is not None:
        lines += ["  tgi_api_key:", '    file: "${TGI_API_KEY_FILE:-./secrets/tgi_api_key}"']
    return "\n".join(lines) + "\n"


def write_compose(settings: Settings, path: Path = DEFAULT_COMPOSE_FILE) -> Path:
    """Render and write, creating the directory; returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_compose(settings), encoding="utf-8")
    return path
