# Interop with keepalived 2.2.7 in the same VRID, both ways, VRRPv2 with PASS authentication, VRRPv2 with IPsec AH
# authentication and VRRPv3 (0.5 s): the higher priority wins whichever program it is, and killing either makes the
# other MASTER. With AH, a different auth_pass is refused by name.
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-keepalived
mkdir -p "$out"
source "$LAB_REPO/Tests/Lab/vrrp-lib.sh"
command -v keepalived >/dev/null || fail "keepalived is not installed"
note "$(keepalived --version 2>&1 | head -n 1)"

step "Topology: namespace d (directord's VRRP) and k (keepalived) on one bridge"
bridge_add br0
ns_add d
ns_add k
ns_link d eth0 br0 192.0.2.2/24
ns_link k eth0 br0 192.0.2.3/24
VIP=192.0.2.10

conf() {  # conf FILE VERSION|ah PRIORITY [PASSWORD]: the same instance for both programs
    local auth="" interval=1 version="$2"
    if [ "$2" = 2 ]; then
        auth="authentication {
        auth_type PASS
        auth_pass s3cret
    }"
    elif [ "$2" = ah ]; then
        version=2
        auth="authentication {
        auth_type AH
        auth_pass ${4:-s3cret}
    }"
    else
        interval=0.5
    fi
    cat >"$1" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 42
    version $version
    priority $3
    advert_int $interval
    $auth
    virtual_ipaddress {
        $VIP/24 dev eth0
    }
}
CONF
}

start_keepalived() {
    ip netns exec k keepalived -n -l -D -P -f "$out/k.conf" -p "$out/k.parent.pid" -r "$out/k.vrrp.pid" >>"$out/k.log" 2>&1 &
    echo $! >>/tmp/lab-pids
    note "keepalived started in k"
}

# SIGKILL keepalived: the parent is stopped first so it cannot respawn (or gracefully stop) its VRRP child.
kill_keepalived() {
    local parent child
    parent="$(cat "$out/k.parent.pid")"
    child="$(cat "$out/k.vrrp.pid")"
    kill -STOP "$parent"
    kill -KILL "$child"
    kill -KILL "$parent"
    wait_until 30 "keepalived is gone" sh -c "! kill -0 $parent 2>/dev/null && ! kill -0 $child 2>/dev/null"
    rm -f "$out/k.parent.pid" "$out/k.vrrp.pid"
}

expect_no_drops() {  # expect_no_drops STATUS_FILE: every drop counter map is empty
    if tr -d '\n ' <"$1" | matches '"drops":{"'; then
        cat "$1" >&2
        fail "directord dropped adverts"
    fi
    tr -d '\n ' <"$1" | matches '"drops":{}' || fail "no drops field in the status"
    note "ok: no advert dropped"
}

holds() { has_addr "$1" eth0 "$VIP"; }
lacks() { ! has_addr "$1" eth0 "$VIP"; }

clear_vip() {  # leftovers of a SIGKILL, so the next round starts clean
    local ns
    for ns in d k; do ip -n "$ns" addr del "$VIP/24" dev eth0 2>/dev/null || true; done
}

for version in 2 ah 3; do
    step "VRRPv$version: directord priority 150, keepalived 100 → directord is MASTER"
    conf "$out/d.conf" "$version" 150
    conf "$out/k.conf" "$version" 100
    # directord is MASTER before keepalived starts: started together, on a loaded host both master-down timers
    # (3.41 s and 3.61 s) can expire in the same moment, and under AH each side then drops the other's sequence
    # number 1 as a replay (keepalived logs "sequence number 1 already processed"), as two keepalived would.
    start_vrrp d
    wait_until 60 "the VIP is on d" holds d
    start_keepalived
    wait_until 30 "keepalived (k) is BACKUP without the VIP" lacks k
    sleep 5  # longer than keepalived's master-down interval: it stays BACKUP because it hears directord
    lacks k || fail "keepalived took the VIP from a higher-priority directord"
    status_of d >"$out/d.status.$version"
    expect_contains "directord reports MASTER" "$out/d.status.$version" '"state" : "MASTER"'
    expect_no_drops "$out/d.status.$version"

    step "VRRPv$version: SIGKILL directord → keepalived becomes MASTER"
    stop_vrrp d KILL
    wait_until 60 "the VIP is on k" holds k
    grep -q "Entering MASTER STATE" "$out/k.log" || fail "keepalived did not log MASTER"
    kill_keepalived
    clear_vip

    step "VRRPv$version: keepalived priority 150, directord 100 → keepalived is MASTER"
    conf "$out/d.conf" "$version" 100
    conf "$out/k.conf" "$version" 150
    : >"$out/k.log"
    start_keepalived
    start_vrrp d
    wait_until 60 "the VIP is on k" holds k
    wait_until 30 "directord (d) is BACKUP without the VIP" lacks d
    sleep 3
    lacks d || fail "directord took the VIP from a higher-priority keepalived"
    status_of d >"$out/d.status.$version.b"
    expect_contains "directord reports BACKUP" "$out/d.status.$version.b" '"state" : "BACKUP"'
    expect_contains "directord sees keepalived as master" "$out/d.status.$version.b" '"masterAddress" : "192\.0\.2\.3"'
    expect_contains "directord accepted keepalived's adverts" "$out/d.status.$version.b" '"advertsReceived" : [1-9]'
    expect_no_drops "$out/d.status.$version.b"

    step "VRRPv$version: SIGKILL keepalived → directord becomes MASTER"
    kill_keepalived
    wait_until 60 "the VIP is on d" holds d
    stop_vrrp d TERM
    lacks d || fail "directord kept the VIP after SIGTERM"
    clear_vip
done

step "VRRPv2 with AH and another auth_pass on keepalived's side: directord drops its adverts as failing the HMAC"
conf "$out/d.conf" ah 100
conf "$out/k.conf" ah 150 other
: >"$out/k.log"
start_keepalived
start_vrrp d
wait_until 60 "the VIP is on k" holds k
wait_until 60 "directord, hearing no valid advert, is MASTER too" holds d
status_of d >"$out/d.status.wrong"
expect_contains "directord counts the adverts it dropped for authentication" "$out/d.status.wrong" '"auth" : [1-9]'
grep -q "HMAC-MD5 does not match" "$out/d.log" || fail "directord's log does not say why it dropped keepalived's adverts"
kill_keepalived
stop_vrrp d TERM
clear_vip

printf '\nvrrp-keepalived: directord and keepalived 2.2.7 elect each other in v2 (PASS), v2 (IPsec AH) and v3\n'
