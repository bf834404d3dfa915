# kill -9 in the middle of a reload, then a start with the new configuration: the table converges to the new plan,
# no real is lost, a service the reload dropped is removed (directord's record of the services it owns), the
# counters of the untouched real are kept, and a client going through the VIP never notices. directord runs with
# small netlink windows (DIRECTORD_IPVS_WINDOW), so a reload spans many datagrams and the kill, sent the moment the
# first new weight shows in the kernel, lands with the table half changed; the scenario shows where each landed.
# Also: a SIGHUP while directord is still starting is remembered, not fatal.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/reload-kill
mkdir -p "$work/www"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 30 lines)"; tail -n 30 "$work/lb.log"; } >&2; cleanup_bg' EXIT

VIP=172.16.0.100
conf="$work/directord.conf"
sock="$work/lb.sock"
SERVICES=100 REALS=10 DROPPED=10   # 1000 generated destinations, each reload changes every weight
export DIRECTORD_IPVS_WINDOW=16

step "Topology: a client, a director with the VIP, a real server behind it (NAT)"
bridge_add brout
bridge_add brin
ns_add client
ns_link client eth0 brout 172.16.0.50/24
ns_add lb
ns_link lb eth0 brout 172.16.0.2/24 "$VIP/24"
ns_link lb eth1 brin 192.168.0.1/24
ns_add real
ns_link real eth0 brin 192.168.0.11/24
ip -n real route add default via 192.168.0.1
echo "answered by the real server" >"$work/www/index.html"
http_server real "$work/www" 8080

# generate VARIANT OUTPUT: "a" or "b". Both have the VIP's NAT service and $SERVICES DR services of $REALS reals;
# a has weight 1 everywhere, b weight 2, drops the first $DROPPED services and adds $DROPPED others.
# With "-S" as OUTPUT's suffix it writes what `ipvsadm -Sn | sort` must show for it instead.
generate() {
    awk -v variant="$1" -v save="${3:-}" -v vip="$VIP" -v n="$SERVICES" -v r="$REALS" -v dropped="$DROPPED" 'BEGIN {
        w = variant == "a" ? 1 : 2
        first = variant == "a" ? 0 : dropped
        last = variant == "a" ? n : n + dropped
        if (save) {
            printf "-A -t %s:80 -s rr\n-a -t %s:80 -r 192.168.0.11:8080 -m -w 1\n", vip, vip
        } else {
            printf "virtual_server %s 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n", vip
            printf " real_server 192.168.0.11 8080 {\n  weight 1\n }\n}\n"
        }
        for (i = first; i < last; i++) {
            svc = sprintf("10.10.%d.%d", int(i / 250), i % 250 + 1)
            if (save) printf "-A -t %s:80 -s wrr\n", svc
            else printf "virtual_server %s 80 {\n lb_algo wrr\n lb_kind DR\n protocol TCP\n", svc
            for (j = 0; j < r; j++) {
                real = sprintf("10.%d.%d.%d", 100 + j, int(i / 250), i % 250 + 1)
                if (save) printf "-a -t %s:80 -r %s:80 -g -w %d\n", svc, real, w
                else printf " real_server %s 80 {\n  weight %d\n }\n", real, w
            }
            if (!save) printf "}\n"
        }
    }' | { if [ -n "${3:-}" ]; then LC_ALL=C sort; else cat; fi; } >"$2"
}
generate a "$work/a.conf"
generate b "$work/b.conf"
generate a "$work/a.save" -S
generate b "$work/b.save" -S
table() { ip netns exec lb ipvsadm -Sn | LC_ALL=C sort; }
# How many generated destinations have weight W in the kernel now (/proc is cheaper than ipvsadm).
with_weight() { ip netns exec lb awk -v w="$1" '$1 == "->" && $3 == "Route" && $4 == w { n++ } END { print n + 0 }' /proc/net/ip_vs; }
# The NAT real's connection counter. Every request the client was answered went through it, so it is at least the
# number of answers unless the destination was re-created (which resets it): a reload must never do that.
served() { grep -c 'answered by the real server' "$CLIENT_LOG"; }
nat_conns() { ip netns exec lb ipvsadm -Ln --stats -t "$VIP:80" | awk '$2 == "192.168.0.11:8080" { print $3 }'; }

start_directord() {  # start_directord CONFIG
    cp "$1" "$conf"
    ip netns exec lb "$DIRECTORD" -f "$conf" --socket "$sock" --state-file "$work/state/overrides.json" \
        --log-level info >>"$work/lb.log" 2>&1 &
    echo $! >"$work/lb.pid"
    echo $! >>/tmp/lab-pids
}
# converged VARIANT: every generated destination at the variant's weight (cheap, polled), then the whole table.
converged() {
    [ "$(with_weight "$([ "$1" = a ] && echo 1 || echo 2)")" -eq $((SERVICES * REALS)) ] && table | cmp -s - "$work/$1.save"
}

