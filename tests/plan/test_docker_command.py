"""`render_docker_run`: parsed back with `shlex.split` as a shell would, and accepted by the real docker CLI."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.launch.docker_command import docker_run_argv, render_docker_run
from orchestrator.launch.plan import LaunchPlan, build_plan
from tests.fixtures.docker_engine import require_or_skip
from tests.fixtures.emulator import free_port
from tests.plan.helpers import settings

pytestmark = pytest.mark.usefixtures("isolated")

HF, KEY = "hf_DRYRUNSECRET", "sk-DRYRUNSECRET"


def shell_words(text: str) -> list[str]:
    """What bash runs when `text` is pasted: comment lines dropped, `\\`-newline joins lines."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return shlex.split("\n".join(lines).replace("\\\n", ""))


def option(words: list[str], name: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words) if word == name]


def test_pinned_plan_renders_a_command_with_awq_the_limits_and_host_options(isolated: Path) -> None:
    plan = build_plan(settings(host__cache_dir="cache"))
    text = render_docker_run(plan)
    words = shell_words(text)
    assert words == docker_run_argv(plan)
    assert words[:3] == ["docker", "run", "--detach"]
    image_at = words.index("ghcr.io/huggingface/text-generation-inference:3.3.7")
    launcher = words[image_at + 1 :]
    assert launcher == plan.command
    assert option(launcher, "--quantize") == ["awq"]
    assert option(launcher, "--max-input-tokens") == ["3696"]
    assert option(launcher, "--max-total-tokens") == ["4096"]
    assert option(launcher, "--max-batch-prefill-tokens") == ["4096"]
    docker_opts = words[:image_at]
    assert option(docker_opts, "--shm-size") == ["1g"]
    assert option(docker_opts, "-p") == ["127.0.0.1:8080:80"]
    assert option(docker_opts, "--gpus") == ["all"]
    assert option(docker_opts, "-v") == [f"{isolated / 'cache'}:/data"]
    assert option(docker_opts, "-e") == ["HF_HOME=/data"]
    assert option(docker_opts, "--stop-timeout") == ["120"]
    assert option(docker_opts, "--name") == ["tgi-mistral"]
    assert f"org.tgi-orchestrator.settings-hash={plan.settings_hash}" in option(docker_opts, "--label")
    assert "--entrypoint" not in docker_opts
    assert option(docker_opts, "--health-cmd") == plan.healthcheck.test[1:]
    assert text.startswith("# warning: host.gpus=all but the GPU count is unknown")


def test_secrets_are_mounted_from_files_and_masked(isolated: Path) -> None:
    plan = build_plan(settings(secrets__hf_token=HF, secrets__api_key=KEY, host__gpus="0,1"))
    text = render_docker_run(plan, secrets_dir=Path("/srv/secrets"))
    assert "DRYRUNSECRET" not in text
    assert "#   hf-token: *** (exported as HF_TOKEN)" in text
    assert "#   tgi-api-key: *** (exported as API_KEY)" in text
    words = shell_words(text)
    assert option(words, "-v")[1:] == [
        "/srv/secrets/hf-token:/data/token:ro",
        "/srv/secrets/tgi-api-key:/run/secrets/tgi-api-key:ro",
    ]
    assert option(words, "--gpus") == ['"device=0,1"']  # docker's own CSV quoting for several devices
    assert option(words, "--entrypoint") == ["/bin/sh"]
    assert plan.entrypoint is not None
    image_at = words.index(plan.image)
    assert words[image_at + 1 : image_at + 4] == plan.entrypoint[1:]
    assert words[image_at + 4 :] == plan.command
    assert not any(w.startswith(("HF_TOKEN=", "API_KEY=")) for w in option(words, "-e"))


