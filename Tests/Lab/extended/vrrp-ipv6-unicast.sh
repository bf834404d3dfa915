# VRRP beyond IPv4 multicast, with keepalived 2.2.7 as the peer: (1) VRRPv3 over IPv6 (adverts from the link-local
# address to ff02::12, an IPv6 VIP) and (2) unicast peers over IPv4 (unicast_src_ip / unicast_peer). In each, the
# higher priority wins whichever program it is and killing it makes the other MASTER; for unicast, a sniffer on the
# bridge shows that every advert went to the peer's address and none to 224.0.0.18. (3) unicast_ttl 7 and
# check_unicast_src: directord's adverts leave with TTL 7 and keepalived obeys them; higher-priority adverts from an
# address that is not directord's unicast_peer are dropped and directord stays MASTER.
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-ipv6-unicast
mkdir -p "$out"
command -v keepalived >/dev/null || fail "keepalived is not installed"
trap 'rc=$?; [ $rc -eq 0 ] || { for f in d.log k.log; do echo "--- $f (last 25 lines)"; tail -n 25 "$out/$f" 2>/dev/null; done; } >&2; cleanup_bg' EXIT

step "Topology: namespace d (directord) and k (keepalived) on one bridge, IPv4 and IPv6, no DAD delay"
bridge_add br0
for ns in d k; do
    ns_add "$ns"
    # Link-local addresses usable at once: VRRPv3 over IPv6 sends from the link-local address.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
done
ns_link d eth0 br0 192.0.2.2/24 2001:db8:23::2/64
ns_link k eth0 br0 192.0.2.3/24 2001:db8:23::3/64
note "d 192.0.2.2 2001:db8:23::2, k 192.0.2.3 2001:db8:23::3"

start_directord() {
    ip netns exec d "$DIRECTORD" -f "$out/d.conf" --socket "$out/d.sock" --pid-file "$out/d.pid" >>"$out/d.log" 2>&1 &
    echo $! >"$out/d.daemon"
    echo $! >>/tmp/lab-pids
    wait_until 60 "directord answers in d" "$DIRECTORCTL" status --socket "$out/d.sock"
}
kill_directord() {
    kill -KILL "$(cat "$out/d.daemon")"
    wait_until 30 "directord is gone" sh -c "! kill -0 $(cat "$out/d.daemon") 2>/dev/null"
}
start_keepalived() {
    ip netns exec k keepalived -n -l -D -P -f "$out/k.conf" -p "$out/k.parent.pid" -r "$out/k.vrrp.pid" >>"$out/k.log" 2>&1 &
    echo $! >>/tmp/lab-pids
    wait_until 30 "keepalived's VRRP process runs" test -s "$out/k.vrrp.pid"
}
# SIGKILL keepalived: the parent is stopped first so it cannot respawn (or gracefully stop) its VRRP child.
kill_keepalived() {
    local parent child
    parent="$(cat "$out/k.parent.pid")"
    child="$(cat "$out/k.vrrp.pid")"
    kill -STOP "$parent"
    kill -KILL "$child" "$parent"
    wait_until 30 "keepalived is gone" sh -c "! kill -0 $parent 2>/dev/null && ! kill -0 $child 2>/dev/null"
    rm -f "$out/k.parent.pid" "$out/k.vrrp.pid"
}
holds() { ip -n "$1" -o addr show dev eth0 | matches " $2/"; }
lacks() { ! holds "$@"; }
d_status() { "$DIRECTORCTL" status --json --socket "$out/d.sock"; }
no_drops() {  # the last status shows an empty drop-counter map
    tr -d '\n ' <"$out/d.status" | matches '"drops":{}' || { cat "$out/d.status" >&2; fail "directord dropped adverts"; }
    note "ok: directord dropped no advert"
}
clear_vip() { for ns in d k; do ip -n "$ns" addr del "$1" dev eth0 2>/dev/null || true; done; }

