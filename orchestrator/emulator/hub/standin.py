"""`HubStandIn`: the repositories, tokens, faults and request log behind the two HTTP listeners."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from orchestrator.emulator.hub.api import HubError
from orchestrator.emulator.hub.faults import FaultBook
from orchestrator.emulator.hub.mistral import mistral_awq_repo
from orchestrator.emulator.hub.repo import HubRepo, RepoFile
from orchestrator.emulator.hub.server import HubServer

__all__ = ["HubStandIn"]


class HubStandIn:
    """A local Hugging Face Hub on loopback: `url` for `HF_ENDPOINT`, LFS bodies from `cdn_url`.

    `tokens`: the tokens the Hub knows (any other Bearer token gets 401 "Invalid credentials"); a gated or
    private repository lets only its `granted` tokens download. `lfs_redirect=False` serves LFS bodies from
    the Hub origin itself. `page_size` bounds tree pages (the rest follows `Link: rel="next"`).
    """

    def __init__(
        self,
        repos: list[HubRepo] | None = None,
        *,
        tokens: set[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        lfs_redirect: bool = True,
        page_size: int = 1000,
    ) -> None:
        self.repos = {r.repo_id: r for r in (repos if repos is not None else [mistral_awq_repo()])}
        self.tokens = set(tokens or ())
        self.faults = FaultBook()
        self.page_size = page_size
        self._log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._hub = HubServer(host, port, self, "hub")
        self._cdn = HubServer(host, 0, self, "cdn") if lfs_redirect else None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._hub.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def cdn_url(self) -> str | None:
        if self._cdn is None:
            return None
        host, port = self._cdn.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HubStandIn:
        for server in (self._hub, self._cdn):
            if server is not None:
                thread = threading.Thread(target=server.serve_forever, name=f"hub-{server.role}", daemon=True)
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._hub, self._cdn):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    # -- repositories -----------------------------------------------------------------------------------
    def add(self, repo: HubRepo) -> HubRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def readable(self, repo_id: str, token: str | None) -> HubRepo:
        """The repository, or the Hub's RepoNotFound: 401 without a token, 404 with one (private too)."""
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and token not in repo.granted):
            message = "Repository not found"
            raise HubError(404 if token else 401, "RepoNotFound", message)
        return repo

    def check_gate(self, repo: HubRepo, token: str | None) -> None:
        if not repo.gated or token in repo.granted:
            return
        if token is None:
            message = (
                f"Access to model {repo.repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in."
            )
            raise HubError(401, "GatedRepo", message)
        message = (
            f"Access to model {repo.repo_id} is restricted and you are not in the authorized list. "
            f"Visit https://huggingface.co/{repo.repo_id} to ask for access."
        )
        raise HubError(403, "GatedRepo", message)

    def blob(self, sha256: str) -> RepoFile | None:
        for repo in self.repos.values():
            for files in repo.commits.values():
                for file in files.values():
                    if file.lfs and file.sha256 == sha256:
                        return file
        return None

    # -- request log -----------------------------------------------------------------------------------
    def note(self, method: str, path: str, byte_range: str | None, token: str | None, role: str) -> None:
        with self._lock:
            self._log.append(
                {"method": method, "path": path, "range": byte_range, "token": token, "server": role}
            )

    def requests(self) -> list[dict[str, Any]]:
        """Every request so far: method, path, Range, the Bearer token sent (None if none), hub or cdn."""
        with self._lock:
            return [dict(item) for item in self._log]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()
