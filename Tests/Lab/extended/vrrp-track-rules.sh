# track_file, track_process and virtual_rules in a vrrp_instance, directord against keepalived 2.2.7 on one bridge. directord
# (150) tracks a file with weight -60: 0 keeps it MASTER, 1 lowers it to 90 and keepalived (100) takes over, 0 again
# brings it back, 5 (-300) puts it in FAULT. Its virtual_rules rule is in `ip rule show` only while it is MASTER;
# keepalived, given the same virtual_rules, shows the rule only while it is MASTER too. Both run with mcast_dst_ip
# 224.0.0.100 (a sniffer sees every advert go there, none to 224.0.0.18) and promote_secondaries (1 on directord's
# eth0 while it runs, 0 again after it stops).
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-track-rules
mkdir -p "$out"
command -v keepalived >/dev/null || fail "keepalived is not installed"
trap 'rc=$?; [ $rc -eq 0 ] || { for f in d.log k.log; do echo "--- $f (last 25 lines)"; tail -n 25 "$out/$f" 2>/dev/null; done; } >&2; cleanup_bg' EXIT

step "Topology: namespace d (directord) and k (keepalived) on one bridge"
bridge_add br0
ns_add d
ns_add k
ns_link d eth0 br0 192.0.2.2/24
ns_link k eth0 br0 192.0.2.3/24

conf() {  # conf FILE PRIORITY [EXTRA...]: the instance both programs run
    local file="$1" priority="$2"
    shift 2
    {
        printf 'vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 71\n'
        printf '    priority %s\n    advert_int 1\n    mcast_dst_ip 224.0.0.100\n    promote_secondaries\n' "$priority"
        local line
        for line in "$@"; do printf '    %s\n' "$line"; done
        printf '    virtual_ipaddress {\n        192.0.2.90/24 dev eth0\n    }\n'
        printf '    virtual_rules {\n        from 192.0.2.90/32 table 100 preference 1000\n    }\n}\n'
    } >"$file"
}
conf "$out/d.instance" 150 "track_file {" "    maint" "}" "track_process {" "    chk_daemon" "}"
{
    printf 'track_file maint {\n    file %s/maint\n    weight -60\n    init_file 0 overwrite\n}\n' "$out"
    # A process of its own name (a copy of sleep), so the scenario's own sleeps never count.
    printf 'vrrp_track_process chk_daemon {\n    process trackedd\n    terminate_delay 1\n}\n'
    cat "$out/d.instance"
} >"$out/d.conf"
conf "$out/k.conf" 100

ip netns exec d "$DIRECTORD" -t -f "$out/d.conf" || fail "directord -t refuses the configuration"
ip netns exec d keepalived -t -f "$out/d.conf" >"$out/k-t.log" 2>&1 || { cat "$out/k-t.log"; fail "keepalived -t refuses directord's file"; }
note "ok: directord -t and keepalived -t accept the same file"

holds() { ip -n "$1" -o addr show dev eth0 | matches " 192\.0\.2\.90/"; }
lacks() { ! holds "$1"; }
has_rule() { ip -n "$1" rule show | matches -E '^1000:\s+from 192\.0\.2\.90 lookup 100'; }
no_rule() { ! has_rule "$1"; }
d_status() { "$DIRECTORCTL" status --json --socket "$out/d.sock" >"$out/d.status"; }
write() { printf '%s\n' "$1" >"$out/maint"; note "maint ← $1"; }

cat >"$out/sniff.py" <<'PY'
# "SRC > DST" for each IPv4 VRRP packet seen on the bridge port argv[2] for argv[1] seconds.
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
        print(socket.inet_ntoa(ip[12:16]), ">", socket.inet_ntoa(ip[16:20]), flush=True)
PY
python3 "$out/sniff.py" 600 vdeth0 >"$out/sniff.log" 2>&1 &
echo $! >>/tmp/lab-pids
sniffer=$!
promote() { ip netns exec d cat /proc/sys/net/ipv4/conf/eth0/promote_secondaries; }
test "$(promote)" = 0 || fail "promote_secondaries is already on in d"

cp "$(command -v sleep)" "$out/trackedd"
start_tracked() { "$out/trackedd" 100000 & echo $! >"$out/trackedd.pid"; echo $! >>/tmp/lab-pids; }
start_tracked

