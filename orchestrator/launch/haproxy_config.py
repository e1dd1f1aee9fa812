"""HAProxy's configuration as typed values, and the one function that writes them as `haproxy.cfg` text.

The balancer in front of the replicas is HAProxy 2.6 (Debian bookworm), configured as measured in front of
emulator replicas (shared reference `scale-out.md` §2-§10):
- `balance leastconn` with active `GET <health>` checks (`inter 2s fastinter 500ms downinter 1s fall 2 rise 2`):
  a dead replica is out in about 2 s, and back about 1.5 s after it answers `/health` again;
- `option http-no-delay`: without it HAProxy coalesces SSE events into ~200 ms bursts;
- `retries 2` + `option redispatch 1` with the default `retry-on conn-failure`: a request is resent to another
  replica only when it never reached a server (connection refused), never once sent (no duplicate generation);
- per-replica `maxconn` = the engine's concurrency limit, so excess requests wait in HAProxy's queue
  (`timeout queue`) instead of getting the engine's 429;
- `timeout server` above the engine's 15 s SSE keep-alive and a whole non-stream generation;
- the runtime API on a stats socket (drain / ready one replica for a rolling restart, `show stat`), and the
  Prometheus exporter plus the stats page on their own port.
Every token is checked: whitespace or a newline inside one would change the configuration's meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ADMIN_SOCKET",
    "BACKEND",
    "BalancerConfig",
    "BalancerServer",
    "Directive",
    "HealthChecks",
    "Section",
    "Text",
    "render_config",
    "sections",
]

ADMIN_SOCKET = "/var/lib/haproxy/admin.sock"
BACKEND = "replicas"
"""The backend (proxy) name: the runtime API and the exporter's `proxy` label use it."""


@dataclass(frozen=True)
class BalancerServer:
    """One replica as HAProxy sees it: `name` (r1, r2...) at `address`:`port`."""

    name: str
    address: str
    port: int
    maxconn: int | None


@dataclass(frozen=True)
class HealthChecks:
    """Active check timings, in milliseconds (the measured defaults of reference §4)."""

    inter_ms: int = 2000
    fastinter_ms: int = 500
    downinter_ms: int = 1000
    fall: int = 2
    rise: int = 2
    error_limit: int = 1
    """Failed live responses (cut, empty, 5xx) that mark a replica down before its next check: a crashed
    replica's port stays open while Docker restarts it (its port proxy accepts, then closes), so without this
    `leastconn` would send it every new request until the check notices, and those are not redispatched."""


@dataclass(frozen=True)
class BalancerConfig:
    """Everything that shapes the balancer's configuration."""

    bind_address: str
    port: int
    metrics_bind_address: str
    metrics_port: int
    servers: tuple[BalancerServer, ...]
    health_path: str
    body_limit: int | None = 2_000_000
    """Bytes; a larger Content-Length gets the engine's own 413 text (chunked bodies reach the engine)."""
    checks: HealthChecks = HealthChecks()
    timeout_connect_s: int = 3
    timeout_client_s: int = 600
    timeout_server_s: int = 600
    timeout_queue_s: int = 60
    global_maxconn: int = 4096


@dataclass(frozen=True)
class Text:
    """A free-text argument, written double-quoted (quotes, backslashes and `$` escaped)."""

    value: str

    def __post_init__(self) -> None:
        if any(c in "\r\n" for c in self.value):
            raise ValueError(f"HAProxy text {self.value!r} holds a line break")

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
        return f'"{escaped}"'


@dataclass(frozen=True)
class Directive:
    """One configuration line: a keyword and its arguments, each a single token or a `Text`."""

    words: tuple[str | Text, ...]

    def __post_init__(self) -> None:
        for word in self.words:
            if isinstance(word, Text):
                continue
            if not word or any(c.isspace() for c in word) or any(c in word for c in "#\"'\\$"):
                raise ValueError(
                    f"HAProxy configuration token {word!r} is empty or holds a space, quote, '#', '$' or '\\'"
                )

    def render(self) -> str:
        return " ".join(str(word) for word in self.words)