# conf FILE PRIORITY VRID VIP [EXTRA...]: one instance, the same text for both programs.
conf() {
    local file="$1" priority="$2" vrid="$3" vip="$4"
    shift 4
    {
        printf 'vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id %s\n' "$vrid"
        # VRRPv2 counts whole seconds; v3 runs at 0.5 s.
        local interval=0.5
        case " $* " in *" version 2 "*) interval=1 ;; esac
        printf '    priority %s\n    advert_int %s\n' "$priority" "$interval"
        local line
        for line in "$@"; do printf '    %s\n' "$line"; done
        printf '    virtual_ipaddress {\n        %s dev eth0\n    }\n}\n' "$vip"
    } >"$file"
}

# duel NAME VIP: directord 150 vs keepalived 100, then the reverse; the loser takes over when the winner is killed.
duel() {
    local name="$1" vip="$2" addr="${2%/*}"
    step "$name: directord priority 150, keepalived 100 → directord is MASTER"
    : >"$out/k.log"
    start_directord
    start_keepalived
    wait_until 60 "the VIP $addr is on d" holds d "$addr"
    wait_until 30 "keepalived is BACKUP without it" lacks k "$addr"
    sleep 2
    lacks k "$addr" || fail "keepalived took the VIP from a higher-priority directord"
    d_status >"$out/d.status"
    expect_contains "directord reports MASTER" "$out/d.status" '"state" : "MASTER"'
    no_drops

    step "$name: SIGKILL directord → keepalived becomes MASTER"
    kill_directord
    wait_until 60 "the VIP $addr is on k" holds k "$addr"
    kill_keepalived
    clear_vip "$vip"

    step "$name: keepalived priority 150, directord 100 → keepalived is MASTER; SIGKILL it → directord"
    sed -i 's/priority 150/priority X/; s/priority 100/priority 150/; s/priority X/priority 100/' "$out/d.conf" "$out/k.conf"
    : >"$out/k.log"
    start_keepalived
    wait_until 60 "the VIP $addr is on k" holds k "$addr"
    start_directord
    sleep 3
    lacks d "$addr" || fail "directord took the VIP from a higher-priority keepalived"
    d_status >"$out/d.status"
    expect_contains "directord reports BACKUP" "$out/d.status" '"state" : "BACKUP"'
    expect_contains "directord accepted keepalived's adverts" "$out/d.status" '"advertsReceived" : [1-9]'
    no_drops
    sed 's/^/   d | /' "$out/d.status" | grep -E 'masterAddress|advertsReceived|"state"'
    kill_keepalived
    wait_until 60 "the VIP $addr is on d" holds d "$addr"
    kill -TERM "$(cat "$out/d.daemon")"
    wait_until 60 "directord exits on SIGTERM" sh -c "! kill -0 $(cat "$out/d.daemon") 2>/dev/null"
    lacks d "$addr" || fail "directord kept the VIP after SIGTERM"
    clear_vip "$vip"
}

conf "$out/d.conf" 150 61 "2001:db8:23::80/64" "version 3"
conf "$out/k.conf" 100 61 "2001:db8:23::80/64" "version 3"
duel "VRRPv3 over IPv6" "2001:db8:23::80/64"
expect_contains "directord saw keepalived's link-local address as master" "$out/d.status" '"masterAddress" : "fe80::'

conf "$out/d.conf" 150 62 "192.0.2.80/24" "version 2" "unicast_src_ip 192.0.2.2" "unicast_peer {" "    192.0.2.3" "}"
conf "$out/k.conf" 100 62 "192.0.2.80/24" "version 2" "unicast_src_ip 192.0.2.3" "unicast_peer {" "    192.0.2.2" "}"

step "Unicast: a sniffer on the bridge records every VRRP packet's addresses while both run"
cat >"$out/sniff.py" <<'PY'
# Prints "SRC > DST" for each IPv4 packet of protocol 112 on the bridge port argv[2] for argv[1] seconds (a bridge
# device itself does not see the frames it forwards between two ports; a port sees both directions).
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((sys.argv[2], 0))
s.settimeout(0.5)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    try:
        frame = s.recv(2048)
    except socket.timeout:
        continue
    ip = frame[14:]
    if frame[12:14] == b"\x08\x00" and len(ip) >= 20 and ip[9] == 112:
        print(socket.inet_ntoa(ip[12:16]), ">", socket.inet_ntoa(ip[16:20]), "ttl", ip[8], flush=True)
