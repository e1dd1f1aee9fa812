"""Mask secrets in text we show: container log lines, error messages, rendered commands.

TGI's launcher prints its whole argument struct at start-up (`Args { ..., api_key: Some("..."), ... }`), and
the API key reaches it through `API_KEY`, so the key is in TGI's own log. Anything that displays container logs
must pass each line through `redact` with the deployment's secret values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import SecretStr

__all__ = ["MASK", "redact"]

MASK = "***"

# `api_key: Some("...")` in text logs, `api_key: Some(\"...\")` inside JSON logs; same for the ngrok token.
_ARGS_FIELD = re.compile(r'((?:api_key|ngrok_authtoken): Some\()(\\?")(.*?)(\2\))')


def redact(line: str, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """`line` with every known secret value, and the secret fields of TGI's `Args` line, replaced by `***`."""
    values = []
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value:
            values.append(value)
    for value in sorted(values, key=len, reverse=True):  # longest first: one secret may contain another
        line = line.replace(value, MASK)
    return _ARGS_FIELD.sub(lambda m: f"{m[1]}{m[2]}{MASK}{m[4]}", line)
