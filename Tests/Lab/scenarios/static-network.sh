# static_ipaddress, static_routes and static_rules on a real kernel: added at start, a reload applies only the
# difference, a stop removes what directord added and leaves an address that was there before it.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/static-network
mkdir -p "$work"
sock="$work/directord.sock"
log="$work/directord.log"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT

write_config() {  # write_config TABLE PREFERENCE
    cat >"$work/directord.conf" <<CONF
static_ipaddress {
    192.0.2.10/24 dev eth0 label eth0:st
    192.0.2.11/24 dev eth0
    192.0.2.20/24 dev eth0 brd + noprefixroute
    10.7.7.1 peer 10.7.7.2 dev eth0
    2001:db8:5::10/64 dev eth0 preferred_lft 0
}
static_routes {
    198.51.100.0/24 via 192.0.2.1 dev eth0 table $1
    blackhole 203.0.113.0/24 table 100
    198.18.0.0/24 table 100 nexthop via 192.0.2.2 dev eth0 weight 1 nexthop via 192.0.2.3 dev eth0 weight 3
    198.18.1.0/24 via 192.0.2.4 or 192.0.2.5 dev eth0 table 100
    198.18.2.0/24 via 192.0.2.6 dev eth0 table 100 protocol bird metric 7 mtu lock 1400 initcwnd 10 advmss 1360
}
static_rules {
    from 192.0.2.10/32 table $1 preference $2
    not fwmark 0x2/0xff lookup main preference 1500
}
CONF
}
has_addr() { ip -n d1 -o addr show dev eth0 | matches " $1 "; }
has_route() { ip -n d1 route show table "$1" | matches "^198.51.100.0/24 via 192.0.2.1 dev eth0"; }
has_rule() { ip -n d1 rule show | matches "^$1"; }
show() { { ip -n d1 -o addr show dev eth0; ip -n d1 route show table all | grep -E '198.51|203.0.113|198.18|nexthop' || true; ip -n d1 rule show; } | sed 's/^/   | /'; }

step "A namespace whose eth0 already holds 192.0.2.11/24 (someone else's), which the configuration names too"
bridge_add br0
ns_add d1
ns_link d1 eth0 br0 192.0.2.11/24
write_config 100 1000

step "Start: both addresses, the route in table 100 and both rules are there"
ip netns exec d1 "$DIRECTORD" -f "$work/directord.conf" --socket "$sock" --pid-file "$work/pid" >>"$log" 2>&1 &
pid=$!
echo "$pid" >>/tmp/lab-pids
wait_until 60 "directord answers on its control socket" "$DIRECTORCTL" status --socket "$sock"
wait_until 10 "192.0.2.10/24 on eth0" has_addr 192.0.2.10/24
ip -n d1 -o addr show dev eth0 | matches "192.0.2.10/24 .*eth0:st" || { show; fail "the label eth0:st is missing"; }
has_route 100 || { show; fail "no route in table 100"; }
has_rule "1000:	from 192.0.2.10 lookup 100" || { show; fail "no rule 1000"; }
ip -n d1 route show table 100 | matches "^blackhole 203.0.113.0/24 proto static $" || { show; fail "no blackhole route"; }
has_rule "1500:	not from all fwmark 0x2/0xff lookup main" || { show; fail "no inverted rule 1500"; }
step "keepalived's address and route options reach the kernel as ip(8) would set them"
a() { ip -n d1 -o addr show dev eth0; }
a | matches "inet 192.0.2.20/24 brd 192.0.2.255 .*noprefixroute" || { show; fail "192.0.2.20/24: no 'brd +' broadcast or no noprefixroute"; }
a | matches "inet 10.7.7.1 peer 10.7.7.2/32" || { show; fail "no point-to-point address 10.7.7.1 peer 10.7.7.2"; }
a | grep "2001:db8:5::10/64" | matches "nodad" || { show; fail "the IPv6 address was not added without DAD (keepalived's default)"; }
a | grep "2001:db8:5::10/64" | matches "deprecated" || { show; fail "preferred_lft 0 did not make the IPv6 address deprecated"; }
mp="$(ip -n d1 route show table 100 198.18.0.0/24)"
printf '%s\n' "$mp" | sed 's/^/   | /'
printf '%s' "$mp" | matches "nexthop via 192.0.2.2 dev eth0 weight 1" && printf '%s' "$mp" | matches "nexthop via 192.0.2.3 dev eth0 weight 3" \
    || fail "the multipath route does not have next hops .2 weight 1 and .3 weight 3"
ip -n d1 route show table 100 198.18.1.0/24 | matches "nexthop via 192.0.2.5" || { show; fail "'via A or B' did not make a two-hop route"; }
ip -n d1 route show table 100 198.18.2.0/24 | matches "via 192.0.2.6 dev eth0 proto bird metric 7 mtu lock 1400 advmss 1360 initcwnd 10" \
    || { show; fail "protocol, metric and route metrics are not as configured"; }
note "ok: brd +, noprefixroute, peer, IPv6 without DAD and deprecated, multipath with weights, proto and metrics"
show
grep -q "static address 192.0.2.11/24 dev eth0 was already there" "$log" || fail "the log does not say 192.0.2.11 was there"
note "ok: everything added; 192.0.2.11 recorded as not directord's"

step "Reload with the route and the first rule moved to table 101, preference 1001: only that changes"
write_config 101 1001
"$DIRECTORCTL" diff -f "$work/directord.conf" --socket "$sock" | tee "$work/diff.txt" | sed 's/^/   | /'
expect_contains "diff names the old rule" "$work/diff.txt" 'remove static rule pref 1000 from 192.0.2.10/32 lookup 100'
"$DIRECTORCTL" reload --socket "$sock" | sed 's/^/   | /'
has_route 101 || { show; fail "no route in table 101"; }
has_route 100 && { show; fail "the route in table 100 is still there"; }
has_rule "1001:	from 192.0.2.10 lookup 101" || { show; fail "no rule 1001"; }
has_rule "1000:" && { show; fail "rule 1000 is still there"; }
has_rule "1500:	not from all fwmark 0x2/0xff lookup main" || { show; fail "the unchanged rule 1500 went"; }
has_addr 192.0.2.10/24 && has_addr 192.0.2.11/24 || { show; fail "an address went on reload"; }
grep -c "added static\|removed static" "$log" | sed 's/^/   kernel changes logged so far: /'
show

step "Stop: what directord added is gone; 192.0.2.11/24, there before it, stays"
kill -TERM "$pid"
wait_until 30 "directord exits after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
show
has_addr 192.0.2.10/24 && fail "192.0.2.10/24 is still there"
has_addr 192.0.2.11/24 || fail "the pre-existing 192.0.2.11/24 was removed"
has_route 101 && fail "the route is still there"
ip -n d1 route show table 100 | matches 198.18 && fail "a multipath or metric route is still there"
a | matches -E "192.0.2.20|10.7.7.1|2001:db8:5::10" && fail "an address with options is still there"
ip -n d1 route show table 100 | matches blackhole && fail "the blackhole route is still there"
has_rule "1001:" && fail "rule 1001 is still there"
has_rule "1500:" && fail "rule 1500 is still there"
note "ok: only 192.0.2.11/24 is left"
printf '\nstatic-network: static addresses, routes and rules held from start to stop, reload by difference\n'
