"""`redact`: secret values and TGI's `Args { api_key: Some(...) }` start-up line are masked."""

from __future__ import annotations

from pydantic import SecretStr

from orchestrator.redact import MASK, redact


def test_known_secret_values_are_masked_everywhere_in_a_line() -> None:
    line = "token hf_abc used; again hf_abc and sk-1"
    assert (
        redact(line, ["hf_abc", SecretStr("sk-1"), None, ""]) == f"token {MASK} used; again {MASK} and {MASK}"
    )


def test_longest_secret_wins_when_one_contains_another() -> None:
    assert redact("key=abcdef", ["abc", "abcdef"]) == f"key={MASK}"


def test_tgi_args_line_is_masked_even_without_knowing_the_key() -> None:
    text = 'Args { model_id: "m", api_key: Some("s3cret"), ngrok_authtoken: Some("tok"), port: 80 }'
    assert (
        redact(text)
        == f'Args {{ model_id: "m", api_key: Some("{MASK}"), ngrok_authtoken: Some("{MASK}"), port: 80 }}'
    )


def test_tgi_json_log_args_are_masked() -> None:
    text = '{"fields":{"message":"Args { api_key: Some(\\"s3cret\\"), hostname: \\"0.0.0.0\\" }"}}'
    out = redact(text)
    assert "s3cret" not in out
    assert f'api_key: Some(\\"{MASK}\\")' in out
    assert 'hostname: \\"0.0.0.0\\"' in out


def test_lines_without_secrets_are_unchanged() -> None:
    line = 'Args { api_key: None, model_id: "TheBloke/Mistral-7B-Instruct-v0.2-AWQ" }'
    assert redact(line, ["zzz"]) == line
