# keepalived's IPVS knobs, run by directord and by keepalived 2.2.7 from one file in two namespaces: lvs_timeouts
# (set at start, changed on reload, the kernel's own back at stop), persistence_engine sip, the raw scheduler
# flags flag-1..3, and startup_script / shutdown_script (when each runs). Both tables must read the same in ipvsadm, and directorctl list must be byte-identical to ipvsadm.
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/ipvs-knobs
mkdir -p "$out"
log="$out/directord.log"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; echo "--- keepalived log"; tail -n 20 "$out/k.log"; } >&2; cleanup_bg' EXIT
command -v keepalived >/dev/null || fail "keepalived is not installed"
# IPVS timeouts are per network namespace: each director gets a fresh one, with the kernel's defaults.
ns_add d
ns_add k
D() { ip netns exec d "$@"; }
K() { ip netns exec k "$@"; }

# startup_script and shutdown_script (keepalived's run it too, in k): what the table and the timeouts were then.
cat >"$out/lifecycle.sh" <<'SH'
#!/bin/sh
echo "$1 ns=$(ip netns identify) services=$(ipvsadm -Ln | grep -c '^[TU][CD]P ') $(ipvsadm -L --timeout)" >>/tmp/ipvs-knobs/lifecycle.log
SH
chmod 755 "$out/lifecycle.sh"

write_config() {  # write_config LVS_TIMEOUTS_LINE
    cat >"$out/$2.conf" <<CONF
global_defs {
    $1
    startup_script "$out/lifecycle.sh startup"
    shutdown_script "$out/lifecycle.sh shutdown"
    shutdown_script_timeout 20
}
virtual_server 10.3.0.1 5060 {
    lb_algo rr
    lb_kind NAT
    protocol UDP
    persistence_timeout 30
    persistence_engine sip
    real_server 10.3.1.11 5060 {
        weight 1
    }
}
virtual_server 10.3.0.2 80 {
    lb_algo rr
    flag-1
    flag-3
    lb_kind DR
    protocol TCP
    real_server 10.3.1.21 80 {
        weight 2
    }
}
virtual_server 10.3.0.3 80 {
    lb_algo sh
    flag-2
    lb_kind DR
    protocol TCP
    real_server 10.3.1.31 80 {
        weight 3
    }
}
CONF
}

sorted_table() {  # sorted_table NS: ipvsadm -Ln's body, services with their reals, in address order (hash order differs)
    ip netns exec "$1" ipvsadm -Ln | tail -n +4 | awk '/^[A-Z]/{key=$0} {print key "\t" $0}' | sort | cut -f2-
}

step "Each namespace starts with the kernel's own timeouts"
D ipvsadm -L --timeout | tee "$out/d.before"
expect_contains "900 120 300 in d" "$out/d.before" '^Timeout \(tcp tcpfin udp\): 900 120 300$'

step "directord starts with lvs_timeouts tcp 7200 udp 60, a SIP service and raw scheduler flags"
write_config "lvs_timeouts tcp 7200 udp 60" d
D "$DIRECTORD" -t -f "$out/d.conf" >"$out/check.txt" 2>&1 || { cat "$out/check.txt"; fail "directord -t refused the file"; }
# Not through D: a function in the background is a subshell, and $! would be its pid (ip netns exec execs).
ip netns exec d "$DIRECTORD" -f "$out/d.conf" --socket "$out/d.sock" --log-level debug >>"$log" 2>&1 &
echo $! >"$out/d.pid"
echo $! >>/tmp/lab-pids
wait_until 60 "directord answers" D "$DIRECTORCTL" status --socket "$out/d.sock"
expect_contains "startup_script ran before anything was programmed" "$out/lifecycle.log" \
    '^startup ns=d services=0 Timeout \(tcp tcpfin udp\): 900 120 300$'
D ipvsadm -L --timeout | tee "$out/d.start"
expect_contains "timeouts set, tcpfin kept" "$out/d.start" '^Timeout \(tcp tcpfin udp\): 7200 120 60$'
D "$DIRECTORCTL" list --timeout >"$out/d.start.ctl"
expect_same "directorctl list --timeout = ipvsadm -L --timeout" "$out/d.start" "$out/d.start.ctl"
D ipvsadm -Ln | tee "$out/d.ipvsadm"
expect_contains "pe sip on the persistent UDP service" "$out/d.ipvsadm" '^UDP  10\.3\.0\.1:5060 rr persistent 30 pe sip$'
expect_contains "flag-1 and flag-3 on rr" "$out/d.ipvsadm" '^TCP  10\.3\.0\.2:80 rr \(flag-1,flag-3\)$'
expect_contains "flag-2 on sh is the port flag" "$out/d.ipvsadm" '^TCP  10\.3\.0\.3:80 sh \(sh-port\)$'
D "$DIRECTORCTL" list >"$out/d.ctl"
expect_same "directorctl list = ipvsadm -Ln" "$out/d.ipvsadm" "$out/d.ctl"

