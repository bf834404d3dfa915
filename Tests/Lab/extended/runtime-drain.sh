# Runtime controls on a real kernel: one NAT virtual server with two reals, a client holding a long-lived connection
# through real 1 while it keeps making new ones. `directorctl drain` puts real 1 at weight 0: the held connection goes
# on, new ones all reach real 2; status says draining, then drained once the held connection closes, and
# `drain --wait` returns 0 then (1 on its timeout while the connection is held). A reload and a restart keep the
# drain (the state file); undrain returns the weight. A reload that removes real 2 under drain_on_removal keeps it
# at weight 0 while its held connection lasts, then it leaves the table.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/runtime-drain
mkdir -p "$work"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 60 lines)"; tail -n 60 "$work/lb.log"; } >&2; cleanup_bg' EXIT

VIP=172.16.0.100
conf="$work/directord.conf"
sock="$work/lb.sock"
state="$work/state/overrides.json"
ctl() { "$DIRECTORCTL" "$@" --socket "$sock"; }

step "Topology: a client outside, a director (eth0 outside with the VIP, eth1 inside), two real servers inside"
bridge_add brout
bridge_add brin
ns_add client
ns_link client eth0 brout 172.16.0.50/24
ns_add lb
ns_link lb eth0 brout 172.16.0.2/24 "$VIP/24"
ns_link lb eth1 brin 192.168.0.1/24
for i in 1 2; do
    ns_add "real$i"
    ns_link "real$i" eth0 brin "192.168.0.1$i/24"
    ip -n "real$i" route add default via 192.168.0.1
done

for i in 1 2; do
    ip netns exec "real$i" python3 "$LAB_REPO/Tests/Lab/helpers/name-server.py" "real$i" 8080 &
    echo $! >>/tmp/lab-pids
done
note "client 172.16.0.50 -> VIP $VIP:80 (lb, NAT) -> real1 192.168.0.11:8080, real2 192.168.0.12:8080"

# write_config REALS...: the virtual server with these reals (1 and/or 2), drain_on_removal 60.
write_config() {
    {
        printf 'global_defs {\n    drift_check_interval 1\n}\n'
        printf 'virtual_server %s 80 {\n    protocol TCP\n    lb_algo rr\n    lb_kind NAT\n    drain_on_removal 60\n' "$VIP"
        local i
        for i in "$@"; do printf '    real_server 192.168.0.1%s 8080 {\n        weight 1\n    }\n' "$i"; done
        printf '}\n'
    } >"$conf"
}
# weight_of REAL: the weight of 192.168.0.1REAL:8080 in the kernel, "absent" when it is not there.
weight_of() { ip netns exec lb ipvsadm -Ln | awk -v r="192.168.0.1$1:8080" '$2 == r { print $4; f = 1 } END { if (!f) print "absent" }'; }
active_of() { ip netns exec lb ipvsadm -Ln | awk -v r="192.168.0.1$1:8080" '$2 == r { print $5 }'; }
weight_is() { [ "$(weight_of "$1")" = "$2" ]; }
start_directord() {
    ip netns exec lb "$DIRECTORD" -f "$conf" --socket "$sock" --state-file "$state" >>"$work/lb.log" 2>&1 &
    echo $! >"$work/lb.pid"
    echo $! >>/tmp/lab-pids
    wait_until 180 "directord answers on its control socket" ctl status
}
# hold NAME: a held connection from the client, logging to $work/NAME.log until $work/NAME.stop exists.
hold() {
    rm -f "$work/$1.stop"
    : >"$work/$1.log"
    ip netns exec client python3 "$LAB_REPO/Tests/Lab/helpers/held-connections.py" "$VIP" 1 "$work/$1.log" "$work/$1.stop" &
    echo $! >>/tmp/lab-pids
    wait_until 60 "held connection $1 is answered" bash -c "grep -q ' real' '$work/$1.log'"
}
# The held connection's log (Tests/Lab/helpers/held-connections.py): "TIME 0 real1" per answer.
held_by() { [ "$(grep -v '^PORT' "$work/$1.log" | tail -n 1 | awk '{print $3}')" = "$2" ]; }
held_answers() { grep -vc '^PORT' "$work/$1.log"; }

step "Start directord: both reals at weight 1"
write_config 1 2
start_directord
wait_until 90 "real 1 and real 2 are at weight 1" bash -c "$(declare -f weight_of weight_is); weight_is 1 1 && weight_is 2 1"

