# The seed's VIP pair for a proxy (seed 002 §3, the shape of seeds 000/003/004 too): no virtual_server, only a VIP
# that follows the proxy. Both directors run directord with the seed's seed002-proxy-ha{1,2}-chk-nginx.conf:
# `killall -0 nginx` tracked with a negative weight (ha1 100-5=95 < ha2's 99), notify_master/backup/fault scripts.
# Each director is a "machine" of its own (network, pid and /proc namespaces), so `killall -0 nginx` sees only its own
# proxy. The proxy is busybox httpd run as a binary named nginx, answering which director served. The tracked
# process dies → the VIP moves to ha2; it returns → the VIP moves back; ha1's link goes down → FAULT.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/seed-proxy-vip
fixtures="$LAB_REPO/Tests/DirectorConfigTests/Fixtures"
mkdir -p "$work/bin"
trap 'rc=$?; [ $rc -eq 0 ] || { for d in ha1 ha2; do echo "--- $d directord log (last 30 lines)"; tail -n 30 "$work/$d.log"; echo "--- $d processes"; [ ! -f "$work/$d.init" ] || nsenter -t "$(cat "$work/$d.init")" -p -m ps -eo pid,ppid,stat,comm,args; done; echo "--- notify log"; cat "$work/notify.log"; echo "--- client log (last 12 lines)"; tail -n 12 "$work/client.log" 2>/dev/null; } >&2; cleanup_bg; for d in ha1 ha2; do [ ! -f "$work/$d.init" ] || kill -KILL "$(cat "$work/$d.init")" 2>/dev/null || true; done' EXIT

VIP=172.16.23.80

step "Topology: a client and two proxy directors (ha1, ha2) on one network"
bridge_add br0
ns_add client
ns_link client eth0 br0 172.16.23.50/24
for d in ha1:101 ha2:102; do
    ns_add "${d%%:*}"
    ns_link "${d%%:*}" eth0 br0 "172.16.23.${d##*:}/24"
done
# killall matches the process name, which comes from the executable's file name: busybox copied as "nginx".
cp /bin/busybox "$work/bin/nginx"
note "client 172.16.23.50 -> VIP $VIP; ha1 172.16.23.101 (priority 100, weight -5), ha2 .102 (99, weight -2)"

step "Configuration: the seed's files, with the notify scripts' path changed and a check timeout"
: >"$work/notify.log"
for d in ha1 ha2; do
    mkdir -p "$work/$d/init.d" "$work/$d/www"
    echo "served by $d" >"$work/$d/www/index.html"
    # Stands in for the seed's /etc/rc.d/init.d/nginx: records which director called it and with what.
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$d" "$work/notify.log" >"$work/$d/init.d/nginx"
    chmod 755 "$work/$d/init.d/nginx"
    # The seed's check has interval 1 and so a 1 s timeout: killall can take longer under TCG.
    sed -e "s#/etc/rc.d/init.d/nginx#$work/$d/init.d/nginx#" -e 's/^interval 1$/&\ntimeout 20/' \
        "$fixtures/seed002-proxy-$d-chk-nginx.conf" >"$work/$d.conf"
done
diff "$fixtures/seed002-proxy-ha1-chk-nginx.conf" "$work/ha1.conf" | sed 's/^/   /' || true

# start_machine NAME: NAME's network namespace plus a pid namespace with its own /proc, held by an init that reaps
# orphans as a real init does: httpd's per-request children outlive a killed httpd, and a zombie named nginx left
# unreaped would keep `killall -0 nginx` succeeding for ever (kill(2) with signal 0 succeeds on a zombie).
start_machine() {
    ip netns exec "$1" unshare --pid --fork --mount-proc --kill-child \
        bash -c 'while :; do sleep 5 & wait $!; done' 2>>"$work/$1.machine.log" &
    echo $! >>/tmp/lab-pids
    local outer=$!
    wait_until 30 "$1 has its own pid namespace" pgrep -P "$outer"
    pgrep -P "$outer" >"$work/$1.init"
}
# in_machine NAME CMD...: runs CMD inside NAME (network, pid and mount namespaces); nsenter forks it and waits.
# exec: run in the background, $! is then nsenter itself, the parent of CMD.
in_machine() { local m="$1"; shift; exec nsenter -t "$(cat "$work/$m.init")" -n -p -m "$@"; }
start_director() {
    (in_machine "$1" "$DIRECTORD" -f "$work/$1.conf" --socket "$work/$1.sock" --pid-file "$work/$1.pid" \
        >>"$work/$1.log" 2>&1) &
    local outer=$!
    wait_until 30 "directord started on $1" pgrep -P "$outer"
    pgrep -P "$outer" >"$work/$1.daemon"
    cat "$work/$1.daemon" >>/tmp/lab-pids
    wait_until 60 "directord answers on $1" "$DIRECTORCTL" status --socket "$work/$1.sock"
}
start_nginx() {
    (in_machine "$1" bash -c "exec -a httpd '$work/bin/nginx' -f -p 80 -h '$work/$1/www'") &
    echo $! >"$work/$1.nsenter"
    echo $! >>/tmp/lab-pids
    wait_until 30 "$1's nginx runs" pgrep -P "$(cat "$work/$1.nsenter")" -x nginx
}
# stop_nginx MACHINE: the proxy and the children it forked per request. A child still serving a slow request is
# a process named nginx, so `killall -0 nginx` would go on succeeding: stopped first, they all go at once.
stop_nginx() {
    local p
    p="$(pgrep -P "$(cat "$work/$1.nsenter")" -x nginx)"
    kill -STOP "$p"
    pkill -KILL -P "$p" 2>/dev/null || true
    kill -KILL "$p"
}
has_addr() { ip -n "$1" -o addr show dev eth0 | matches " $2/"; }
lacks_addr() { ! has_addr "$@"; }
# notified LINE COUNT: LINE appears at least COUNT times in the notify log.
notified() { [ "$(grep -cx -- "$1" "$work/notify.log" || true)" -ge "$2" ]; }