@dataclass(frozen=True)
class Section:
    """`global`, `defaults`, `frontend NAME` or `backend NAME`, with its directives."""

    header: tuple[str, ...]
    directives: tuple[Directive, ...]


def _d(*words: object) -> Directive:
    return Directive(tuple(word if isinstance(word, Text) else str(word) for word in words))


def _listen(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _server_address(address: str, port: int) -> str:
    return _listen(address, port)


def sections(config: BalancerConfig) -> tuple[Section, ...]:
    """The configuration as sections of directives (what `render_config` writes)."""
    checks = config.checks
    limit: tuple[Directive, ...] = ()
    if config.body_limit is not None:
        too_big = ("if", "{", "req.hdr_val(content-length)", "gt", str(config.body_limit), "}")
        limit = (
            _d("http-request", "return", "status", 413, "content-type", "text/plain", "string",
               Text("Failed to buffer the request body: length limit exceeded"), *too_big),
        )  # fmt: skip
    server_defaults = _d(
        "default-server", "check", "inter", f"{checks.inter_ms}ms", "fastinter", f"{checks.fastinter_ms}ms",
        "downinter", f"{checks.downinter_ms}ms", "fall", checks.fall, "rise", checks.rise,
        "observe", "layer7", "error-limit", checks.error_limit, "on-error", "mark-down",
    )  # fmt: skip
    servers = tuple(
        _d(
            "server",
            s.name,
            _server_address(s.address, s.port),
            *(("maxconn", s.maxconn) if s.maxconn else ()),
        )
        for s in config.servers
    )
    return (
        Section(("global",), (
            _d("log", "stdout", "format", "raw", "local0", "info"),
            _d("maxconn", config.global_maxconn),
            _d("stats", "socket", ADMIN_SOCKET, "mode", "600", "level", "admin"),
            _d("stats", "timeout", "30s"),
        )),
        Section(("defaults",), (
            _d("mode", "http"),
            _d("log", "global"),
            _d("option", "httplog"),
            _d("option", "http-no-delay"),
            _d("timeout", "connect", f"{config.timeout_connect_s}s"),
            _d("timeout", "client", f"{config.timeout_client_s}s"),
            _d("timeout", "server", f"{config.timeout_server_s}s"),
            _d("timeout", "http-request", "10s"),
            _d("timeout", "queue", f"{config.timeout_queue_s}s"),
            _d("retries", 2),
            _d("option", "redispatch", 1),
        )),
        Section(("frontend", "api"), (
            _d("bind", _listen(config.bind_address, config.port)),
            *limit,
            _d("default_backend", BACKEND),
        )),
        Section(("backend", BACKEND), (
            _d("balance", "leastconn"),
            _d("option", "httpchk", "GET", config.health_path),
            _d("http-check", "expect", "status", 200),
            server_defaults,
            *servers,
        )),
        Section(("frontend", "metrics"), (
            _d("bind", _listen(config.metrics_bind_address, config.metrics_port)),
            _d("http-request", "set-log-level", "silent"),
            _d("http-request", "use-service", "prometheus-exporter", "if", "{", "path", "/metrics", "}"),
            _d("stats", "enable"),
            _d("stats", "uri", "/stats"),
            _d("stats", "refresh", "5s"),
        )),
    )  # fmt: skip


def render_config(config: BalancerConfig) -> str:
    """`haproxy.cfg` text: section headers flush left, directives indented by four spaces."""
    lines = ["# Generated by tgi-orchestrator from the deployment's settings: do not edit by hand."]
    for section in sections(config):
        lines.append(" ".join(section.header))
        lines.extend("    " + directive.render() for directive in section.directives)
    return "\n".join(lines) + "\n"
