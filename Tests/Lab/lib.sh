# Shared helpers for lab scenarios (sourced; runs inside the guest as root).
set -Eeuo pipefail
# A command that stops the scenario through set -e (-E: in functions too) says so in the form fail uses: run-all
# shows the FAIL lines last, and a CI log may keep only the end.
# (Not under set +e, where a failing command is expected.)
trap 'lab_rc=$?; [[ $- != *e* ]] || printf "FAIL: line %s: exit status %s from: %s\n" "$LINENO" "$lab_rc" "$BASH_COMMAND" >&2' ERR
BIN="${DIRECTORD_BIN:-$LAB_REPO/.build/debug}"
DIRECTORCTL="$BIN/directorctl"
DIRECTORD="$BIN/directord"
STEP=0

step() { STEP=$((STEP + 1)); printf '\n== %d. %s (at %ds)\n' "$STEP" "$*" "$SECONDS"; }
note() { printf '   %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# matches GREP-ARGS...: grep -q that reads all of its input. After `grep -q` stops at the first match, a producer
# that writes again (ip(8) flushes each line) dies of SIGPIPE and pipefail turns the match into a failure: that race
# failed static-network's rule check in CI. (Not `grep >/dev/null`: GNU grep stops early there too.)
matches() { local n; n=$(grep -c "$@") || true; [ "${n:-0}" -gt 0 ]; }
export -f matches  # for `bash -c "... | matches ..."` in wait_until

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

# --- Topology: namespaces on bridges (each scenario builds its own; nothing outside the guest is reachable) ---

# bridge_add NAME: a bridge in the root namespace, up.
bridge_add() {
    ip link add "$1" type bridge
    ip link set "$1" up
}

# ns_add NAME: a network namespace with loopback up.
ns_add() {
    ip netns add "$1"
    ip -n "$1" link set lo up
}

# ns_link NS IFNAME BRIDGE [ADDR/PLEN...]: a veth pair, one end IFNAME in NS, the other on BRIDGE.
ns_link() {
    local ns="$1" ifname="$2" br="$3"; shift 3
    local peer="v${ns:0:6}${ifname:0:6}"
    ip link add "$peer" type veth peer name "$ifname" netns "$ns"
    ip link set "$peer" master "$br" up
    ip -n "$ns" link set "$ifname" up
    local a
    for a in "$@"; do ip -n "$ns" addr add "$a" dev "$ifname"; done
}

# http_server NS DIR PORT: busybox httpd serving DIR on PORT in NS (forks per request: fine for functional tests).
http_server() {
    ip netns exec "$1" busybox httpd -f -p "$3" -h "$2" &
    echo $! >>/tmp/lab-pids
}

# --- A client that keeps fetching through a VIP, and markers in its log ---

# start_client NS URL LOG [PAUSE]: from NS, fetches URL in a loop (PAUSE seconds apart, default 0.25), one line per
# attempt in LOG: "TIME BODY" or "TIME FAILED". mark/since_mark/last_served then read LOG.
start_client() {
    CLIENT_LOG="$3"
    : >"$CLIENT_LOG"
    # Append mode: the markers the scenario writes must not be overwritten by the client.
    ip netns exec "$1" bash -c 'while :; do
            if body=$(curl -s -m 2 "$1"); then echo "$(date +%s.%N) $body"; else echo "$(date +%s.%N) FAILED"; fi
            sleep "$2"
        done' client "$2" "${4:-0.25}" >>"$CLIENT_LOG" 2>&1 &
    echo $! >>/tmp/lab-pids
}
# mark NAME: a marker in the client's log; since_mark NAME: the answers after it.
mark() { echo "MARK $1" >>"$CLIENT_LOG"; }
since_mark() { sed -n "/^MARK $1\$/,\$p" "$CLIENT_LOG" | grep -v '^MARK'; }
# last_served MARK PATTERN [N]: the last N answers (default 3) since MARK all match PATTERN.
last_served() { local n="${3:-3}"; [ "$(since_mark "$1" | tail -n "$n" | grep -c "$2")" -eq "$n" ]; }

# Kill everything a scenario started in the background.
cleanup_bg() {
    # Some may have exited already (a scenario kills daemons on purpose): that is not a failure.
    [ -f /tmp/lab-pids ] && { xargs -r kill <"/tmp/lab-pids" 2>/dev/null || true; }
    rm -f /tmp/lab-pids
    return 0
}