step "Start with configuration a: $((SERVICES * REALS)) generated destinations and the VIP's service; a SIGHUP mid-start"
start_directord "$work/a.conf"
# Its first log line (the configuration's warning) comes before the table is programmed.
wait_until 60 "directord has read its configuration" test -s "$work/lb.log"
kill -HUP "$(cat "$work/lb.pid")"
wait_until 180 "the kernel holds configuration a" converged a
wait_until 60 "directord answers on its control socket" "$DIRECTORCTL" status --socket "$sock"
kill -0 "$(cat "$work/lb.pid")" || fail "a SIGHUP during the start killed directord"
# Caught before the daemon's handler existed (remembered) or after (queued): served once directord runs, either way.
expect_contains "the SIGHUP during the start was served as a reload" "$work/lb.log" \
    'a SIGHUP came while directord was starting: reloading now|reloaded: nothing changed' 
ls "$work/state" | sed 's/^/   state | /'
expect_contains "directord records the services it owns, per namespace" <(ls "$work/state") '^ipvs-owned-[0-9]+\.json$'

step "A client fetches through the VIP from now on"
start_client client "http://$VIP/" "$work/client.log" 0.2
wait_until 30 "the client is served" bash -c "grep -q 'answered by the real server' '$work/client.log'"
mark kills
sleep 2
note "the NAT real has counted $(nat_conns) connections, the client was answered $(served) times"

step "Reload, kill -9 in the middle, start with the new configuration; alternately a → b and b → a"
partial=0 from=a
for attempt in 1 2 3 4; do
    to=$([ "$from" = a ] && echo b || echo a)
    want=$([ "$to" = a ] && echo 1 || echo 2)
    total=$((SERVICES * REALS))
    cp "$work/$to.conf" "$conf"
    pid=$(cat "$work/lb.pid")
    wait_until 60 "directord answers on its control socket" "$DIRECTORCTL" status --socket "$sock"
    kill -HUP "$pid"
    # The first new weight in the kernel: the reload is programming. Kill it there.
    deadline=$((SECONDS + 120))
    until [ "$(with_weight "$want")" -gt 0 ] || [ "$SECONDS" -ge "$deadline" ]; do :; done
    kill -KILL "$pid"
    wait_until 30 "directord (pid $pid) is gone" bash -c "! kill -0 $pid 2>/dev/null"
    landed=$(with_weight "$want")
    note "attempt $attempt ($from → $to): killed with $landed of $total destinations at weight $want"
    [ "$landed" -eq 0 ] || [ "$landed" -ge "$total" ] || partial=$((partial + 1))
    start_directord "$work/$to.conf"
    wait_until 180 "the kernel converges to configuration $to" converged "$to"
    # The kernel folds its per-CPU counters into what it reports every 2 s (the rate estimator): wait one turn.
    answered=$(served)
    sleep 3
    conns=$(nat_conns)
    [ "$conns" -ge "$answered" ] || fail "the NAT real counted $conns connections for $answered answers: it was re-created"
    note "ok: the untouched NAT real kept its counters ($conns connections for $answered answers)"
    from=$to
    [ "$partial" -lt 2 ] || break
done
[ "$partial" -ge 1 ] || fail "no kill landed in the middle of the table's changes in $attempt attempts"
note "ok: $partial kills landed with the table half changed; every restart converged"
expect_contains "a dropped service an earlier directord created was removed at start" "$work/lb.log" \
    'removing IPVS service TCP 10\.10\.0\.[0-9]+:80: an earlier directord created it'

step "The client was served throughout"
failed=$(since_mark kills | grep -c FAILED || true)
[ "$failed" -eq 0 ] || fail "$failed client requests failed across the kills"
note "ok: $(since_mark kills | wc -l) requests across $attempt kills, none failed"

step "Stop: the services go, and so does the record's content"
pid=$(cat "$work/lb.pid")
kill -TERM "$pid"
wait_until 60 "directord exits after SIGTERM" bash -c "! kill -0 $pid 2>/dev/null"
[ "$(table | grep -c '^-A')" -eq 0 ] || fail "services left after stop"
expect_contains "the record is empty" "$(ls "$work"/state/ipvs-owned-*.json)" '"services":\[\]'
printf '\nreload-kill: %d kills mid-reload, every restart converged, no request failed\n' "$attempt"