step "Start both proxies, then both directors: ha1 (state MASTER, 100) holds the VIP"
for d in ha1 ha2; do start_machine "$d"; start_nginx "$d"; done
# ha1 first: started together, both may time out waiting for a master before the first advert arrives (TCG).
start_director ha1
wait_until 60 "ha1 holds the VIP" has_addr ha1 "$VIP"
start_director ha2
wait_until 30 "ha2 is BACKUP without the VIP" bash -c "'$DIRECTORCTL' status --socket '$work/ha2.sock' | matches BACKUP"
has_addr ha2 "$VIP" && fail "ha2 holds the VIP too"
wait_until 30 "notify_master ran on ha1: 'ha1 start'" notified "ha1 start" 1
wait_until 30 "notify_backup ran on ha2: 'ha2 restart'" notified "ha2 restart" 1
"$DIRECTORCTL" status --socket "$work/ha1.sock" | sed 's/^/   ha1 | /'

step "A client fetches through the VIP, continuously, from now on"
start_client client "http://$VIP/" "$work/client.log"
mark start
wait_until 30 "the client is served by ha1" last_served start 'served by ha1'

step "ha1's nginx dies: after 'fall 2' ha1 runs at 100-5=95 < 99, ha2 preempts and takes the VIP"
mark nginx-down
stop_nginx ha1
wait_until 60 "ha2 holds the VIP" has_addr ha2 "$VIP"
wait_until 30 "ha1 released the VIP" lacks_addr ha1 "$VIP"
wait_until 30 "the client is served by ha2" last_served nginx-down 'served by ha2'
"$DIRECTORCTL" status --socket "$work/ha1.sock" >"$work/ha1.status.down"
sed 's/^/   ha1 | /' "$work/ha1.status.down"
expect_contains "ha1 runs at priority 95" "$work/ha1.status.down" '\b95\b'
expect_contains "ha1's status shows the script down and why" "$work/ha1.status.down" 'last run .*exited with status 1: nginx: no process found'
wait_until 30 "notify_backup ran on ha1: 'ha1 restart'" notified "ha1 restart" 1
wait_until 30 "notify_master ran on ha2: 'ha2 start'" notified "ha2 start" 1
note "$(since_mark nginx-down | grep -c FAILED || true) requests failed while ha1 held the VIP without its proxy ('fall 2')"

step "ha1's nginx returns: after 'rise 1' ha1 is back at 100 > 99 and takes the VIP back"
mark nginx-up
start_nginx ha1
wait_until 60 "ha1 holds the VIP again" has_addr ha1 "$VIP"
wait_until 30 "ha2 released the VIP" lacks_addr ha2 "$VIP"
wait_until 30 "the client is served by ha1 again" last_served nginx-up 'served by ha1'
wait_until 30 "notify_master ran on ha1 again" notified "ha1 start" 2
wait_until 30 "notify_backup ran on ha2 again" notified "ha2 restart" 2
note "$(since_mark nginx-up | grep -c FAILED || true) requests failed during the move back"

step "ha1's link goes down: ha1 enters FAULT (notify_fault), ha2 takes the VIP"
mark fault
ip -n ha1 link set eth0 down
wait_until 60 "ha2 holds the VIP" has_addr ha2 "$VIP"
wait_until 30 "notify_fault ran on ha1: 'ha1 stop'" notified "ha1 stop" 1
wait_until 30 "notify_master ran on ha2 again" notified "ha2 start" 2
wait_until 30 "ha1 reports FAULT" bash -c "'$DIRECTORCTL' status --socket '$work/ha1.sock' | matches FAULT"
wait_until 30 "the client is served by ha2" last_served fault 'served by ha2'

step "What the notify scripts received"
sed 's/^/   | /' "$work/notify.log"
printf '\nseed-proxy-vip: %s requests, %s failed; the VIP followed the proxy and the link\n' \
    "$(grep -vc '^MARK' "$work/client.log")" "$(grep -c FAILED "$work/client.log" || true)"
