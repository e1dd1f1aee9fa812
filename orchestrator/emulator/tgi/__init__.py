"""TGI 3.3.x's front-end on the emulator core: its launcher flags, start-up and log lines, HTTP API and errors.

`flags` + `clap` + `config` (launcher arguments, clap's parsing, the launcher's checks), `startup` + `logs` +
`server` (milestone lines, process lifecycle), `app` (axum-like routing; `openapi.json` is TGI's spec), `schema` +
`jsonreader` (serde's reading of request bodies), `validation`, `errors`, `service` (the request pipeline),
`rounds` (v3's 1024-token rounds), `metrics` (TGI's series), `routes/` (one module per group of routes, which
never import one another) and what the routes share: `jobs`, `streaming`, `tokenize`, `openai_common`, `tools`.
"""
