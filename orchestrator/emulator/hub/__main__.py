"""`python -m orchestrator.emulator.hub`: the Hub stand-in as a process (see the package docstring)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from orchestrator.emulator.hub import Generated, HubStandIn, RepoFile, mistral_awq_files, mistral_awq_repo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.emulator.hub", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on the ready line)")
    parser.add_argument("--token", action="append", default=[], help="a token the Hub knows (repeatable)")
    parser.add_argument("--gated", choices=["auto", "manual"], help="gate the repository")
    parser.add_argument("--granted", action="append", default=[], help="a token that passed the gate")
    parser.add_argument(
        "--add-file",
        action="append",
        default=[],
        metavar="PATH=SIZE",
        help="add a generated LFS file of SIZE bytes (a new commit on main)",
    )
    parser.add_argument(
        "--weights-size",
        type=int,
        metavar="BYTES",
        help="serve a generated model.safetensors of BYTES instead",
    )
    parser.add_argument("--no-lfs-redirect", action="store_true", help="serve LFS bodies from the Hub origin")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repo = mistral_awq_repo(gated=args.gated, granted=set(args.granted))
    if args.weights_size is not None:
        weights = RepoFile("model.safetensors", Generated(args.weights_size), lfs=True)
        kept = [f for f in mistral_awq_files() if f.path != weights.path]
        repo.commit([*kept, weights], message="Generated weights")
    if args.add_file:
        extra = []
        for index, item in enumerate(args.add_file):
            path, _, size = item.partition("=")
            extra.append(RepoFile(path, Generated(int(size), seed=index), lfs=True))
        repo.commit([*repo.files().values(), *extra], message="Add generated files")
    hub = HubStandIn(
        [repo],
        tokens=set(args.token) | set(args.granted),
        host=args.host,
        port=args.port,
        lfs_redirect=not args.no_lfs_redirect,
    )
    for file in repo.files().values():
        _ = file.sha256, file.oid  # hash before the ready line: the first tree answer is then instant
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with hub:
        print(f"hub stand-in ready at {hub.url} (cdn {hub.cdn_url or 'off'})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
