# Checker socket options on a real kernel: fwmark (SO_MARK) is what policy routing sees (a check marked 7 meets
# `ip rule fwmark 7 prohibit`, one marked 8 passes), and bind_if scopes an IPv6 link-local connect_ip to its
# interface. Every real starts down (alpha): only a check that got through puts it in the table.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/check-socket
log="$work/directord.log"
sock="$work/directord.sock"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT
mkdir -p "$work/www"
printf 'real\n' >"$work/www/index.html"

step "Director d and real r on one veth pair, IPv4 and link-local IPv6"
ns_add d
ns_add r
ip link add d0 netns d type veth peer name r0 netns r
ip -n d addr add 10.4.0.1/24 dev d0
ip -n d addr add fe80::d/64 dev d0 nodad
ip -n r addr add 10.4.0.2/24 dev r0
ip -n r addr add fe80::2/64 dev r0 nodad
ip -n d link set d0 up
ip -n r link set r0 up
http_server r "$work/www" 80
wait_until 20 "r answers over IPv4" ip netns exec d curl -sf http://10.4.0.2/
wait_until 20 "r answers over link-local IPv6 (curl names the interface)" ip netns exec d curl -sf "http://[fe80::2%25d0]/"
# Marked 7: the route lookup fails (EACCES); other marks route as usual.
ip -n d rule add fwmark 7 prohibit
ip -n d rule | sed 's/^/   rule | /'

cat >"$work/directord.conf" <<'CONF'
global_defs {
    drift_check_interval 0
}
virtual_server 10.4.9.1 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.4.0.2 80 {
        TCP_CHECK {
            fwmark 8
            alpha
            delay_loop 1
            connect_timeout 2
        }
    }
}
virtual_server 10.4.9.2 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.4.0.2 80 {
        HTTP_GET {
            url {
                path /index.html
            }
            fwmark 7
            alpha
            delay_loop 1
            connect_timeout 2
        }
    }
}
virtual_server 10.4.9.3 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.4.0.2 80 {
        HTTP_GET {
            url {
                path /index.html
            }
            connect_ip fe80::2
            bind_if d0
            alpha
            delay_loop 1
            connect_timeout 2
        }
    }
}
CONF

step "directord -t: a link-local connect_ip without bind_if is refused, as keepalived refuses it"
sed '/bind_if d0/d' "$work/directord.conf" >"$work/no-if.conf"
set +e
ip netns exec d "$DIRECTORD" -t -f "$work/no-if.conf" >"$work/no-if.txt" 2>&1; rc=$?
set -e
cat "$work/no-if.txt"
[ "$rc" -ne 0 ] || fail "directord -t accepted a link-local connect_ip without bind_if"
expect_contains "the error says what is missing" "$work/no-if.txt" "needs 'bind_if'"

step "Start: the fwmark 8 and the link-local checks put their reals in; the fwmark 7 check cannot route"
ip netns exec d "$DIRECTORD" -f "$work/directord.conf" --socket "$sock" --log-level debug >>"$log" 2>&1 &
echo $! >>/tmp/lab-pids
wait_until 60 "directord answers" ip netns exec d "$DIRECTORCTL" status --socket "$sock"
wait_until 30 "fwmark 8: real in 10.4.9.1" bash -c "ip netns exec d ipvsadm -Ln -t 10.4.9.1:80 | matches '10.4.0.2:80'"
wait_until 30 "bind_if d0: link-local check put the real in 10.4.9.3" bash -c "ip netns exec d ipvsadm -Ln -t 10.4.9.3:80 | matches '10.4.0.2:80'"
sleep 3
ip netns exec d ipvsadm -Ln | tee "$work/table.txt"
ip netns exec d ipvsadm -Ln -t 10.4.9.2:80 | matches '10.4.0.2:80' && fail "the fwmark 7 check got through the prohibit rule"
note "ok: fwmark 7: the real stays out"
ip netns exec d "$DIRECTORCTL" status --socket "$sock" >"$work/status.txt"
grep -A1 '10.4.9.2' "$work/status.txt" | sed 's/^/   status | /'

step "Remove the rule: the fwmark 7 check gets through (so it was the mark that kept it out)"
ip -n d rule del fwmark 7 prohibit
wait_until 30 "fwmark 7: real in 10.4.9.2" bash -c "ip netns exec d ipvsadm -Ln -t 10.4.9.2:80 | matches '10.4.0.2:80'"

printf '\ncheck-socket: fwmark reaches policy routing and bind_if scopes link-local checks\n'
