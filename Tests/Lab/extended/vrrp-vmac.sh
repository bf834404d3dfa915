# use_vmac beside keepalived 2.2.7: both create the macvlan vrrp.42 with the virtual router's MAC
# (00:00:5e:00:01:2a), the VIP lives on the master's, and the VIP is answered with that MAC before and after it
# moves, so the neighbours' caches need no update. directord's stop removes its macvlan and gives eth0 its ARP settings back.
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-vmac
mkdir -p "$out"
source "$LAB_REPO/Tests/Lab/vrrp-lib.sh"
command -v keepalived >/dev/null || fail "keepalived is not installed"
VIP=192.0.2.10
VMAC=00:00:5e:00:01:2a

conf() {  # conf FILE PRIORITY
    cat >"$1" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 42
    priority $2
    advert_int 1
    use_vmac
    virtual_ipaddress {
        $VIP/24
    }
}
CONF
}

step "Topology: directord's VRRP in d, keepalived in k, a client in c, one bridge"
bridge_add br0
ns_add d
ns_add k
ns_add c
ns_link d eth0 br0 192.0.2.2/24
ns_link k eth0 br0 192.0.2.3/24
ns_link c eth0 br0 192.0.2.100/24
conf "$out/d.conf" 150
conf "$out/k.conf" 100
arp_before="$(ip netns exec d cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)"
start_vrrp d
ip netns exec k keepalived -n -l -D -P -f "$out/k.conf" -p "$out/k.parent.pid" -r "$out/k.vrrp.pid" >>"$out/k.log" 2>&1 &
echo $! >>/tmp/lab-pids

step "directord (150) is MASTER with the VIP on its macvlan; keepalived (100) stays BACKUP, so it accepts the adverts"
wait_until 60 "the VIP is on d's vrrp.42" has_addr d vrrp.42 "$VIP"
ip -n d -d link show vrrp.42 | sed 's/^/   | /'
ip -n d -d link show vrrp.42 | matches "link/ether $VMAC" || fail "d's vrrp.42 does not have the MAC $VMAC"
ip -n d -d link show vrrp.42 | matches "macvlan mode private" || fail "d's vrrp.42 is not a private-mode macvlan"
[ "$(ip netns exec d cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" = 1 ] || fail "arp_ignore is not 1 on d's eth0"
[ "$(ip netns exec d cat /proc/sys/net/ipv4/conf/vrrp.42/arp_ignore)" = 1 ] || fail "arp_ignore is not 1 on d's vrrp.42"
wait_until 30 "keepalived made its own vrrp.42" bash -c "ip -n k link show vrrp.42 >/dev/null 2>&1"
sleep 3
has_addr k vrrp.42 "$VIP" && fail "keepalived took the VIP from a higher-priority directord"
grep -q "Entering MASTER STATE" "$out/k.log" && fail "keepalived became MASTER: it did not hear directord's adverts"
note "ok: keepalived hears directord's adverts sent from the macvlan"

# arp_reply NS: the MAC that answers an ARP request for the VIP from NS (busybox arping).
arp_reply() { ip netns exec "$1" busybox arping -c 1 -w 2 -I eth0 "$VIP" 2>/dev/null | sed -n 's/.*reply from .* \[\(.*\)\].*/\1/p' | head -n 1; }

step "The client reaches the VIP, and an ARP request for it is answered with the virtual router's MAC"
wait_until 20 "the client pings the VIP" ip netns exec c busybox ping -c 1 -W 1 "$VIP"
reply="$(arp_reply c)"
note "ARP reply for $VIP: $reply"
[ "$reply" = "$VMAC" ] || fail "the VIP is answered by $reply, not $VMAC"

step "SIGTERM directord: keepalived takes the VIP, still answered as $VMAC; d's macvlan is gone"
stop_vrrp d TERM
wait_until 60 "the VIP is on k's vrrp.42" has_addr k vrrp.42 "$VIP"
wait_until 20 "the client pings the VIP through keepalived" ip netns exec c busybox ping -c 1 -W 1 "$VIP"
reply="$(arp_reply c)"
[ "$reply" = "$VMAC" ] || fail "after the failover the VIP is answered by $reply, not $VMAC"
ip -n d link show vrrp.42 >/dev/null 2>&1 && fail "d's vrrp.42 is still there after directord stopped"
[ "$(ip netns exec d cat /proc/sys/net/ipv4/conf/eth0/arp_ignore)" = "$arp_before" ] || fail "arp_ignore on d's eth0 was not restored to $arp_before"
note "ok: failover kept the MAC; directord cleaned up"

step "Restart directord: it preempts keepalived again and the VIP comes back to its macvlan"
start_vrrp d
wait_until 60 "the VIP is back on d's vrrp.42" has_addr d vrrp.42 "$VIP"
wait_until 30 "keepalived gave it up" bash -c "! ip -n k -o addr show dev vrrp.42 | matches ' $VIP/'"
stop_vrrp d TERM
printf '\nvrrp-vmac: use_vmac interoperates with keepalived 2.2.7, and the VIP keeps its MAC across a failover\n'