step "Open a held connection through real 1 (real 2 at weight 0 meanwhile, with directorctl weight)"
ctl weight "$VIP:80" 192.168.0.12:8080 0 | sed 's/^/   weight | /'
wait_until 60 "real 2 is at weight 0" bash -c "$(declare -f weight_of weight_is); weight_is 2 0"
hold held1
held_by held1 real1 || fail "the held connection should go to real 1, it says $(tail -n 1 "$work/held1.log")"
ctl weight "$VIP:80" 192.168.0.12:8080 --reset | sed 's/^/   weight | /'
wait_until 60 "real 2 is back at weight 1" bash -c "$(declare -f weight_of weight_is); weight_is 2 1"
start_client client "http://$VIP/" "$work/client.log" 0.2
wait_until 180 "new connections reach both reals" bash -c "grep -q real1 '$work/client.log' && grep -q real2 '$work/client.log'"

step "Drain real 1: weight 0 in the kernel, the held connection goes on, new connections all go to real 2"
ctl drain "$VIP:80" 192.168.0.11:8080 | sed 's/^/   drain | /'
weight_is 1 0 || fail "real 1 should be at weight 0 right after drain, it is $(weight_of 1)"
note "ok: real 1 at weight 0 as soon as drain returned"
ip netns exec lb ipvsadm -Ln | sed 's/^/   ipvsadm | /'
[ "$(active_of 1)" -ge 1 ] || fail "the kernel should count the held connection on real 1"
mark drained
before=$(held_answers held1)
wait_until 120 "15 new connections since the drain" bash -c "[ \$(sed -n '/^MARK drained\$/,\$p' '$work/client.log' | grep -c real) -ge 15 ]"
since_mark drained | matches real1 && { since_mark drained | head -n 20 >&2; fail "a new connection reached drained real 1"; }
note "ok: $(since_mark drained | grep -c real2) new connections since the drain, all to real 2"
[ "$(held_answers held1)" -gt "$((before + 3))" ] && held_by held1 real1 || fail "the held connection stopped: $(tail -n 2 "$work/held1.log")"
note "ok: the held connection still answered by real 1 ($(held_answers held1) answers)"
ctl status | tee "$work/status.txt" | sed 's/^/   status | /'
expect_contains "status says draining with the held connection" "$work/status.txt" '192\.168\.0\.11:8080 up .*\[draining, 1 active connection\]'
ctl status --json >"$work/status.json"
expect_contains "status --json says drained true" "$work/status.json" '"drained" : true'
grep -q 'drain asked by uid 0 pid [0-9]*: real 192.168.0.11:8080 of virtual_server 172.16.0.100:80' "$work/lb.log" ||
    fail "the drain is not logged with who asked"
note "ok: the log names who asked: $(grep -o 'drain asked by uid 0 pid [0-9]*' "$work/lb.log" | head -n 1)"

step "drain --wait with the connection held: exit 1 at its timeout, with the count left"
set +e
ctl drain "$VIP:80" 192.168.0.11:8080 --wait --timeout 3 >"$work/wait1.txt" 2>&1
rc=$?
set -e
sed 's/^/   drain --wait | /' "$work/wait1.txt"
[ "$rc" -eq 1 ] || fail "drain --wait should exit 1 at its timeout, got $rc"
expect_contains "it says how many connections are left" "$work/wait1.txt" '1 active connections left'

step "A reload keeps the drain"
ctl reload | sed 's/^/   reload | /'
weight_is 1 0 || fail "real 1 should still be at weight 0 after the reload, it is $(weight_of 1)"
note "ok: real 1 still at weight 0"
[ -f "$state" ] && [ "$(stat -c %a "$state")" = 600 ] || fail "the state file $state should exist with mode 0600"
note "ok: state file $state, mode 0600: $(tr -d ' \n' <"$state")"

step "The held connection closes: status says drained, drain --wait returns 0"
touch "$work/held1.stop"
ctl drain "$VIP:80" 192.168.0.11:8080 --wait --timeout 60 | tee "$work/wait2.txt" | sed 's/^/   drain --wait | /'
expect_contains "drain --wait saw no active connection left" "$work/wait2.txt" 'no active connection left'
ctl status >"$work/status2.txt"
expect_contains "status says drained" "$work/status2.txt" '192\.168\.0\.11:8080 up .*\[drained\]'

