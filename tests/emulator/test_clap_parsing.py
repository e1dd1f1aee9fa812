"""Flags and env vars go through one clap-like parser: TGI's types, clap 4's error text, exit 2, nothing started."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchestrator.emulator.tgi.clap import ClapExit, jaro
from orchestrator.emulator.tgi.flags import parse_flags
from tests.fixtures.emulator import free_port

_QUANT = ("awq, compressed-tensors, eetq, exl2, gptq, marlin, bitsandbytes, bitsandbytes-nf4, bitsandbytes-fp4, "
          "fp8")  # fmt: skip
_TRY = "\n\nFor more information, try '--help'.\n"
_USAGE = "\n\nUsage: text-generation-launcher [OPTIONS]"


def _launch(args: list[str], env: dict[str, str], port: bool = True) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    port_args = ["--port", str(free_port())] if port else []
    return subprocess.run([sys.executable, "-m", "orchestrator.emulator", *port_args, *args],
                          capture_output=True, text=True, timeout=30, env=full)  # fmt: skip


ENUM_CASES = [
    ("quantize", "QUANTIZE", _QUANT),
    ("usage-stats", "USAGE_STATS", "on, off, no-stack"),
    ("rope-scaling", "ROPE_SCALING", "linear, dynamic"),
    ("kv-cache-dtype", "KV_CACHE_DTYPE", "fp8_e4m3fn, fp8_e5m2"),
    ("sharded", "SHARDED", "true, false"),
]


@pytest.mark.parametrize(("flag", "env", "possible"), ENUM_CASES)
def test_bad_enum_value_from_env_or_flag_is_clap_error(flag: str, env: str, possible: str) -> None:
    expected = f"error: invalid value 'bogus' for '--{flag} <{env}>'\n  [possible values: {possible}]" + _TRY
    from_env = _launch([], {env: "bogus"})
    from_flag = _launch([f"--{flag}", "bogus"], {})
    for result in (from_env, from_flag):
        assert result.returncode == 2
        assert result.stderr == expected
        assert result.stdout == ""  # nothing started: not even the Args line


NUMBER_CASES = [
    ("port", "PORT", "99999", "99999 is not in 0..=65535"),
    ("port", "PORT", "abc", "invalid digit found in string"),
    ("port", "PORT", "-1", "-1 is not in 0..=65535"),
    ("prometheus-port", "PROMETHEUS_PORT", "70000", "70000 is not in 0..=65535"),
    ("max-total-tokens", "MAX_TOTAL_TOKENS", "abc", "invalid digit found in string"),
    ("max-total-tokens", "MAX_TOTAL_TOKENS", "-5", "invalid digit found in string"),
    (
        "max-total-tokens",
        "MAX_TOTAL_TOKENS",
        "99999999999999999999",
        "number too large to fit in target type",
    ),
    (
        "max-batch-prefill-tokens",
        "MAX_BATCH_PREFILL_TOKENS",
        "4294967296",
        "4294967296 is not in 0..=4294967295",
    ),
    ("max-top-n-tokens", "MAX_TOP_N_TOKENS", "", "cannot parse integer from empty string"),
    ("graceful-termination-timeout", "GRACEFUL_TERMINATION_TIMEOUT", "-3", "invalid digit found in string"),
    ("waiting-served-ratio", "WAITING_SERVED_RATIO", "1_0", "invalid float literal"),
    ("cuda-graphs", "CUDA_GRAPHS", "1,two", None),
]


@pytest.mark.parametrize(("flag", "env", "value", "reason"), NUMBER_CASES)
def test_typed_numbers_fail_like_clap(flag: str, env: str, value: str, reason: str | None) -> None:
    for source in ({"environ": {env: value}, "argv": []}, {"environ": {}, "argv": [f"--{flag}={value}"]}):
        with pytest.raises(ClapExit) as info:
            parse_flags(source["argv"], source["environ"])  # type: ignore[arg-type]
        assert info.value.code == 2
        bad = "two" if reason is None else value
        why = reason or "invalid digit found in string"
        assert info.value.text == f"error: invalid value '{bad}' for '--{flag} <{env}>': {why}" + _TRY


def test_port_out_of_range_never_listens() -> None:
    result = _launch(["--port", "99999"], {}, port=False)
    assert result.returncode == 2 and "99999 is not in 0..=65535" in result.stderr
    assert "Connected" not in result.stdout


def test_switches_take_true_or_false_from_env_only() -> None:
    assert parse_flags([], {"JSON_OUTPUT": "true"})["json_output"] is True
    assert parse_flags([], {"JSON_OUTPUT": "false"})["json_output"] is False
    with pytest.raises(ClapExit) as info:
        parse_flags([], {"TRUST_REMOTE_CODE": "1"})
    assert info.value.text == ("error: invalid value '1' for '--trust-remote-code'\n  [possible values: true, false]"
                               + _TRY)  # fmt: skip
    with pytest.raises(ClapExit) as attached:
        parse_flags(["--json-output=true"], {})
    assert attached.value.text.startswith(
        "error: unexpected value 'true' for '--json-output' found; no more were"
    )


def test_usage_errors_show_the_usage_line_and_tips() -> None:
    cases = {
        (
            "--prot",
            "80",
        ): "error: unexpected argument '--prot' found\n\n  tip: a similar argument exists: '--port'"
        + _USAGE
        + _TRY,
        ("--port", "1", "--port", "2"): "error: the argument '--port <PORT>' cannot be used multiple times"
        + _USAGE
        + _TRY,
        (
            "--quantize",
            "awk",
        ): f"error: invalid value 'awk' for '--quantize <QUANTIZE>'\n  [possible values: {_QUANT}]"
        "\n\n  tip: a similar value exists: 'awq'" + _TRY,
        ("--port",): "error: a value is required for '--port <PORT>' but none was supplied" + _TRY,
    }
    for argv, text in cases.items():
        with pytest.raises(ClapExit) as info:
            parse_flags(list(argv), {})
        assert (info.value.code, info.value.text) == (2, text)


def test_flags_win_over_env_and_env_is_typed() -> None:
    values = parse_flags(["--port", "81"], {"PORT": "abc", "MAX_TOTAL_TOKENS": "2048", "SHARDED": "false"})
    assert (values["port"], values["max_total_tokens"], values["sharded"]) == (81, 2048, False)
    assert parse_flags([], {"CUDA_GRAPHS": "1,2,4"})["cuda_graphs"] == [1, 2, 4]


def test_help_and_version_exit_0() -> None:
    with pytest.raises(ClapExit) as version:
        parse_flags(["--version"], {})
    assert (version.value.code, version.value.text) == (0, "text-generation-launcher 3.3.6-dev0\n")
    with pytest.raises(ClapExit) as usage:
        parse_flags(["-h"], {})
    assert usage.value.code == 0 and "--max-total-tokens <MAX_TOTAL_TOKENS>" in usage.value.text


def test_jaro_matches_strsim() -> None:
    assert jaro("", "") == 1.0 and jaro("a", "") == 0.0
    assert round(jaro("martha", "marhta"), 4) == 0.9444  # strsim's documented example
    assert round(jaro("dixon", "dicksonx"), 4) == 0.7667
