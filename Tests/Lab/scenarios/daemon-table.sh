# directord owns its part of the IPVS table: it programs it at start, adopts it on restart (zero operations),
# repairs drift, reloads as a plan (an invalid config changes nothing), and cleans up on stop.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/daemon-table
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT
mkdir -p "$work"
sock="$work/directord.sock"
log="$work/directord.log"

write_config() {  # write_config WEIGHT_OF_SECOND_REAL [EXTRA_REAL]; $drift: drift_check_interval (1)
    cat >"$work/directord.conf" <<CONF
global_defs {
    drift_check_interval ${drift:-1}
}
virtual_server 10.2.0.1 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.2.1.11 8080 {
        weight 2
    }
    real_server 10.2.1.12 8080 {
        weight $1
    }
$2
}
virtual_server 10.2.0.2 443 {
    lb_algo sh
    sh-port
    lb_kind DR
    persistence_timeout 600
    protocol TCP
    real_server 10.2.1.21 443 {
        weight 1
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    real_server 10.2.1.31 {
        weight 5
    }
}
virtual_server 2001:db8::10 53 {
    lb_algo lc
    lb_kind NAT
    protocol UDP
    real_server 2001:db8:1::53 53 {
        weight 1
    }
}
CONF
}

start_directord() {
    "$DIRECTORD" -f "$work/directord.conf" --socket "$sock" --pid-file "$work/pid" --log-level debug "$@" >>"$log" 2>&1 &
    echo $! >"$work/daemon.pid"
    wait_until 60 "directord answers on its control socket" "$DIRECTORCTL" status --socket "$sock"
}

stop_directord() {
    local pid; pid="$(cat "$work/daemon.pid")"
    kill -TERM "$pid"
    wait_until 30 "directord exits after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
}

expected_table() {  # the ipvsadm -Ln body we expect (sorted; ipvsadm's own order is hash order)
    ipvsadm -Ln | tail -n +4 | sed 's/ *$//'
}

step "A service directord does not own is present before it starts"
ipvsadm -A -t 10.9.9.9:25 -s rr
ipvsadm -a -t 10.9.9.9:25 -r 10.9.9.10:25 -m

step "Start: directord programs its four services"
write_config 3 ""
start_directord
ipvsadm -Ln | tee "$work/start.txt"
expect_contains "NAT service with wrr" "$work/start.txt" '^TCP  10\.2\.0\.1:80 wrr'
expect_contains "NAT real at weight 3" "$work/start.txt" '^  -> 10\.2\.1\.12:8080 +Masq +3 '
expect_contains "DR persistent sh service with sh-port" "$work/start.txt" '^TCP  10\.2\.0\.2:443 sh \(sh-port\) persistent 600'
expect_contains "fwmark service" "$work/start.txt" '^FWM  7 rr'
expect_contains "fwmark real (DR)" "$work/start.txt" '^  -> 10\.2\.1\.31:0 +Route +5 '
expect_contains "IPv6 UDP service" "$work/start.txt" '^UDP  \[2001:db8::10\]:53 lc'
expect_contains "the foreign service is untouched" "$work/start.txt" '^  -> 10\.9\.9\.10:25 +Masq +1 '
expect_contains "forwarding was enabled for NAT" /proc/sys/net/ipv4/ip_forward '^1$'
"$DIRECTORCTL" list >"$work/list.txt"
ipvsadm -Ln >"$work/ipvsadm.txt"
expect_same "directorctl list = ipvsadm -Ln" "$work/ipvsadm.txt" "$work/list.txt"

step "The control socket is root's only: another user gets a clear refusal"
ls -l "$sock"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups "$DIRECTORCTL" status --socket "$sock" >"$work/nonroot.txt" 2>&1; rc=$?
set -e
cat "$work/nonroot.txt"
[ "$rc" -ne 0 ] || fail "a non-root user could talk to directord"
expect_contains "the refusal says why" "$work/nonroot.txt" 'permission denied.*root'

step "Drift: a deleted real and a changed weight are repaired"
ipvsadm -d -t 10.2.0.1:80 -r 10.2.1.11:8080
ipvsadm -e -f 7 -r 10.2.1.31:0 -g -w 1
wait_until 30 "the deleted real is back" bash -c "ipvsadm -Ln | matches -E '^  -> 10\.2\.1\.11:8080 +Masq +2 '"
wait_until 30 "the weight is back to 5" bash -c "ipvsadm -Ln | matches -E '^  -> 10\.2\.1\.31:0 +Route +5 '"
expect_contains "the repair is logged with what was found" "$log" 'drifted'

