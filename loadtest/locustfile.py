"""Load-test a TGI server: `locust -f loadtest/locustfile.py --host http://127.0.0.1:8080`.

Runs the weighted mix of every TGI user (generate 1, stream 2, chat 2, client 1). Name classes to pick
(`... StreamUser`), or use a one-scenario file from `loadtest/scenarios/`. Our options (`--rate`, `--arrival`,
`--input-tokens`, `--output-tokens`, `--requests`, `--prompts-file`, `--shape`, `--slo ...`, `--max-error-rate`,
`--report-dir`) are listed in docs/loadtest.md (Locust's own `--help` prints before it reads a locustfile, so it
lists only Locust's). The logic lives in `orchestrator.load`.
"""

from orchestrator.load.locustfile import *  # noqa: F403 - users and the plug-in's listeners