PY
# d's port on the bridge (lib.sh's ns_link names it v + namespace + interface).
python3 "$out/sniff.py" 600 vdeth0 >"$out/sniff.log" 2>&1 &
echo $! >>/tmp/lab-pids
sniffer=$!
duel "VRRPv2 unicast" "192.0.2.80/24"
kill "$sniffer"
sort "$out/sniff.log" | uniq -c | sed 's/^/   VRRP packets: /'
expect_contains "directord's adverts went to its unicast peer" "$out/sniff.log" '^192\.0\.2\.2 > 192\.0\.2\.3 ttl 255$'
expect_contains "keepalived's adverts went to its unicast peer" "$out/sniff.log" '^192\.0\.2\.3 > 192\.0\.2\.2 ttl 255$'
if grep -v -E '^192\.0\.2\.(2 > 192\.0\.2\.3|3 > 192\.0\.2\.2) ttl 255$' "$out/sniff.log" | matches .; then
    fail "VRRP packets to other destinations (multicast?) during the unicast rounds"
fi
note "ok: no VRRP packet went anywhere but the unicast peer"

step "unicast_ttl 7 and check_unicast_src: directord (150) MASTER over keepalived (100); a stranger's advert is dropped"
conf "$out/d.conf" 150 63 "192.0.2.81/24" "version 2" "unicast_src_ip 192.0.2.2" "unicast_ttl 7" "check_unicast_src" \
    "unicast_peer {" "    192.0.2.3" "}"
conf "$out/k.conf" 100 63 "192.0.2.81/24" "version 2" "unicast_src_ip 192.0.2.3" "unicast_peer {" "    192.0.2.2" "}"
: >"$out/k.log"
python3 "$out/sniff.py" 600 vdeth0 >"$out/sniff-ttl.log" 2>&1 &
echo $! >>/tmp/lab-pids
sniffer=$!
start_directord
start_keepalived
wait_until 60 "the VIP 192.0.2.81 is on d" holds d 192.0.2.81
sleep 3
# keepalived checks no TTL on unicast: it obeys directord's TTL-7 adverts and stays BACKUP.
lacks k 192.0.2.81 || fail "keepalived took the VIP: it did not accept directord's TTL-7 adverts"
note "ok: keepalived stays BACKUP on directord's TTL-7 adverts"
# A higher-priority advert (200) for the same VRID from 192.0.2.33, which is not directord's unicast_peer.
ip -n k addr add 192.0.2.33/24 dev eth0
cat >"$out/stranger.py" <<'PY'
import socket, struct
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
# VRRPv2: header, the address, then 8 bytes of authentication data (zero with no authentication).
body = bytes([0x21, 63, 200, 1, 0, 1, 0, 0]) + socket.inet_aton("192.0.2.81") + bytes(8)
pkt = body[:6] + struct.pack("!H", csum(body)) + body[8:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 255)
s.bind(("192.0.2.33", 0))
for _ in range(3): s.sendto(pkt, ("192.0.2.2", 0))
PY
ip netns exec k python3 "$out/stranger.py"
sleep 1
d_status >"$out/d.status"
expect_contains "directord counted the stranger's adverts as drops (reason source)" "$out/d.status" '"source" : 3'
expect_contains "directord is still MASTER" "$out/d.status" '"state" : "MASTER"'
holds d 192.0.2.81 || fail "directord gave up the VIP to an advert from a stranger"
kill "$sniffer"
sort "$out/sniff-ttl.log" | uniq -c | sed 's/^/   VRRP packets: /'
expect_contains "directord's adverts carry TTL 7" "$out/sniff-ttl.log" '^192\.0\.2\.2 > 192\.0\.2\.3 ttl 7$'
if grep -E '^192\.0\.2\.2 ' "$out/sniff-ttl.log" | matches -v ' ttl 7$'; then fail "an advert of directord's left with another TTL"; fi
kill -TERM "$(cat "$out/d.daemon")"
wait_until 60 "directord exits on SIGTERM" sh -c "! kill -0 $(cat "$out/d.daemon") 2>/dev/null"
kill_keepalived
clear_vip 192.0.2.81/24

printf '\nvrrp-ipv6-unicast: directord and keepalived 2.2.7 elect each other over IPv6 (v3) and over IPv4 unicast; unicast_ttl and check_unicast_src work against keepalived\n'
