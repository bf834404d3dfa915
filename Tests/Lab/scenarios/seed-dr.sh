# DR mode end to end: a director forwards to two reals by MAC (lb_kind DR); each real holds the VIP on lo with
# arp_ignore=1/arp_announce=2 so only the director answers ARP for it, and replies go from the real straight to the
# client (the director's IPVS counters see no outgoing packet). A TCP_CHECK removes a stopped real and restores it.
# delay_loop 2 and connect_timeout 2 keep the run short under TCG.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/seed-dr
mkdir -p "$work"/{r1,r2}
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$work/lb.log"; } >&2; cleanup_bg' EXIT

VIP=10.0.0.100

step "Topology: a client, a director and two reals on one network; the VIP on the director's eth0 and the reals' lo"
bridge_add br0
ns_add client
ns_link client eth0 br0 10.0.0.50/24
ns_add lb
ns_link lb eth0 br0 10.0.0.2/24 "$VIP/32"
for r in r1:11 r2:12; do
    name="${r%%:*}"
    ns_add "$name"
    # Set before the VIP exists anywhere on the real: it must never answer ARP for it, nor use it as ARP source.
    ip netns exec "$name" sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    ns_link "$name" eth0 br0 "10.0.0.${r##*:}/24"
    ip -n "$name" addr add "$VIP/32" dev lo
    echo "served directly by $name" >"$work/$name/index.html"
    http_server "$name" "$work/$name" 80
    echo $! >"$work/$name.httpd"
done
note "client 10.0.0.50 -> VIP $VIP on lb 10.0.0.2; reals r1 10.0.0.11, r2 10.0.0.12 (VIP on lo)"
ip -n r1 -o addr show dev lo | sed 's/^/   r1 | /'

step "Start directord with a DR virtual server and TCP checks"
cat >"$work/lb.conf" <<CONF
virtual_server $VIP 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
    real_server 10.0.0.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
CONF
ip netns exec lb "$DIRECTORD" -f "$work/lb.conf" --socket "$work/lb.sock" --pid-file "$work/lb.pid" >"$work/lb.log" 2>&1 &
echo $! >>/tmp/lab-pids
reals_in_table() { [ "$(ip netns exec lb ipvsadm -Ln | grep -cE "^  -> 10\.0\.0\.1[12]:80 +Route ")" -eq "$1" ]; }
wait_until 60 "both reals are in the table with Route forwarding" reals_in_table 2
ip netns exec lb ipvsadm -Ln | tee "$work/table.txt" | sed 's/^/   lb | /'
expect_contains "the service is TCP $VIP:80 rr" "$work/table.txt" "^TCP  $VIP:80 rr"

step "A client fetches through the VIP, continuously, from now on"
start_client client "http://$VIP/" "$work/client.log"
served_by_both() { since_mark "$1" | matches 'by r1' && since_mark "$1" | matches 'by r2'; }
mark start
wait_until 30 "both reals answer the client" served_by_both start
note "client sees: $(since_mark start | grep -o 'by r[12]' | sort | uniq -c | tr '\n' ' ')"

step "The replies bypass the director: ARP for the VIP resolves to lb; IPVS counts packets in, none out"
lbmac="$(ip -n lb -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
clientarp="$(ip -n client neigh show "$VIP" | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2)"
note "VIP $VIP resolves to $clientarp on the client; lb's eth0 is $lbmac"
[ "$clientarp" = "$lbmac" ] || fail "the client resolved the VIP to $clientarp, not to the director ($lbmac): a real answered ARP"
note "ok: only the director answers ARP for the VIP"
ip netns exec lb ipvsadm -Ln --stats | tee "$work/stats.txt" | sed 's/^/   lb | /'
read -r inpkts outpkts <<<"$(awk -v s="$VIP:80" '$1 == "TCP" && $2 == s { print $4, $5 }' "$work/stats.txt")"
[ "${inpkts:-0}" -gt 0 ] || fail "no packet counted in for the service"
[ "$outpkts" = 0 ] || fail "the director saw $outpkts outgoing packets: replies went through it"
note "ok: $inpkts packets in through the director, $outpkts out (the reals reply directly)"

step "r1's server stops: TCP_CHECK removes it, the client is served by r2 alone"
mark r1-down
kill "$(cat "$work/r1.httpd")"
wait_until 60 "r1 left the table" reals_in_table 1
ip netns exec lb ipvsadm -Ln | matches '10.0.0.12:80' || fail "r2 left the table too"
wait_until 30 "the client is served by r2 alone" last_served r1-down 'by r2' 6
note "$(since_mark r1-down | grep -c FAILED || true) requests failed before the check noticed"

step "r1's server returns: TCP_CHECK puts it back"
mark r1-up
http_server r1 "$work/r1" 80
wait_until 60 "r1 is back in the table" reals_in_table 2
wait_until 30 "both reals answer the client again" served_by_both r1-up
ip netns exec lb "$DIRECTORCTL" list --stats | sed 's/^/   lb | /'

printf '\nseed-dr: %s requests, %s failed; replies served directly by the reals\n' \
    "$(grep -vc '^MARK' "$work/client.log")" "$(grep -c FAILED "$work/client.log" || true)"