def test_secret_files_default_to_the_runtime_secrets_directory(isolated: Path) -> None:
    text = render_docker_run(build_plan(settings(secrets__api_key=KEY, host__container_name="tgi-x")))
    expected = isolated / "xdg-cache" / "tgi-orchestrator" / "secrets" / "tgi-x" / "tgi-api-key"
    assert f"{expected}:/run/secrets/tgi-api-key:ro" in shell_words(text)


def test_secrets_directory_rule(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    """`$XDG_CACHE_HOME`, else `~/.cache`; the runtime (which writes the files) uses this very rule."""
    from orchestrator.launch import paths
    from orchestrator.runtime import containers as runtime

    assert runtime.secrets_dir is paths.secrets_dir  # the dry run names the files `up` writes
    assert paths.secrets_dir("a") == isolated / "xdg-cache/tgi-orchestrator/secrets/a"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(isolated / "home"))
    assert paths.secrets_dir("b") == isolated / "home/.cache/tgi-orchestrator/secrets/b"


def test_odd_values_survive_quoting(isolated: Path) -> None:
    odd_dir = isolated / "dir with spaces & $dollar 'quote'"
    plan = build_plan(
        settings(
            host__cache_dir=str(odd_dir), engine__extra_args=["--cors-allow-origin", "https://a.b; rm -rf /"]
        )
    )
    words = shell_words(render_docker_run(plan))
    assert f"{odd_dir}:/data" in words
    assert words[-2:] == ["--cors-allow-origin", "https://a.b; rm -rf /"]


def test_no_gpu_plan_renders_without_gpus_flag() -> None:
    plan = build_plan(settings(host__gpus="none", host__bind_address="::1"))
    words = shell_words(render_docker_run(plan))
    assert "--gpus" not in words
    assert option(words, "-p") == ["[::1]:8080:80"]


@pytest.mark.docker
def test_real_docker_cli_accepts_the_command_and_inspect_shows_no_secret(
    docker_client: Any, isolated: Path
) -> None:
    """`docker create` with the rendered options (a local image stands in for TGI's): the engine stores
    exactly what the plan says, and `docker inspect` holds neither secret."""
    image = "tgi-orchestrator/base:bookworm"
    if shutil.which("docker") is None:
        require_or_skip("the docker CLI is not installed")
    try:
        docker_client.images.get(image)
    except Exception:
        require_or_skip(f"image {image} is not built: run .ci/make-base-image.sh")
    name = f"tgi-orch-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    plan = build_plan(
        settings(
            engine__image=image,
            engine__tgi_version="3.3.7",
            host__gpus="none",  # no NVIDIA runtime here; --gpus is covered by the parsing tests
            host__container_name=name,
            host__port=port,
            host__cache_dir="cache",
            secrets__hf_token=HF,
            secrets__api_key=KEY,
        )
    )
    words = shell_words(render_docker_run(plan, secrets_dir=isolated / "secrets"))
    assert words[:3] == ["docker", "run", "--detach"]
    create = ["docker", "create", *words[3:]]
    done = subprocess.run(create, capture_output=True, text=True, timeout=60)
    try:
        assert done.returncode == 0, done.stderr
        raw = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout
        assert "DRYRUNSECRET" not in raw
        (info,) = json.loads(raw)
        _assert_matches_plan(info, plan, isolated, port)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)


def _assert_matches_plan(info: dict[str, Any], plan: LaunchPlan, isolated: Path, port: int) -> None:
    config, host = info["Config"], info["HostConfig"]
    assert config["Entrypoint"] == plan.entrypoint[:1] if plan.entrypoint else None
    assert config["Cmd"] == [*(plan.entrypoint or [])[1:], *plan.command]
    assert "HF_HOME=/data" in config["Env"]
    assert not [e for e in config["Env"] if e.startswith(("HF_TOKEN", "API_KEY", "HUGGING_FACE_HUB_TOKEN"))]
    assert {k: v for k, v in config["Labels"].items() if k.startswith("org.tgi-orchestrator")} == plan.labels
    assert config["StopTimeout"] == 120
    assert config["Healthcheck"]["Test"][0] == "CMD-SHELL"
    assert config["Healthcheck"]["Retries"] == 3
    assert host["ShmSize"] == 1024**3
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert sorted(host["Binds"]) == sorted(
        [
            f"{isolated / 'cache'}:/data",
            f"{isolated / 'secrets' / 'hf-token'}:/data/token:ro",
            f"{isolated / 'secrets' / 'tgi-api-key'}:/run/secrets/tgi-api-key:ro",
        ]
    )


