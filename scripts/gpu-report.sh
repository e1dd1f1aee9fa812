#!/usr/bin/env bash
# On a GPU host, from a copy of this repository: `orchestrator doctor --json` and `orchestrator plan --json` for
# real, written to "$OUT/doctor.json" and "$OUT/plan.json" (with their stderr, exit codes and the Python packages
# they loaded) when OUT is set, else to the terminal. Installs nothing.
#
# Needs Python 3.11+ with pydantic-settings and nvidia-ml-py (and typer for the CLI; without typer the same
# library calls are made directly and the JSON is the same). PYTHON picks the interpreter (default python3);
# EXTRA_PYTHONPATH adds a folder of carried packages. Extra arguments go to both commands (e.g. --gpus 0); without
# typer, use ORCHESTRATOR_* variables instead (ORCHESTRATOR_HOST__GPUS=0).
#
#   OUT=/tmp/report bash scripts/gpu-report.sh [--gpus all]
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="$ROOT${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH}"
out="${OUT:-}"
[ -n "$out" ] && mkdir -p "$out"

run_one() {  # name: doctor | plan
  local name="$1"; shift
  local target="${out:+$out/$name.json}"
  local errors="${out:+$out/$name.stderr.txt}"
  "$PYTHON" - "$name" "$@" >"${target:-/dev/stdout}" 2>"${errors:-/dev/stderr}" <<'PY'
import atexit, json, sys

name, args = sys.argv[1], sys.argv[2:]

def loaded() -> None:
    tops = {m.split(".")[0] for m in sys.modules} - set(sys.stdlib_module_names)
    tops = sorted(t for t in tops if not t.startswith("_") and t != "orchestrator")
    print(f"packages loaded: {' '.join(tops)}", file=sys.stderr)

atexit.register(loaded)
try:
    import typer  # noqa: F401  (the CLI needs it)
except ImportError:
    print("typer missing: calling the library directly (same JSON as the CLI)", file=sys.stderr)
    if args:
        raise SystemExit("without typer, pass settings as ORCHESTRATOR_* variables, not flags")
    from orchestrator.config.loading import load_settings
    from orchestrator.deploy.doctor import plan_for_host, run_doctor
    from orchestrator.errors import ConfigError

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if name == "doctor":
        report = run_doctor(settings)
        print(json.dumps(report.to_json(), indent=2))
        raise SystemExit(report.exit_code)
    print(json.dumps(plan_for_host(settings).to_json(), indent=2))
else:
    from orchestrator.cli import main

    sys.argv = ["orchestrator", name, "--json", *args]
    main()
PY
  local code=$?
  [ -n "$out" ] && echo "$code" >"$out/$name.exit-code"
  echo "orchestrator $name --json: exit $code${target:+ -> $target}" >&2
}

run_one doctor "$@"
run_one plan "$@"
exit 0
