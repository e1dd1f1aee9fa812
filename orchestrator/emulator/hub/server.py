"""The Hub stand-in's HTTP side: a threaded stdlib server for the Hub, and a second one, on another origin, for
the CDN that LFS downloads are redirected to (as the real Hub sends them to its CDN).

Headers as huggingface_hub 2.4 reads them: `X-Repo-Commit`, `ETag` (git blob id) or, on the LFS redirect,
`X-Linked-Etag` (sha256) and `X-Linked-Size`, `Content-Length`, `Location`; `Range: bytes=N-[M]` answered 206
with `Content-Range`. Errors carry `X-Error-Code` and `X-Error-Message` and a JSON `{"error": ...}` body.
"""

from __future__ import annotations

import json
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from orchestrator.emulator.hub.api import HubError, model_info, tree_entries
from orchestrator.emulator.hub.faults import Fault, FaultBook
from orchestrator.emulator.hub.repo import HubRepo, RepoFile, read_range

__all__ = ["Backend", "HubServer"]

INVALID_TOKEN = "Invalid credentials in Authorization header"


class Backend(Protocol):
    """What the listeners ask of `HubStandIn`."""

    tokens: set[str]
    faults: FaultBook
    page_size: int

    @property
    def url(self) -> str: ...
    @property
    def cdn_url(self) -> str | None: ...
    def note(self, method: str, path: str, byte_range: str | None, token: str | None, role: str) -> None: ...
    def readable(self, repo_id: str, token: str | None) -> HubRepo: ...
    def check_gate(self, repo: HubRepo, token: str | None) -> None: ...
    def blob(self, sha256: str) -> RepoFile | None: ...
    def requests(self) -> list[dict[str, Any]]: ...
    def clear_requests(self) -> None: ...


class HubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, standin: Backend, role: str) -> None:
        self.standin = standin
        self.role = role
        super().__init__((host, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_POST(self) -> None:
        self._control()

    def do_DELETE(self) -> None:
        self._control()

    # -- dispatch ------------------------------------------------------------------------------------
    def _answer(self, *, body: bool) -> None:
        standin = self.server.standin
        url = urlsplit(self.path)
        parts = url.path.split("/")[1:]
        token = self._token()
        if parts[:1] == ["_standin"]:
            return self._control()
        standin.note(self.command, url.path, self.headers.get("Range"), token, self.server.role)
        try:
            if self.server.role == "cdn":
                self._slow(unquote(parts[-1]))
                return self._cdn(parts, body=body)
            if token is not None and token not in standin.tokens:
                raise HubError(401, None, INVALID_TOKEN)
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                self._slow(url.path)
                return self._api(parts[2:], parse_qs(url.query), token)
            if len(parts) >= 5 and parts[2] == "resolve":
                self._slow(unquote("/".join(parts[4:])))
                return self._resolve(parts, token, body=body)
            raise HubError(404, None, "Sorry, we can't find the page you are looking for.")
        except HubError as error:
            self._error(error, body=body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _token(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None

    def _slow(self, path: str) -> None:
        for fault in self.server.standin.faults.take({"slow"}, path):
            time.sleep(fault.seconds)

    # -- Hub API ------------------------------------------------------------------------------------
    def _api(self, parts: list[str], query: dict[str, list[str]], token: str | None) -> None:
        repo_id = "/".join(unquote(p) for p in parts[:2])
        repo = self.server.standin.readable(repo_id, token)
        rest = parts[2:]
        if not rest or rest[0] == "revision":
            revision = unquote(rest[1]) if len(rest) > 1 else "main"
            sha = self._commit(repo.repo_id, repo.resolve(revision), revision)
            blobs = query.get("blobs", ["false"])[0].lower() == "true"
            return self._json(model_info(repo, sha, blobs=blobs))
        if rest[0] == "tree" and len(rest) >= 2:
            revision = unquote(rest[1])
            sha = self._commit(repo.repo_id, repo.resolve(revision), revision)
            under = unquote("/".join(rest[2:])).strip("/")
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            entries = tree_entries(repo, sha, under, recursive=recursive)
            if entries is None:
                raise HubError(404, "EntryNotFound", f'{under} does not exist on "{revision}"', sha)
            return self._tree_page(entries, query)
        raise HubError(404, None, "Sorry, we can't find the page you are looking for.")

    def _tree_page(self, entries: list[dict[str, Any]], query: dict[str, list[str]]) -> None:
        size = self.server.standin.page_size
        start = int(query.get("cursor", ["0"])[0])
        headers: dict[str, str] = {}
        if start + size < len(entries):
            url = urlsplit(self.path)
            kept = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "cursor")
            nxt = f"{self.server.standin.url}{url.path}?{kept}&cursor={start + size}".replace("?&", "?")
            headers["Link"] = f'<{nxt}>; rel="next"'
        self._json(entries[start : start + size], headers)

    @staticmethod
    def _commit(repo_id: str, sha: str | None, revision: str) -> str:
        if sha is None:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return sha

    # -- downloads ------------------------------------------------------------------------------------
    def _resolve(self, parts: list[str], token: str | None, *, body: bool) -> None:
        standin = self.server.standin
        repo_id = "/".join(unquote(p) for p in parts[:2])
        revision, path = unquote(parts[3]), unquote("/".join(parts[4:]))
        repo = standin.readable(repo_id, token)
        sha = self._commit(repo.repo_id, repo.resolve(revision), revision)
        standin.check_gate(repo, token)
        file = repo.commits[sha].get(path)
        if file is None or standin.faults.take({"missing"}, path):
            raise HubError(404, "EntryNotFound", f'{path} does not exist on "{revision}"', sha)
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes", "Vary": "Origin, Accept-Encoding"}
        if file.lfs and standin.cdn_url:
            location = f"{standin.cdn_url}/cdn/{quote(repo.repo_id)}/{file.sha256}"
            text = f"Found. Redirecting to {location}".encode()
            headers.update(
                {
                    "Location": location,
                    "ETag": f'"{file.oid}"',
                    "X-Linked-Etag": f'"{file.sha256}"',
                    "X-Linked-Size": str(file.size),
                    "Content-Type": "text/plain; charset=utf-8",
                    "Content-Length": str(len(text)),
                }
            )
            self._head(302, headers)
            if body:
                self.wfile.write(text)
            return
        headers["ETag"] = f'"{file.etag}"'
        self._file(file, headers, body=body)

    def _cdn(self, parts: list[str], *, body: bool) -> None:
        sha256 = unquote(parts[-1])
        file = self.server.standin.blob(sha256)
        if file is None:
            raise HubError(404, None, "NoSuchKey")
        self._file(file, {"ETag": f'"{sha256}"', "Accept-Ranges": "bytes"}, body=body)

    def _file(self, file: RepoFile, headers: dict[str, str], *, body: bool) -> None:
        size = file.actual_size
        start, end, status = 0, size, 200
        wanted = self.headers.get("Range")
        if wanted:
            start, end = _parse_range(wanted, size)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        name = file.path.rpartition("/")[2]
        headers.update(
            {
                "Content-Length": str(end - start),
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
            }
        )
        self._head(status, headers)
        if body:
            self._send(file, start, end)

    def _send(self, file: RepoFile, start: int, end: int) -> None:
        faults = self.server.standin.faults
        events = [f for f in faults.take({"stall", "cut", "corrupt"}, file.path) if start <= f.at < end]
        rates = faults.take({"rate"}, file.path)
        chunk = 64 * 1024 if rates else 1 << 20
        position = start
        began = time.monotonic()
        for piece in read_range(file.content, start, end, chunk):
            for fault in sorted(
                (f for f in events if position <= f.at < position + len(piece)), key=lambda f: f.at
            ):
                cut = fault.at - position
                if fault.kind == "corrupt":
                    data = bytearray(piece)
                    data[cut] ^= 0xFF
                    piece = bytes(data)
                    continue
                self.wfile.write(piece[:cut])
                piece, position = piece[cut:], fault.at
                if fault.kind == "stall":
                    time.sleep(fault.seconds)
                else:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
            self.wfile.write(piece)
            position += len(piece)
            for rate in rates:
                ahead = (position - start) / rate.bytes_per_second - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)

    # -- plumbing ------------------------------------------------------------------------------------
    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("X-Request-Id", f"Root=1-{time.time_ns():x}")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _json(self, value: Any, headers: dict[str, str] | None = None, status: int = 200) -> None:
        data = json.dumps(value).encode()
        self._head(
            status,
            {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": str(len(data)),
                **(headers or {}),
            },
        )
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, error: HubError, *, body: bool) -> None:
        data = json.dumps({"error": error.message}).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(data)),
            "X-Error-Message": error.message,
        }
        if error.code:
            headers["X-Error-Code"] = error.code
        if error.commit:
            headers["X-Repo-Commit"] = error.commit
        self._head(error.status, headers)
        if body:
            self.wfile.write(data)

    def _control(self) -> None:
        """`/_standin/faults` (GET lists, POST adds one or a list, DELETE clears) and `/_standin/requests`."""
        standin = self.server.standin
        what = urlsplit(self.path).path.rstrip("/").rpartition("/")[2]
        length = int(self.headers.get("Content-Length") or 0)
        sent: Any = json.loads(self.rfile.read(length) or b"null") if length else None
        if what == "faults" and self.command == "POST":
            for item in sent if isinstance(sent, list) else [sent]:
                standin.faults.add(Fault(**dict(item)))
        elif what == "faults" and self.command == "DELETE":
            standin.faults.clear()
        elif what == "requests" and self.command == "DELETE":
            standin.clear_requests()
        if what == "faults":
            return self._json([f.to_json() for f in standin.faults.listed()])
        if what == "requests":
            return self._json(standin.requests())
        self._error(HubError(404, None, "no such control route"), body=self.command != "HEAD")


def _parse_range(text: str, size: int) -> tuple[int, int]:
    unit, _, span = text.partition("=")
    first, _, last = span.partition("-")
    try:
        start = int(first) if first else size - int(last)
        end = int(last) + 1 if first and last else size
    except ValueError:
        raise HubError(416, None, f"invalid Range {text!r}") from None
    if unit.strip() != "bytes" or not 0 <= start < max(size, 1) or end > size or (start >= end and size):
        raise HubError(416, None, f"Range {text!r} not satisfiable for {size} bytes")
    return start, end
