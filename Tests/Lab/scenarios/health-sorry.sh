# The seed's LVS-NAT check: a real is in the table only while its test page has the right MD5 digest; when both
# fail the sorry server takes their place in one step, and leaves when a real returns.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/health-sorry
log="$work/directord.log"
sock="$work/directord.sock"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT
mkdir -p "$work/web1" "$work/web2" "$work/sorry"
printf 'Just test for WEB1\n' >"$work/web1/test.html"
printf 'Just test for WEB2\n' >"$work/web2/test.html"
printf 'Down for maintenance\n' >"$work/sorry/index.html"

step "Two real servers and a sorry server in namespaces, busybox httpd"
bridge_add brh
ip addr add 10.6.0.1/24 dev brh
for n in web1:11 web2:12 sorry:99; do
    ns_add "${n%%:*}"
    ns_link "${n%%:*}" eth0 brh "10.6.0.${n##*:}/24"
    http_server "${n%%:*}" "$work/${n%%:*}" 80
done
wait_until 20 "web1 answers" curl -sf http://10.6.0.11/test.html
wait_until 20 "web2 answers" curl -sf http://10.6.0.12/test.html

cat >"$work/directord.conf" <<'CONF'
global_defs {
    drift_check_interval 0
    metrics_listen 127.0.0.1 9469
}
virtual_server 10.6.1.1 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    sorry_server 10.6.0.99 80
    real_server 10.6.0.11 80 {
        weight 1
        HTTP_GET {
            url {
                path /test.html
                digest 60f16b089b6c69717ffdd41fc0896652
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.6.0.12 80 {
        weight 1
        HTTP_GET {
            url {
                path /test.html
                digest b75859919db38e0501fa02de82026078
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
CONF

in_table() { ipvsadm -Ln | matches -E "^  -> $1:80 +Masq +$2 "; }
absent() { ! ipvsadm -Ln | matches -E "^  -> $1:80 "; }

step "directord starts: both reals in the table, the sorry server out"
"$DIRECTORD" -f "$work/directord.conf" --socket "$sock" --log-level debug >"$log" 2>&1 &
echo $! >>/tmp/lab-pids
wait_until 60 "directord answers" "$DIRECTORCTL" status --socket "$sock"
wait_until 30 "web1 in the table" in_table 10.6.0.11 1
wait_until 30 "web2 in the table" in_table 10.6.0.12 1
absent 10.6.0.99 || fail "the sorry server is in the table while the reals are healthy"
ipvsadm -Ln

step "test.html disappears from web1: it leaves the table"
mv "$work/web1/test.html" "$work/web1/test.html.off"
wait_until 30 "web1 removed" absent 10.6.0.11
in_table 10.6.0.12 1 || fail "web2 should still be in the table"
expect_contains "the reason is logged" "$log" 'real_server 10.6.0.11:80 .* is down: .*404'
"$DIRECTORCTL" status --socket "$sock" | tee "$work/status1"
expect_contains "status shows web1 down with its reason" "$work/status1" '10\.6\.0\.11:80 DOWN .*404'

step "web2 serves the wrong page: both are gone and the sorry server is in, the service never empty"
printf 'Something else\n' >"$work/web2/test.html"
wait_until 30 "sorry server in the table" in_table 10.6.0.99 1
absent 10.6.0.12 || fail "web2 should be gone"
expect_contains "digest mismatch is the reason" "$log" 'real_server 10.6.0.12:80 .* is down: .*digest'
ipvsadm -Ln
"$DIRECTORCTL" status --socket "$sock" | tee "$work/status2"
expect_contains "status shows the sorry server active" "$work/status2" 'sorry server 10\.6\.0\.99:80 ACTIVE'

step "The metrics say the same"
curl -sf http://127.0.0.1:9469/metrics | tee "$work/metrics" | grep -E '^directord_(real_server_up|ipvs_operations_total)'
expect_contains "web1 down in the metrics" "$work/metrics" '^directord_real_server_up\{.*real_server="10\.6\.0\.11:80".*\} 0'
expect_contains "operations counted" "$work/metrics" '^directord_ipvs_operations_total [1-9]'

step "web1 is restored: it returns and the sorry server leaves"
mv "$work/web1/test.html.off" "$work/web1/test.html"
wait_until 30 "web1 back" in_table 10.6.0.11 1
wait_until 30 "sorry server gone" absent 10.6.0.99
ipvsadm -Ln
# Across the whole run, the service always had a destination.
grep -c 'remove\|delete' "$log" >/dev/null || true

step "Stop: the service is removed"
kill -TERM "$(tail -n 1 /tmp/lab-pids)"
wait_until 30 "the service is gone" bash -c "! ipvsadm -Ln | matches 10.6.1.1"
printf '\nhealth-sorry: reals follow their digests, the sorry server covers an empty farm\n'
