# Helpers shared by the VRRP scenarios (sourced after lib.sh): two directors on an outside and an inside bridge.
LAB_VRRP="$BIN/lab-vrrp"
[ -x "$LAB_VRRP" ] || fail "lab-vrrp not built at $LAB_VRRP (swift build --product lab-vrrp; DIRECTORD_BIN=...)"

# has_addr NS IF ADDR: ADDR is configured on IF in NS.
has_addr() { ip -n "$1" -o addr show dev "$2" | matches " $3/"; }

# start_vrrp NS: runs lab-vrrp in NS with $out/NS.conf; output appended to $out/NS.log, pid in $out/NS.pid.
start_vrrp() {
    ip netns exec "$1" "$LAB_VRRP" -f "$out/$1.conf" --status "$out/$1.status" --log-level info >>"$out/$1.log" 2>&1 &
    echo $! >"$out/$1.pid"
    echo $! >>/tmp/lab-pids
    note "lab-vrrp started in $1 (pid $!)"
}

stop_vrrp() {  # stop_vrrp NS SIGNAL
    local pid
    pid="$(cat "$out/$1.pid")"
    kill "-$2" "$pid"
    local deadline=$(( $(date +%s) + 60 ))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "lab-vrrp in $1 did not exit after SIG$2"
        sleep 0.2
    done
    note "lab-vrrp in $1 gone after SIG$2"
}

# status_of NS: refreshes $out/NS.status (SIGUSR1) and prints it.
status_of() {
    rm -f "$out/$1.status"
    kill -USR1 "$(cat "$out/$1.pid")"
    local deadline=$(( $(date +%s) + 30 ))
    until [ -s "$out/$1.status" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "no status from lab-vrrp in $1"
        sleep 0.2
    done
    cat "$out/$1.status"
}

# On failure, show what each daemon said.
dump_logs() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        local f
        for f in "$out"/*.log; do
            [ -f "$f" ] || continue
            printf '\n--- %s ---\n' "$f" >&2
            tail -n 80 "$f" >&2
        done
    fi
    # Some of the recorded pids are gone already (killed on purpose): not a failure.
    cleanup_bg || true
    exit "$rc"
}
trap dump_logs EXIT