step "keepalived 2.2.7 runs the same file in k: the same table and timeouts"
cp "$out/d.conf" "$out/k.conf"
ip netns exec k keepalived -n -l -D -C -f "$out/k.conf" -p "$out/k.parent.pid" -c "$out/k.checker.pid" >>"$out/k.log" 2>&1 &
echo $! >"$out/k.pid"
echo $! >>/tmp/lab-pids
wait_until 60 "keepalived programmed its three services" bash -c "[ \$(ip netns exec k ipvsadm -Ln | grep -c '^[TU][CD]P ') -eq 3 ]"
K ipvsadm -L --timeout >"$out/k.start"
expect_same "the same timeouts as keepalived" "$out/k.start" "$out/d.start"
sorted_table k >"$out/k.sorted"
sorted_table d >"$out/d.sorted"
expect_same "the same table as keepalived (ipvsadm -Ln, sorted)" "$out/k.sorted" "$out/d.sorted"

step "Reload to lvs_timeouts tcpfin 30: tcp and udp get the kernel's own back"
write_config "lvs_timeouts tcpfin 30" d
D "$DIRECTORCTL" reload --socket "$out/d.sock" | tee "$out/reload.txt"
D ipvsadm -L --timeout | tee "$out/d.reload"
expect_contains "900 30 300" "$out/d.reload" '^Timeout \(tcp tcpfin udp\): 900 30 300$'
expect_contains "the reload counted the timeouts as a change" "$out/reload.txt" 'reloaded: 1 IPVS operations'

step "Reload to tcp 7200 udp 60 again, then stop (even keeping the table): the kernel's own timeouts come back"
write_config "lvs_timeouts tcp 7200 udp 60" d
D "$DIRECTORCTL" reload --socket "$out/d.sock" >/dev/null
D ipvsadm -L --timeout | matches ': 7200 120 60$' || fail "the reload did not set 7200 120 60"
write_config "lvs_timeouts tcp 7200 udp 60
    lvs_keep_on_stop" d
D "$DIRECTORCTL" reload --socket "$out/d.sock" >/dev/null
kill -TERM "$(cat "$out/d.pid")"
wait_until 30 "directord exits" bash -c "! kill -0 $(cat "$out/d.pid") 2>/dev/null"
D ipvsadm -L --timeout | tee "$out/d.stop"
expect_same "d is back to the kernel's own timeouts" "$out/d.before" "$out/d.stop"
[ "$(D ipvsadm -Ln | grep -c '^[TU][CD]P ')" -eq 3 ] || fail "lvs_keep_on_stop should have kept the three services"
note "ok: the table was kept"
expect_contains "shutdown_script ran after the cleanup (timeouts restored, table kept)" "$out/lifecycle.log" \
    '^shutdown ns=d services=3 Timeout \(tcp tcpfin udp\): 900 120 300$'
kill -TERM "$(cat "$out/k.pid")"
wait_until 30 "keepalived exits" bash -c "! kill -0 $(cat "$out/k.pid") 2>/dev/null"
K ipvsadm -L --timeout >"$out/k.stop"
expect_same "keepalived restores them too" "$out/d.before" "$out/k.stop"
cat "$out/lifecycle.log" | sed 's/^/   lifecycle | /'
expect_contains "keepalived ran the same startup_script before programming" "$out/lifecycle.log" \
    '^startup ns=k services=0 Timeout \(tcp tcpfin udp\): 900 120 300$'
expect_contains "and its shutdown_script after removing its services and restoring the timeouts" "$out/lifecycle.log" \
    '^shutdown ns=k services=0 Timeout \(tcp tcpfin udp\): 900 120 300$'

printf '\nipvs-knobs: lvs_timeouts, persistence_engine sip, flag-1..3 and startup/shutdown_script mean what they mean in keepalived 2.2.7\n'
