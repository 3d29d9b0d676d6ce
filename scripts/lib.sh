# Shared by scripts/*: paths and small helpers. Sourced, not run.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$REPO/.build"
VENV="$BUILD/venv"
PY="$VENV/bin/python"
STAMPS="$BUILD/stamps"

say() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*"; }
die() { printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# stamp_matches NAME VALUE: true when the step NAME last ran for exactly VALUE.
stamp_matches() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_write() { mkdir -p "$STAMPS" && printf '%s' "$2" > "$STAMPS/$1"; }
