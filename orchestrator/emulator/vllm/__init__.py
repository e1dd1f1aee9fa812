"""vLLM 0.33.0's OpenAI-compatible server on the emulator core: `vllm serve` arguments, start-up, API, shutdown.

`cli` (argparse, as `vllm serve` parses) + `config` (defaults and start-up checks), `logs` + `startup` + `server`
(log lines, the bound-not-listening port, SIGTERM drain or abort), `app` (routing, API key, bodies), `sampling`
(request fields and their checks), `routes/` (completions, chat, tokenize: one module per group) and what they share: `prompts`,
`pipeline`, `streaming`, `render`, `service`, `errors`, `metrics` (`vllm:` series). Nothing here imports the TGI
front-end; both build on `emulator/core/`.
"""
