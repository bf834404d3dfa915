# Malformed adverts from a namespace (short, bad checksum, TTL 64, wrong password), each carrying priority 200
# against a MASTER at 100: all dropped and counted per reason, never a state change, never a crash. A good advert
# with the same priority afterwards does move the MASTER to BACKUP (proof that the sender reaches it).
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-malformed
mkdir -p "$out"
source "$LAB_REPO/Tests/Lab/vrrp-lib.sh"

step "Topology: d runs VRRP; atk sends handcrafted packets on the same bridge"
bridge_add br0
ns_add d
ns_add atk
ns_link d eth0 br0 192.0.2.2/24
ns_link atk eth0 br0 192.0.2.66/24
ip -n atk route add 224.0.0.0/4 dev eth0
cat >"$out/d.conf" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass good-pw
    }
    virtual_ipaddress {
        192.0.2.10/24 dev eth0
    }
}
CONF
cat >"$out/send.py" <<'PY'
# send.py KIND COUNT [INTERVAL]: VRRPv2 adverts for VRID 51, priority 200, from 192.0.2.66 to 224.0.0.18, spoiled
# as KIND, INTERVAL seconds apart (default 0).
import socket, struct, sys, time

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def advert(password=b"good-pw", priority=200):
    body = bytes([0x21, 51, priority, 1, 1, 1, 0, 0]) + socket.inet_aton("192.0.2.10") + password.ljust(8, b"\0")[:8]
    c = checksum(body)
    return body[:6] + struct.pack("!H", c) + body[8:]

kind, count = sys.argv[1], int(sys.argv[2])
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
ttl = 255
payload = advert()
if kind == "short":
    payload = payload[:4]
elif kind == "checksum":
    payload = payload[:6] + bytes([payload[6] ^ 0xFF, payload[7]]) + payload[8:]
elif kind == "ttl":
    ttl = 64
elif kind == "auth":
    payload = advert(password=b"bad-pw")
elif kind != "good":
    sys.exit("unknown kind " + kind)
src, dst = socket.inet_aton("192.0.2.66"), socket.inet_aton("224.0.0.18")
# The kernel fills in the total length and the header checksum (IP_HDRINCL).
header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 0, 0, 0, ttl, 112, 0, src, dst)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
for i in range(count):
    if i:
        time.sleep(interval)
    s.sendto(header + payload, ("224.0.0.18", 0))
print("sent %d %s packet(s)" % (count, kind))
PY
holds() { has_addr d eth0 192.0.2.10; }

step "d is MASTER alone"
start_vrrp d
wait_until 60 "d holds the VIP" holds
transitions() { grep -c '^event: instanceState' "$out/d.log"; }
before="$(transitions)"

step "Send 3 of each malformed kind"
for kind in short checksum ttl auth; do
    ip netns exec atk python3 "$out/send.py" "$kind" 3 | sed 's/^/   /'
done
counted() { status_of d >"$out/status"; tr -d '\n ' <"$out/status" | matches "$1"; }
wait_until 30 "3 truncated" counted '"truncated":3'
wait_until 30 "3 bad checksums" counted '"checksum":3'
wait_until 30 "3 with TTL 64" counted '"ttl":3'
wait_until 30 "3 with the wrong password" counted '"auth":3'
sed 's/^/   | /' "$out/status"
expect_contains "d is still MASTER" "$out/status" '"state" : "MASTER"'
expect_contains "nothing was accepted" "$out/status" '"advertsReceived" : 0'
holds || fail "d lost the VIP"
kill -0 "$(cat "$out/d.pid")" || fail "lab-vrrp died"
[ "$(transitions)" = "$before" ] || { grep '^event' "$out/d.log" >&2; fail "a malformed packet changed the state"; }
note "ok: no state change, still running, VIP held"

step "Control: well-formed adverts with priority 200 are accepted and d steps down"
# One a second for as long as the checks take: a single advert would leave d BACKUP for only 3.6 s (master down
# interval), which a slow lab can outlast between the VIP check and the status read.
ip netns exec atk python3 "$out/send.py" good 300 1 >"$out/good.log" 2>&1 &
echo $! >>/tmp/lab-pids
wait_until 30 "d released the VIP" bash -c "! ip -n d -o addr show dev eth0 | matches ' 192.0.2.10/'"
status_of d >"$out/status.after"
expect_contains "d is BACKUP" "$out/status.after" '"state" : "BACKUP"'
expect_contains "d saw the sender as master" "$out/status.after" '"masterAddress" : "192\.0\.2\.66"'

printf '\nvrrp-malformed: bad adverts are dropped and counted without a state change\n'