step "A restart keeps the drain (the state file): real 1 comes back at weight 0"
mark restart
kill -TERM "$(cat "$work/lb.pid")"
wait_until 90 "directord stopped and removed its service" bash -c "! ip netns exec lb ipvsadm -Ln | matches '^TCP'"
start_directord
wait_until 90 "the service is back" bash -c "ip netns exec lb ipvsadm -Ln | matches '^TCP'"
mark restarted
weight_is 1 0 || fail "real 1 should be at weight 0 after the restart, it is $(weight_of 1)"
weight_is 2 1 || fail "real 2 should be at weight 1 after the restart, it is $(weight_of 2)"
note "ok: real 1 at weight 0 and real 2 at 1 from the restarted daemon's first table"
grep -q 'operator overrides restored from' "$work/lb.log" || fail "the restart does not say it restored the overrides"

step "Undrain: real 1 back at weight 1, new connections reach it again"
ctl undrain "$VIP:80" 192.168.0.11:8080 | sed 's/^/   undrain | /'
weight_is 1 1 || fail "real 1 should be at weight 1 after undrain, it is $(weight_of 1)"
mark undrained
wait_until 180 "a new connection reaches real 1 again" bash -c "sed -n '/^MARK undrained\$/,\$p' '$work/client.log' | matches real1"

step "A held connection through real 2, then a reload removes real 2 under drain_on_removal"
ctl drain --all 192.168.0.11:8080 | sed 's/^/   drain --all | /'
hold held2
held_by held2 real2 || fail "the held connection should go to real 2, it says $(tail -n 1 "$work/held2.log")"
ctl undrain --all 192.168.0.11:8080 | sed 's/^/   undrain --all | /'
weight_is 1 1 || fail "real 1 should be back at weight 1"
write_config 1
ctl reload | sed 's/^/   reload | /'
weight_is 2 0 || fail "removed real 2 should stay at weight 0 while its connection is held, it is $(weight_of 2)"
note "ok: real 2 at weight 0, not deleted"
sleep 3
weight_is 2 0 || fail "real 2 left the table while its connection was still held"
before=$(held_answers held2)
sleep 3
[ "$(held_answers held2)" -gt "$before" ] && held_by held2 real2 || fail "the held connection to removed real 2 stopped: $(tail -n 2 "$work/held2.log")"
note "ok: after 4 s real 2 is still in the table and the held connection still answered by it"
ctl status >"$work/status3.txt"
expect_contains "status lists real 2 as removing" "$work/status3.txt" '192\.168\.0\.12:8080 removed.*\[removing, 1 active connection\]'
touch "$work/held2.stop"
wait_until 90 "real 2 leaves the table once its connection ends" bash -c "$(declare -f weight_of weight_is); weight_is 2 absent"
grep -q 'real 192.168.0.12:8080 of virtual_server .* deleted: no active connection left' "$work/lb.log" ||
    fail "the log does not say why real 2 was deleted"
note "ok: $(grep -o 'real 192.168.0.12:8080 of virtual_server .* deleted: .*' "$work/lb.log" | tail -n 1)"

step "Unknown names are refused with what exists (exit 1), and nothing changed"
set +e
ctl drain 172.16.0.199:80 192.168.0.11:8080 >"$work/bad.txt" 2>&1
rc=$?
set -e
sed 's/^/   drain | /' "$work/bad.txt"
[ "$rc" -eq 1 ] || fail "an unknown virtual server should exit 1, got $rc"
expect_contains "the error lists the configured virtual servers" "$work/bad.txt" "the configured ones are: $VIP:80"
weight_is 1 1 || fail "real 1 changed after a refused request"
# While directord is stopped its service is gone (keepalived's default on stop too): only that window may fail.
failed=$(awk '/^MARK restart$/ { off = 1 } /^MARK restarted$/ { off = 0 } !off && /FAILED/ { n++ } END { print n + 0 }' "$work/client.log")
[ "$failed" -eq 0 ] || { grep -n 'FAILED\|^MARK' "$work/client.log" | head -n 20 >&2; fail "$failed new connections failed outside the restart"; }

printf '\nruntime-drain: %s new connections, none failed outside the restart; held connections kept through drain (%s answers) and removal (%s answers)\n' \
    "$(grep -c real "$work/client.log")" "$(held_answers held1)" "$(held_answers held2)"
