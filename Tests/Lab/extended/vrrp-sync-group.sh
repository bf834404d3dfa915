# VRRP sync group on the real kernel: two directors (lab-vrrp, the VRRP host alone) with the LVS-NAT seed's pair
# {VIP on the outside, real servers' gateway on the inside}. The higher priority holds both; SIGKILL → the other
# holds both; restart → it preempts back; SIGTERM → the backup takes over at once (priority 0). A client's ARP
# entry follows the VIP (gratuitous ARP).
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-sync-group
mkdir -p "$out"
source "$LAB_REPO/Tests/Lab/vrrp-lib.sh"

step "Topology: lb1 and lb2 on br-out (203.0.113.0/24) and br-in (10.0.0.0/24), a client on br-out"
bridge_add br-out
bridge_add br-in
for ns in lb1 lb2 client; do ns_add "$ns"; done
ns_link lb1 eth0 br-out 203.0.113.2/24
ns_link lb1 eth1 br-in 10.0.0.2/24
ns_link lb2 eth0 br-out 203.0.113.3/24
ns_link lb2 eth1 br-in 10.0.0.3/24
ns_link client eth0 br-out 203.0.113.100/24

write_conf() {  # write_conf NS PRIORITY
    cat >"$out/$1.conf" <<CONF
vrrp_sync_group VG_DIRECTOR {
    group {
        VI_OUTSIDE
        VI_INSIDE
    }
    notify "/bin/sh -c 'echo \"\\\$@\" >>$out/$1.notify' notify"
}
vrrp_instance VI_OUTSIDE {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass outside1
    }
    virtual_ipaddress {
        203.0.113.10/24 dev eth0
    }
}
vrrp_instance VI_INSIDE {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority $2
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass inside01
    }
    virtual_ipaddress {
        10.0.0.254/24 dev eth1
    }
}
CONF
}
write_conf lb1 150
write_conf lb2 100

holds_both() { has_addr "$1" eth0 203.0.113.10 && has_addr "$1" eth1 10.0.0.254; }
holds_none() { ! has_addr "$1" eth0 203.0.113.10 && ! has_addr "$1" eth1 10.0.0.254; }
mac_of() { ip -n "$1" -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
client_sees() {  # client_sees NS: the VIP answers, and the client's ARP entry names NS's MAC
    ip netns exec client busybox ping -c 1 -W 1 203.0.113.10 >/dev/null 2>&1 &&
        ip -n client neigh show 203.0.113.10 | matches "lladdr $(mac_of "$1")"
}

step "Start both directors: lb1 (priority 150) becomes MASTER of the group and holds both addresses"
start_vrrp lb1
start_vrrp lb2
wait_until 60 "lb1 holds the VIP and the gateway" holds_both lb1
wait_until 30 "lb2 holds neither" holds_none lb2
sleep 3
holds_none lb2 || fail "lb2 took an address while lb1 is MASTER"
holds_both lb1 || fail "lb1 lost an address"
wait_until 30 "the client reaches the VIP at lb1's MAC" client_sees lb1
status_of lb1 | tee "$out/lb1.status.1" | sed 's/^/   | /'
expect_contains "lb1 reports MASTER" "$out/lb1.status.1" '"state" : "MASTER"'
status_of lb2 >"$out/lb2.status.1"
expect_contains "lb2 reports BACKUP" "$out/lb2.status.1" '"state" : "BACKUP"'
expect_contains "lb2 has received lb1's adverts" "$out/lb2.status.1" '"advertsReceived" : [1-9]'
expect_contains "lb2 sees lb1 as master" "$out/lb2.status.1" '"masterAddress" : "(203\.0\.113|10\.0\.0)\.2"'

step "SIGKILL lb1: lb2 takes both addresses (lb1's stay behind in its namespace, as with keepalived)"
stop_vrrp lb1 KILL
wait_until 60 "lb2 holds the VIP and the gateway" holds_both lb2
wait_until 30 "the client reaches the VIP at lb2's MAC (gratuitous ARP)" client_sees lb2
grep -E 'GROUP VG_DIRECTOR MASTER' "$out/lb2.notify" >/dev/null || { cat "$out/lb2.notify" >&2; fail "lb2's group notify did not say MASTER"; }
note "ok: lb2's group notify: $(tr '\n' ';' <"$out/lb2.notify")"

step "Restart lb1: it clears its leftovers, starts BACKUP and preempts back (higher priority)"
start_vrrp lb1
wait_until 60 "lb1 holds both again" holds_both lb1
wait_until 30 "lb2 released both" holds_none lb2
wait_until 30 "the client reaches the VIP at lb1's MAC again" client_sees lb1

step "SIGTERM lb1: it resigns (priority 0) and releases both; lb2 takes over"
stop_vrrp lb1 TERM
holds_none lb1 || fail "lb1 kept an address after a graceful stop"
note "ok: lb1 released both addresses"
wait_until 30 "lb2 holds both" holds_both lb2
grep -q 'VG_DIRECTOR STOP' "$out/lb1.notify" || { cat "$out/lb1.notify" >&2; fail "lb1's group notify did not say STOP"; }
note "ok: lb1's group notify ended with: $(tail -n 1 "$out/lb1.notify")"

printf '\nvrrp-sync-group: the pair moves together on the real kernel\n'