step "Drift: ipvsadm -C is repaired, the foreign service is not recreated"
ipvsadm -C
wait_until 30 "all four services are back" bash -c "[ \$(ipvsadm -Ln | grep -cE '^(TCP|UDP|FWM)') -eq 4 ]"
ipvsadm -Ln | matches '10.9.9.9:25' && fail "directord recreated a service it does not own"
note "ok: the foreign service stays gone"

step "Reload: drift_check_interval 0 turns the check off, a reload to 1 turns it on again"
drift=0 write_config 3 ""
"$DIRECTORCTL" reload --socket "$sock" >/dev/null
ipvsadm -d -t 10.2.0.1:80 -r 10.2.1.11:8080
sleep 3
ipvsadm -Ln | matches -E '^  -> 10\.2\.1\.11:8080 ' && fail "drift was repaired with drift_check_interval 0"
note "ok: the deleted real stays deleted for 3 s with the check off"
write_config 3 ""
"$DIRECTORCTL" reload --socket "$sock" >/dev/null
# The reload itself may put the real back (a change of globals compares the whole table): delete it again.
ipvsadm -Ln | matches -E '^  -> 10\.2\.1\.11:8080 ' && ipvsadm -d -t 10.2.0.1:80 -r 10.2.1.11:8080
wait_until 10 "the deleted real is back once a reload turned the check on" \
    bash -c "ipvsadm -Ln | matches -E '^  -> 10\.2\.1\.11:8080 +Masq +2 '"

step "Reload: one weight changed and one real added → exactly those operations"
before="$(ipvsadm -Ln --stats | grep -c .)"
write_config 4 "    real_server 10.2.1.13 8080 {
        weight 1
    }"
"$DIRECTORCTL" diff -f "$work/directord.conf" --socket "$sock" | tee "$work/diff.txt"
[ "$(grep -c '^ipvs:' "$work/diff.txt")" -eq 2 ] || fail "diff should show exactly 2 IPVS operations"
"$DIRECTORCTL" reload --socket "$sock" | tee "$work/reload.txt"
expect_contains "reload applied 2 operations" "$work/reload.txt" '2 IPVS operations'
ipvsadm -Ln | tee "$work/reloaded.txt"
expect_contains "weight changed in place" "$work/reloaded.txt" '^  -> 10\.2\.1\.12:8080 +Masq +4 '
expect_contains "new real added" "$work/reloaded.txt" '^  -> 10\.2\.1\.13:8080 +Masq +1 '

step "Reload: an invalid configuration is rejected and the running table is unchanged"
cp "$work/directord.conf" "$work/good.conf"
echo "virtual_server 10.2.0.1 80 { lb_algo nosuch" >>"$work/directord.conf"
ipvsadm -Ln >"$work/before-bad.txt"
set +e
"$DIRECTORCTL" reload --socket "$sock" >"$work/bad.txt" 2>&1; rc=$?
set -e
cat "$work/bad.txt"
[ "$rc" -eq 1 ] || fail "a rejected reload should exit 1, got $rc"
expect_contains "the error names file:line:col" "$work/bad.txt" 'directord\.conf:[0-9]+:[0-9]+: error'
ipvsadm -Ln >"$work/after-bad.txt"
expect_same "table unchanged after the rejected reload" "$work/before-bad.txt" "$work/after-bad.txt"
"$DIRECTORCTL" status --socket "$sock" | tee "$work/status.txt"
expect_contains "status reports the failed reload" "$work/status.txt" 'last reload .*FAILED'
cp "$work/good.conf" "$work/directord.conf"

step "Restart with --keep-table-on-stop: the table stays and the new process adopts it with 0 operations"
stop_directord
start_directord --keep-table-on-stop
stop_directord
[ "$(ipvsadm -Ln | grep -cE '^(TCP|UDP|FWM)')" -eq 4 ] || fail "the table was not kept on stop"
note "ok: all four services kept"
: >"$log"
start_directord
expect_contains "restart adopted the table without a kernel operation" "$log" 'IPVS table adopted: 4 services, 4 kept as they were, 0 operations'

step "Stop (default): every owned service is removed, nothing else"
ipvsadm -A -t 10.9.9.9:25 -s rr
stop_directord
ipvsadm -Ln | tee "$work/stopped.txt"
[ "$(grep -cE '^(TCP|UDP|FWM)' "$work/stopped.txt")" -eq 1 ] || fail "stale entries after stop"
expect_contains "only the foreign service remains" "$work/stopped.txt" '^TCP  10\.9\.9\.9:25 rr'
[ ! -e "$sock" ] || fail "the control socket was left behind"
[ ! -e "$work/pid" ] || fail "the pid file was left behind"
note "ok: socket and pid file removed"
printf '\ndaemon-table: directord owns its table\n'