_FAKE_ENTRYPOINT = """#!/bin/sh
# Stands in for TGI's entrypoint: reports which secrets arrived (as short digests) and its arguments.
digest() { printf %s "$1" | sha256sum | cut -c1-16; }
echo "hf=$(digest "${HF_TOKEN:-$HUGGING_FACE_HUB_TOKEN}") key=$(digest "$API_KEY") token_file=$(digest "$(cat "$TOKEN_FILE")")"
echo "args=$*"
"""


@pytest.fixture(scope="module")
def fake_tgi_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tiny image with TGI's entrypoint layout (`/tgi-entrypoint.sh`, `text-generation-launcher` on PATH)."""
    base = "tgi-orchestrator/base:bookworm"
    try:
        docker_client.images.get(base)
    except Exception:
        require_or_skip(f"image {base} is not built: run .ci/make-base-image.sh")
    context = tmp_path_factory.mktemp("fake-tgi")
    (context / "entry.sh").write_text(_FAKE_ENTRYPOINT)
    (context / "Dockerfile").write_text(
        f"FROM {base}\nCOPY entry.sh /tgi-entrypoint.sh\nRUN chmod 755 /tgi-entrypoint.sh && "
        "ln -s /tgi-entrypoint.sh /usr/local/bin/text-generation-launcher\n"
    )
    tag = f"tgi-orchestrator/test-fake-tgi:{uuid.uuid4().hex[:8]}"
    built = subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


@pytest.mark.docker
@pytest.mark.parametrize("version", ["1.4.5", "3.3.7"])
def test_secrets_reach_the_launcher_in_a_real_container(
    fake_tgi_image: str, isolated: Path, version: str
) -> None:
    """Run the rendered command: the wrapper reads the mounted files, exports the variables, execs the image's
    own entrypoint with the launcher args; `docker inspect` shows neither secret."""
    import hashlib

    name = f"tgi-orch-test-{uuid.uuid4().hex[:8]}"
    with_key = version >= "2.3"
    plan = build_plan(
        settings(
            engine__image=fake_tgi_image,
            engine__tgi_version=version,
            host__gpus="none",
            host__container_name=name,
            host__port=free_port(),
            host__cache_dir="cache",
            secrets__hf_token=HF,
            **({"secrets__api_key": KEY} if with_key else {}),
        )
    )
    secrets_dir = isolated / "secrets"
    secrets_dir.mkdir()
    for secret in plan.secret_files:
        (secrets_dir / secret.name).write_text(secret.value.get_secret_value())
        (secrets_dir / secret.name).chmod(0o600)
    token_file = plan.secret_files[0].target
    words = shell_words(render_docker_run(plan, secrets_dir=secrets_dir))
    words.insert(words.index(fake_tgi_image), f"--env=TOKEN_FILE={token_file}")
    try:
        started = subprocess.run(words, capture_output=True, text=True, timeout=60)
        assert started.returncode == 0, started.stderr
        waited = subprocess.run(["docker", "wait", name], capture_output=True, text=True, timeout=60)
        assert waited.stdout.strip() == "0"
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=True).stdout
        raw = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)

    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    first, second = logs.splitlines()[:2]
    assert first == f"hf={digest(HF)} key={digest(KEY if with_key else '')} token_file={digest(HF)}"
    assert second == "args=" + " ".join(plan.command)
    assert "DRYRUNSECRET" not in raw
