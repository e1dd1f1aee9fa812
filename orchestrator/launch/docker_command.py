"""Render a `LaunchPlan` as the equivalent, copy-pasteable `docker run` command (for `up --dry-run`).

Every argument goes through `shlex.quote`; one option per line, joined with `\\` continuations. Secret values
never appear: secrets travel as files, so the command only mounts them, and a comment above it (masked)
says which files to write first. Plan warnings are printed as `# warning:` comments, harmless when pasted.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from orchestrator.launch import paths
from orchestrator.launch.plan import GpuRequest, LaunchPlan

__all__ = ["MASK", "docker_run_argv", "render_docker_run"]

MASK = "***"


def render_docker_run(plan: LaunchPlan, *, secrets_dir: Path | None = None) -> str:
    """The `docker run` command for `plan`, preceded by comment lines for warnings and secret files."""
    directory = secrets_dir or paths.secrets_dir(plan.container_name)
    comments = [f"# warning: {warning}" for warning in plan.warnings]
    if plan.secret_files:
        comments.append(
            f"# Secrets are not shown. Before running, write each to its file (mode 0600) in {directory}:"
        )
        comments += [
            f"#   {secret.name}: {MASK}" + (f" (exported as {secret.env_var})" if secret.env_var else "")
            for secret in plan.secret_files
        ]
    groups = _groups(plan, directory)
    command = " \\\n  ".join(" ".join(_quote(arg) for arg in group) for group in groups)
    return "\n".join([*comments, command])


def docker_run_argv(plan: LaunchPlan, *, secrets_dir: Path | None = None) -> list[str]:
    """The same command as an argument list (what `shlex.split` gives back from `render_docker_run`)."""
    directory = secrets_dir or paths.secrets_dir(plan.container_name)
    return [arg for group in _groups(plan, directory) for arg in group]


def _groups(plan: LaunchPlan, secrets_dir: Path) -> list[list[str]]:
    groups: list[list[str]] = [["docker", "run", "--detach"], ["--name", plan.container_name]]
    groups += [["--gpus", _gpus_value(request)] for request in plan.device_requests]
    groups.append(["--shm-size", plan.shm_size])
    for container_port, (address, host_port) in plan.port_bindings.items():
        host = f"[{address}]" if ":" in address else address
        groups.append(["-p", f"{host}:{host_port}:{container_port.removesuffix('/tcp')}"])
    for mount in plan.mounts:
        groups.append(["-v", f"{mount.source}:{mount.target}" + (":ro" if mount.read_only else "")])
    for secret in plan.secret_files:
        groups.append(["-v", f"{secrets_dir / secret.name}:{secret.target}:ro"])
    groups += [["-e", f"{key}={value}"] for key, value in plan.environment.items()]
    groups += [["--label", f"{key}={value}"] for key, value in sorted(plan.labels.items())]
    groups.append(["--stop-timeout", str(plan.stop_timeout)])
    groups += _health(plan)
    tail = list(plan.command)
    if plan.entrypoint:
        groups.append(["--entrypoint", plan.entrypoint[0]])
        groups.append([plan.image])
        groups.append(list(plan.entrypoint[1:]))
    else:
        groups.append([plan.image])
    groups += _pairs(tail)
    return [group for group in groups if group]


def _quote(arg: str) -> str:
    """`shlex.quote`, except that an argument holding single quotes (and nothing a shell expands inside double
    quotes) is wrapped in double quotes, which reads far better than `'"'"'` chains."""
    if "'" in arg and not any(c in arg for c in '"$`\\!'):
        return f'"{arg}"'
    return shlex.quote(arg)


def _gpus_value(request: GpuRequest) -> str:
    if request.device_ids:
        return f'"device={",".join(request.device_ids)}"'  # docker's CSV parsing needs the inner quotes
    if request.count is None or request.count < 0:
        return "all"
    return str(request.count)


def _health(plan: LaunchPlan) -> list[list[str]]:
    check = plan.healthcheck
    kind, *rest = check.test
    if kind == "NONE":
        return [["--no-healthcheck"]]
    command = shlex.join(rest) if kind == "CMD" else " ".join(rest)
    return [
        ["--health-cmd", command],
        [
            "--health-interval",
            f"{check.interval:g}s",
            "--health-timeout",
            f"{check.timeout:g}s",
            "--health-start-period",
            f"{check.start_period:g}s",
            "--health-retries",
            str(check.retries),
        ],
    ]


def _pairs(args: list[str]) -> list[list[str]]:
    """Launcher args one option per line: a flag with its value, switches alone."""
    groups: list[list[str]] = []
    for arg in args:
        if groups and groups[-1][0].startswith("-") and len(groups[-1]) == 1 and not arg.startswith("-"):
            groups[-1].append(arg)
        else:
            groups.append([arg])
    return groups
