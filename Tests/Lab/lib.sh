# Shared helpers for lab scenarios (sourced; runs inside the guest as root).
set -euo pipefail
BIN="${DIRECTORD_BIN:-$LAB_REPO/.build/debug}"
DIRECTORCTL="$BIN/directorctl"
DIRECTORD="$BIN/directord"
STEP=0

step() { STEP=$((STEP + 1)); printf '\n== %d. %s\n' "$STEP" "$*"; }
note() { printf '   %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# expect_same LABEL FILE_A FILE_B: the two files are byte-for-byte equal, else show the diff and fail.
expect_same() {
    if cmp -s "$2" "$3"; then note "ok: $1"; else
        diff -u "$2" "$3" >&2 || true
        fail "$1: outputs differ"
    fi
}

# expect_contains LABEL FILE PATTERN (extended regex)
expect_contains() {
    grep -qE -- "$3" "$2" || { cat "$2" >&2; fail "$1: no line matches /$3/"; }
    note "ok: $1"
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds (generous deadlines: TCG is slow).
wait_until() {
    local limit="$1" what="$2"; shift 2
    local deadline=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for: $what"
        sleep 0.2
    done
    note "ok: $what"
}
