"""TGI 3.3.x's front-end on the emulator core: its launcher flags, start-up and log lines, HTTP API and errors.

`flags` + `clap` + `config` (launcher arguments, clap's parsing, the launcher's checks), `startup` + `logs` +
`server` (milestone lines, process lifecycle), `app` (axum-like routing; `openapi.json` is TGI's spec), `schema` +
`jsonreader` (serde's reading of request bodies), `validation`, `errors`, `service` (the request pipeline),
`jobs` / `streaming` / `tokenize` / `openai_common` / `tools` (what the routes share) and `routes/` (one module per
group of routes, which never import one another), `metrics` (TGI's series).
"""
