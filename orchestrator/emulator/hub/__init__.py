"""A local Hugging Face Hub for tests, benchmarks and the emulator: a real HTTP server on loopback that
huggingface_hub 2.4 accepts as `HF_ENDPOINT` (see ../shared/reference/hub-protocol.md §11, followed here).

Contract (the lead-level one; tests, benchmarks and the emulator rely on it):

- **Start**: `with HubStandIn() as hub:` (free ports; `hub.url` for `HF_ENDPOINT`), the pytest fixture
  `hub_standin` (tests/fixtures/hub.py), or a process: `python -m orchestrator.emulator.hub --port 0` prints
  `hub stand-in ready at http://127.0.0.1:PORT (cdn http://127.0.0.1:PORT2)` on stdout and serves until
  SIGTERM / Ctrl-C. Set `HF_HUB_DISABLE_XET=1` or not: no `xetHash` is ever served.
- **Serves** `TheBloke/Mistral-7B-Instruct-v0.2-AWQ` on `main` (`mistral_awq_repo()`): its ten real file names,
  real `config.json` / `quant_config.json` / `generation_config.json` values, the real tokenizer, a small valid
  `model.safetensors` (LFS) — see `mistral.py` for what is real and what stands in.
- **Routes**: `GET /api/models/{repo}[/revision/{rev}][?blobs=true]` (model info: `sha`, `siblings`, `gated`),
  `GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=` (sizes, git oids, `lfs.oid` sha256; `Link` pages),
  `HEAD|GET /{repo}/resolve/{rev}/{path}` (200 with `ETag`, `X-Repo-Commit`, `Content-Length`; LFS files 302 to
  the CDN origin with `X-Linked-Etag` / `X-Linked-Size`), `GET {cdn}/cdn/{repo}/{sha256}`; `Range: bytes=N-[M]`
  → 206 + `Content-Range` everywhere a body is served.
- **Errors** as the Hub: unknown repo → `X-Error-Code: RepoNotFound` (401 anonymous, 404 with a token); gated
  repo without a granted token → `GatedRepo` (401 anonymous, 403 otherwise); unknown revision → 404
  `RevisionNotFound`; missing file → 404 `EntryNotFound` with `X-Repo-Commit`; a Bearer token the Hub does not
  know → 401 "Invalid credentials in Authorization header".
- **Add files / repos**: `repo.commit([RepoFile(path, content, lfs=...)], branch="main")` makes a new commit and
  moves the branch (content: bytes, a `Path`, or `Generated(size, seed)` for gigabytes made on the fly);
  `hub.add(HubRepo(...))`; `HubRepo(gated="manual", granted={token})`, `private=True`; `hub.tokens.add(token)`.
  `RepoFile(declared_size=..., declared_sha256=...)` makes the tree lie (disk-full tests, hashes that never match).
  Process form: `--token T`, `--gated manual --granted T`, `--add-file PATH=SIZE` (a generated LFS file),
  `--weights-size BYTES` (a generated `model.safetensors` of that size, for benchmarks).
- **Faults** (`Fault`, see `faults.py`): `hub.faults.add(Fault("cut", path="model.safetensors", at=N))` cuts the
  body after N bytes; `"stall"` pauses `seconds` at byte N; `"corrupt"` flips byte N; `"slow"` delays any
  matching request by `seconds`; `"rate"` caps a body at `bytes_per_second`; `"missing"` answers 404 EntryNotFound
  for a file the tree lists; `times` = how many requests it hits
  (None: all). Over HTTP: `POST {url}/_standin/faults` with the same fields as JSON (one or a list), `DELETE`
  clears. `hub.requests()` / `GET {url}/_standin/requests` list what was asked (method, path, Range, token, server).
"""

from __future__ import annotations

from orchestrator.emulator.hub.faults import Fault
from orchestrator.emulator.hub.mistral import MISTRAL_AWQ, mistral_awq_files, mistral_awq_repo
from orchestrator.emulator.hub.repo import Generated, HubRepo, RepoFile
from orchestrator.emulator.hub.standin import HubStandIn

__all__ = [
    "MISTRAL_AWQ",
    "Fault",
    "Generated",
    "HubRepo",
    "HubStandIn",
    "RepoFile",
    "mistral_awq_files",
    "mistral_awq_repo",
]
