# net_namespace: directord started in the root namespace runs wholly inside the named one, as keepalived does: its
# IPVS table, its addresses and its health checks are there, and nothing of it is in the root namespace.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/net-namespace
mkdir -p "$work/www"
sock="$work/directord.sock"
log="$work/directord.log"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT

write_config() {  # write_config NAMESPACE
    cat >"$work/directord.conf" <<CONF
net_namespace $1
global_defs {
    control_socket $sock
}
static_ipaddress {
    10.60.0.100/32 dev eth0
}
virtual_server 10.60.0.100 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.60.0.2 80 {
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
CONF
}

step "Namespace blue holds the director's eth0; a real server on the bridge; directord starts in the root namespace"
bridge_add br0
ns_add blue
ns_link blue eth0 br0 10.60.0.1/24
ns_add r1
ns_link r1 eth0 br0 10.60.0.2/24
echo r1 >"$work/www/index.html"
http_server r1 "$work/www" 80
write_config blue
"$DIRECTORD" -t -f "$work/directord.conf"
"$DIRECTORD" -f "$work/directord.conf" --pid-file "$work/pid" >>"$log" 2>&1 &
pid=$!
echo "$pid" >>/tmp/lab-pids
wait_until 60 "directord answers on its control socket" "$DIRECTORCTL" status --socket "$sock"
grep -q "running in network namespace blue" "$log" || fail "the log does not say it runs in namespace blue"
[ "$(stat -L -c %i /proc/$pid/ns/net)" = "$(stat -L -c %i /run/netns/blue)" ] || fail "process $pid is not in namespace blue"
[ "$(cat "$work/pid")" = "$pid" ] || fail "the pid file does not hold the pid the shell started ($pid)"
note "ok: pid $pid runs in blue (re-executed in place, same pid)"

step "The table, the address and the health check are inside blue; the root namespace has none of them"
wait_until 30 "the real is in blue's table at weight 1 (TCP_CHECK reached it from inside blue)" \
    bash -c "ip netns exec blue ipvsadm -Ln | matches -E '10.60.0.2:80 +Masq +1 '"
ip netns exec blue ipvsadm -Ln | sed 's/^/   | /'
ipvsadm -Ln | matches 10.60.0.100 && fail "the root namespace has the virtual server"
ip -n blue -o addr show dev eth0 | matches "10.60.0.100/32" || fail "10.60.0.100 is not on blue's eth0"
"$DIRECTORCTL" list --socket "$sock" >/dev/null 2>&1 || true
note "ok: IPVS, address and check in blue only"

step "The real's service dies: the check, inside blue, takes it out"
kill "$(sed -n 1p /tmp/lab-pids)" 2>/dev/null || true
pkill -f "busybox httpd -f -p 80 -h $work/www" || true
wait_until 30 "the real leaves blue's table" bash -c "! ip netns exec blue ipvsadm -Ln | matches 10.60.0.2:80"
note "ok"

step "A reload that moves net_namespace is refused and the running configuration kept"
ns_add green
write_config green
set +e
"$DIRECTORCTL" reload --socket "$sock" >"$work/reload.out" 2>&1
rc=$?
set -e
sed 's/^/   | /' "$work/reload.out"
[ "$rc" -ne 0 ] || fail "the reload was accepted"
expect_contains "the refusal says why" "$work/reload.out" "net_namespace changes from blue to green, which needs a restart"
kill -0 "$pid" || fail "directord stopped"
ip -n blue -o addr show dev eth0 | matches "10.60.0.100/32" || fail "the running configuration was not kept"
note "ok"

step "Stop: blue's table and address are cleaned up"
kill -TERM "$pid"
wait_until 30 "directord exits after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
ip netns exec blue ipvsadm -Ln | matches 10.60.0.100 && fail "the virtual server is still in blue"
ip -n blue -o addr show dev eth0 | matches "10.60.0.100/32" && fail "the address is still in blue"
note "ok"

step "A namespace that does not exist: directord does not start and says how to make it"
write_config nosuch
set +e
"$DIRECTORD" -f "$work/directord.conf" >"$work/nosuch.out" 2>&1
rc=$?
set -e
sed 's/^/   | /' "$work/nosuch.out"
[ "$rc" -eq 3 ] || fail "exit status $rc, expected 3"
expect_contains "the error names the namespace and the fix" "$work/nosuch.out" "net_namespace nosuch: open /run/netns/nosuch: .*create it with 'ip netns add nosuch'"
printf '\nnet-namespace: directord runs in the namespace net_namespace names, tables, addresses and checks included\n'
