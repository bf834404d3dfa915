# The IPVS connection-sync daemon follows VRRP (lvs_sync_daemon eth1 VI_1 id 51): master on the MASTER, backup on
# the BACKUP, switched on failover and on preemption, stopped on a graceful stop — as `ipvsadm -Ln --daemon` shows
# in each director's namespace.
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-sync-daemon
mkdir -p "$out"
source "$LAB_REPO/Tests/Lab/vrrp-lib.sh"
ipvsadm -Ln >/dev/null || fail "IPVS is not available in the guest kernel"

step "Topology: lb1 and lb2, VRRP on eth0 (br-out), sync traffic on eth1 (br-sync)"
bridge_add br-out
bridge_add br-sync
ns_add lb1
ns_add lb2
ns_link lb1 eth0 br-out 203.0.113.2/24
ns_link lb1 eth1 br-sync 10.99.0.2/24
ns_link lb2 eth0 br-out 203.0.113.3/24
ns_link lb2 eth1 br-sync 10.99.0.3/24
VIP=203.0.113.10
conf() {  # conf NS PRIORITY
    cat >"$out/$1.conf" <<CONF
global_defs {
    lvs_sync_daemon eth1 VI_1 id 51
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int 1
    virtual_ipaddress {
        $VIP/24 dev eth0
    }
}
CONF
}
conf lb1 150
conf lb2 100
holds() { has_addr "$1" eth0 "$VIP"; }
daemons() { ip netns exec "$1" ipvsadm -Ln --daemon; }
# daemon_is NS ROLE: exactly one sync daemon in NS, ROLE, on eth1 with syncid 51.
daemon_is() {
    local lines
    lines="$(daemons "$1")"
    [ "$(printf '%s\n' "$lines" | grep -c .)" -eq 1 ] && printf '%s\n' "$lines" | matches -E "^$2 sync daemon \(mcast=eth1, syncid=51"
}
no_daemon() { [ -z "$(daemons "$1")" ]; }
show() { daemons "$1" | sed "s/^/   | $1: /"; }

step "lb1 (150) is MASTER: master daemon on lb1, backup daemon on lb2"
start_vrrp lb1
start_vrrp lb2
wait_until 60 "the VIP is on lb1" holds lb1
wait_until 30 "lb1 runs the master sync daemon only" daemon_is lb1 master
wait_until 30 "lb2 runs the backup sync daemon only" daemon_is lb2 backup
show lb1
show lb2

step "SIGKILL lb1: lb2 becomes MASTER and switches to the master daemon"
stop_vrrp lb1 KILL
wait_until 60 "the VIP is on lb2" holds lb2
wait_until 30 "lb2 runs the master sync daemon only" daemon_is lb2 master
show lb2

step "Restart lb1: BACKUP at first (backup daemon, replacing the kernel's leftover master), then it preempts"
start_vrrp lb1
wait_until 60 "the VIP is back on lb1" holds lb1
wait_until 30 "lb1 runs the master sync daemon only" daemon_is lb1 master
wait_until 30 "lb2 is back to the backup sync daemon only" daemon_is lb2 backup
# Once per run of lb1: the first start and the restart each began as BACKUP.
[ "$(grep -c 'lvs_sync_daemon: backup' "$out/lb1.log")" -ge 2 ] || fail "the restarted lb1 did not run the backup daemon while BACKUP"
note "ok: the restarted lb1 ran the backup daemon before the master one"
show lb1
show lb2

step "SIGTERM lb2: its sync daemon is stopped"
stop_vrrp lb2 TERM
wait_until 30 "lb2 runs no sync daemon" no_daemon lb2
daemon_is lb1 master || fail "lb1's master daemon was disturbed"
note "ok: lb1 still runs the master daemon"

printf '\nvrrp-sync-daemon: the sync daemon follows the VRRP state\n'
