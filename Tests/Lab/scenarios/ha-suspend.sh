# ha_suspend: a virtual server's checks run only while its address is on the director. With the address away, a
# real whose check would fail stays in the table as it was; with the address here the check runs and takes it out;
# away again, the real keeps that verdict while its page returns; back, the check runs and brings it back.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/ha-suspend
log="$work/directord.log"
sock="$work/directord.sock"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT
mkdir -p "$work/web1"

step "One real server in a namespace (busybox httpd) without its test page; the VIP is not on the director"
bridge_add brs
ip addr add 10.7.0.1/24 dev brs
ns_add web1
ns_link web1 eth0 brs 10.7.0.11/24
http_server web1 "$work/web1" 80
wait_until 20 "web1 answers" bash -c "curl -s -o /dev/null -w '%{http_code}' http://10.7.0.11/test.html | matches 404"

cat >"$work/directord.conf" <<'CONF'
global_defs {
    drift_check_interval 0
}
virtual_server 10.7.1.1 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    real_server 10.7.0.11 80 {
        weight 1
        HTTP_GET {
            url {
                path /test.html
            }
            connect_timeout 1
            retry 0
            warmup 0
        }
    }
}
CONF

in_table() { ipvsadm -Ln | matches -E "^  -> 10\.7\.0\.11:80 +Masq +1 "; }
absent() { ! ipvsadm -Ln | matches -E "^  -> 10\.7\.0\.11:80 "; }

step "directord starts with the VIP away: the checks are suspended and the failing real stays in the table"
"$DIRECTORD" -f "$work/directord.conf" --socket "$sock" >"$log" 2>&1 &
echo $! >>/tmp/lab-pids
wait_until 60 "directord answers" "$DIRECTORCTL" status --socket "$sock"
wait_until 30 "web1 in the table" in_table
expect_contains "the suspension is logged" "$log" 'virtual_server 10\.7\.1\.1 80 TCP: its address is not on this director, health checks suspended \(ha_suspend\)'
sleep 4  # four turns of delay_loop 1
in_table || fail "a suspended check ran: web1 left the table"
grep -q "is down" "$log" && fail "a suspended check ran: $(grep 'is down' "$log")"
note "ok: four turns later web1 is still in the table, no check ran"
"$DIRECTORCTL" status --socket "$sock" >"$work/status1"
expect_contains "status says the checks are suspended" "$work/status1" 'health checks suspended: the address is not on this director \(ha_suspend\)'

step "The VIP arrives (as on a VRRP MASTER): the checks resume and the 404 takes web1 out"
ip addr add 10.7.1.1/32 dev lo
wait_until 10 "the resumption is logged" grep -q "virtual_server 10.7.1.1 80 TCP: its address is on this director, health checks resumed" "$log"
wait_until 10 "web1 removed" absent
expect_contains "the reason is logged" "$log" 'real_server 10\.7\.0\.11:80 .* is down: .*404'
"$DIRECTORCTL" status --socket "$sock" >"$work/status2"
grep -q "health checks suspended" "$work/status2" && fail "status still says suspended: $(cat "$work/status2")"
note "ok: status no longer says suspended"

step "The VIP leaves: suspended again, web1 keeps its verdict (down) while its page returns"
ip addr del 10.7.1.1/32 dev lo
wait_until 10 "the second suspension is logged" sh -c "[ \$(grep -c 'health checks suspended' '$log') -ge 2 ]"
printf 'ok\n' >"$work/web1/test.html"
sleep 4
absent || fail "a suspended check ran: web1 came back while the VIP was away"
grep -q "10.7.0.11:80 .* is up" "$log" && fail "a suspended check ran: $(grep 'is up' "$log")"
note "ok: four turns later web1 is still out"

step "The VIP returns: the check runs and brings web1 back"
ip addr add 10.7.1.1/32 dev lo
wait_until 10 "web1 back in the table" in_table
expect_contains "the recovery is logged" "$log" 'real_server 10\.7\.0\.11:80 .* is up'

printf '\nha-suspend: checks follow the virtual server address on and off the director; verdicts wait while suspended\n'
