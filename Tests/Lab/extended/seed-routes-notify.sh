# Seed 001's public VIP (seed001-nginx-public-vip-addresses.conf): VRRP adverts on eth0, the VIP on eth1 (`dev eth1`),
# a default route via the public gateway in virtual_routes, a check script without weight (failure = FAULT) and one
# `notify` script. d1 runs the seed's file with only the script paths changed; d2, the peer the seed implies, is the
# same file at priority 70. virtual_routes are present on the MASTER only; notify receives "INSTANCE name state prio".
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/seed-routes-notify
fixtures="$LAB_REPO/Tests/DirectorConfigTests/Fixtures"
mkdir -p "$work"
trap 'rc=$?; [ $rc -eq 0 ] || { for d in d1 d2; do echo "--- $d directord log (last 30 lines)"; tail -n 30 "$work/$d.log"; done; echo "--- notify log"; cat "$work/notify.log"; } >&2; cleanup_bg' EXIT

VIP=203.0.113.10
GW=203.0.113.1
FAR=198.51.100.1

step "Topology: d1, d2 with eth0 on a private VRRP network and eth1 on the public one; a gateway"
bridge_add brvrrp
bridge_add brpub
ns_add gw
ns_link gw eth0 brpub "$GW/24"
# A host beyond the gateway: reachable from a director only through the virtual route.
ip -n gw addr add "$FAR/32" dev lo
ns_add d1
ns_add d2
ns_link d1 eth0 brvrrp 10.0.0.2/24
ns_link d2 eth0 brvrrp 10.0.0.3/24
# Each director's own public address keeps the connected route: a vanished default route is directord's doing.
ns_link d1 eth1 brpub 203.0.113.2/24
ns_link d2 eth1 brpub 203.0.113.3/24
note "VIP $VIP/24 dev eth1; default route via $GW dev eth1; $FAR lies beyond the gateway"

step "Configuration: the seed's file, script paths changed, a check timeout; d2 at priority 70"
: >"$work/notify.log"
for d in d1:80 d2:70; do
    name="${d%%:*}"
    mkdir -p "$work/$name"
    # The seed's send_msg.sh: records the director and the arguments directord passed.
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$name" "$work/notify.log" >"$work/$name/send_msg.sh"
    # The seed's check_nginx.sh: fails while the flag file exists.
    printf '#!/bin/sh\n[ ! -e "%s" ]\n' "$work/$name/nginx.down" >"$work/$name/check_nginx.sh"
    chmod 755 "$work/$name/send_msg.sh" "$work/$name/check_nginx.sh"
    # The seed's check has interval 1 and so a 1 s timeout: a fork and exec can take longer under TCG.
    sed -e "s#/opt/scripts/keepalived/#$work/$name/#" -e "s/priority 80/priority ${d##*:}/" \
        -e 's/^\( *\)interval 1$/&\n\1timeout 20/' \
        "$fixtures/seed001-nginx-public-vip-addresses.conf" >"$work/$name.conf"
done
diff "$fixtures/seed001-nginx-public-vip-addresses.conf" "$work/d2.conf" | sed 's/^/   /' || true

start_director() {
    ip netns exec "$1" "$DIRECTORD" -f "$work/$1.conf" --socket "$work/$1.sock" --pid-file "$work/$1.pid" \
        >>"$work/$1.log" 2>&1 &
    echo $! >>/tmp/lab-pids
}
has_vip() { ip -n "$1" -o addr show dev eth1 | matches " $VIP/24"; }
lacks_vip() { ! has_vip "$1"; }
has_route() { ip -n "$1" route show default | matches "^default via $GW dev eth1"; }
lacks_route() { ! ip -n "$1" route show default | matches .; }
notified() { grep -qx -- "$1" "$work/notify.log"; }
# notified_after N LINE: LINE is in the notify log after its first N lines.
notified_after() { tail -n +"$(($1 + 1))" "$work/notify.log" | matches -x -- "$2"; }
routes() { ip -n "$1" route show | sed "s/^/   $1 | /"; }

step "Start: d1 (80) becomes MASTER with the VIP on eth1 and the default route; d2 (70) is BACKUP without either"
# d1 first: started together, both may time out waiting for a master before the first advert arrives (TCG).
start_director d1
wait_until 60 "d1 holds the VIP on eth1" has_vip d1
wait_until 30 "d1 has the virtual route" has_route d1
start_director d2
wait_until 60 "notify: d2 INSTANCE TanChuang_1 BACKUP 70" notified "d2 INSTANCE TanChuang_1 BACKUP 70"
has_vip d2 && fail "d2 holds the VIP too"
lacks_route d2 || { routes d2; fail "d2 has a default route while BACKUP"; }
ip -n d1 -o addr show dev eth0 | matches " $VIP/" && fail "the VIP landed on eth0, not on its dev"
note "ok: d2 has neither; the VIP is not on eth0"
routes d1
routes d2
wait_until 30 "the gateway reaches the VIP" ip netns exec gw busybox ping -c 1 -W 1 "$VIP"
wait_until 30 "d1 reaches $FAR through the virtual route" ip netns exec d1 busybox ping -c 1 -W 1 "$FAR"
wait_until 30 "notify: d1 INSTANCE TanChuang_1 MASTER 80" notified "d1 INSTANCE TanChuang_1 MASTER 80"

step "d1's check script fails: d1 enters FAULT and drops VIP and route; d2 becomes MASTER with both"
seen=$(wc -l <"$work/notify.log")
touch "$work/d1/nginx.down"
wait_until 60 "d2 holds the VIP on eth1" has_vip d2
wait_until 30 "d2 has the virtual route" has_route d2
wait_until 30 "d1 released the VIP" lacks_vip d1
wait_until 30 "d1's virtual route is gone" lacks_route d1
routes d1
routes d2
wait_until 30 "d2 reaches $FAR through the virtual route" ip netns exec d2 busybox ping -c 1 -W 1 "$FAR"
wait_until 30 "notify: d1 INSTANCE TanChuang_1 FAULT 80" notified_after "$seen" "d1 INSTANCE TanChuang_1 FAULT 80"
wait_until 30 "notify: d2 INSTANCE TanChuang_1 MASTER 70" notified_after "$seen" "d2 INSTANCE TanChuang_1 MASTER 70"

step "d1's check passes again: d1 leaves FAULT, preempts (80 > 70); d2 goes BACKUP and removes its route"
seen=$(wc -l <"$work/notify.log")
rm "$work/d1/nginx.down"
wait_until 60 "d1 holds the VIP again" has_vip d1
wait_until 30 "d1 has the virtual route again" has_route d1
wait_until 30 "d2 released the VIP" lacks_vip d2
wait_until 30 "d2's virtual route is gone (BACKUP)" lacks_route d2
routes d1
routes d2
wait_until 30 "notify: d1 INSTANCE TanChuang_1 MASTER 80 (again)" notified_after "$seen" "d1 INSTANCE TanChuang_1 MASTER 80"
wait_until 30 "notify: d2 INSTANCE TanChuang_1 BACKUP 70 (again)" notified_after "$seen" "d2 INSTANCE TanChuang_1 BACKUP 70"
"$DIRECTORCTL" status --socket "$work/d2.sock" | sed 's/^/   d2 | /'

step "What the notify script received"
sed 's/^/   | /' "$work/notify.log"
printf '\nseed-routes-notify: the VIP on its own dev, virtual routes with the MASTER, notify arguments as documented\n'