step "maint 0: directord (150) is MASTER with the rule; keepalived (100) BACKUP without it"
ip netns exec k keepalived -n -l -D -P -f "$out/k.conf" -p "$out/k.parent.pid" -r "$out/k.vrrp.pid" >>"$out/k.log" 2>&1 &
echo $! >>/tmp/lab-pids
wait_until 30 "keepalived's VRRP process runs" test -s "$out/k.vrrp.pid"
ip netns exec d "$DIRECTORD" -f "$out/d.conf" --socket "$out/d.sock" --pid-file "$out/d.pid" >>"$out/d.log" 2>&1 &
echo $! >"$out/d.daemon"
echo $! >>/tmp/lab-pids
wait_until 60 "directord answers in d" "$DIRECTORCTL" status --socket "$out/d.sock"
test "$(cat "$out/maint")" = 0 || fail "init_file did not write 0"
wait_until 60 "the VIP is on d" holds d
wait_until 30 "directord's virtual rule is in d" has_rule d
wait_until 30 "keepalived is BACKUP without the VIP" lacks k
no_rule k || fail "keepalived has the rule while BACKUP"
ip -n d rule show | sed 's/^/   d rule: /'
test "$(promote)" = 1 || fail "directord did not set promote_secondaries on eth0"
note "ok: promote_secondaries is 1 on d's eth0"

step "maint 1: priority 150 - 60 = 90 < 100 → keepalived takes over; directord's rule goes"
write 1
wait_until 60 "the VIP is on k" holds k
wait_until 30 "directord gave up the VIP" lacks d
wait_until 30 "directord's rule is gone" no_rule d
wait_until 30 "keepalived added its rule as MASTER" has_rule k
d_status
expect_contains "directord is BACKUP" "$out/d.status" '"state" : "BACKUP"'
expect_contains "at priority 90" "$out/d.status" '"priority" : 90'

step "maint 0: back to 150 → directord preempts and the rule returns"
write 0
wait_until 60 "the VIP is on d" holds d
wait_until 30 "directord's rule is back" has_rule d
wait_until 30 "keepalived gave up the VIP" lacks k
wait_until 30 "keepalived removed its rule" no_rule k

step "track_process: the tracked process ends → directord goes to FAULT; it starts again → directord is MASTER again"
kill "$(cat "$out/trackedd.pid")"
wait_until 60 "the VIP is on k" holds k
d_status
expect_contains "directord is in FAULT" "$out/d.status" '"state" : "FAULT"'
grep -q "vrrp_track_process chk_daemon: out of quorum" "$out/d.log" || fail "directord's log does not say chk_daemon lost its quorum"
start_tracked
wait_until 60 "the VIP is back on d" holds d
wait_until 30 "keepalived gave up the VIP" lacks k

step "maint 5: 5 × -60 = -300 ≤ -254 → directord goes to FAULT; keepalived takes over"
write 5
wait_until 60 "the VIP is on k" holds k
wait_until 30 "directord released the VIP" lacks d
no_rule d || fail "directord kept its rule in FAULT"
d_status
expect_contains "directord is in FAULT" "$out/d.status" '"state" : "FAULT"'

step "Stop both"
kill -TERM "$(cat "$out/d.daemon")"
wait_until 60 "directord exits on SIGTERM" sh -c "! kill -0 $(cat "$out/d.daemon") 2>/dev/null"
kill -TERM "$(cat "$out/k.parent.pid")"
wait_until 60 "keepalived exits" sh -c "! kill -0 $(cat "$out/k.parent.pid") 2>/dev/null"
no_rule d || fail "directord left its rule behind"
test "$(promote)" = 0 || fail "directord did not put promote_secondaries back"
note "ok: promote_secondaries is 0 again after directord stopped"
kill "$sniffer"
sort "$out/sniff.log" | uniq -c | sed 's/^/   VRRP packets: /'
expect_contains "directord's adverts went to 224.0.0.100" "$out/sniff.log" '^192\.0\.2\.2 > 224\.0\.0\.100$'
expect_contains "keepalived's adverts went to 224.0.0.100" "$out/sniff.log" '^192\.0\.2\.3 > 224\.0\.0\.100$'
if grep -v -q ' > 224\.0\.0\.100$' "$out/sniff.log"; then fail "VRRP packets to another destination than 224.0.0.100"; fi

printf '\nvrrp-track-rules: track_file moves directord MASTER → BACKUP → MASTER → FAULT against keepalived; virtual_rules follow MASTER; mcast_dst_ip and promote_secondaries as keepalived\n'
