# directorctl list = ipvsadm -Ln, byte for byte, on random tables created by ipvsadm (every variant, every kind of
# service, IPv4 and IPv6, many schedulers and flags, 0-20 real servers each), plus live counters from real traffic.
# Seed: LAB_SEED (printed); IPVS_ROUNDS rounds (default 1 in make check), each in a fresh network namespace.
source "$LAB_REPO/Tests/Lab/lib.sh"
LAB_IPVS="$BIN/lab-ipvs"
SEED="${LAB_SEED:-20261122}"
ROUNDS="${IPVS_ROUNDS:-1}"
out=/tmp/ipvs-list
mkdir -p "$out"
failures=0
printf 'ipvs-list-random: seed %s (rerun with --env LAB_SEED=%s)\n' "$SEED" "$SEED"

# compare NS LABEL ARGS...: ipvsadm -Ln ARGS vs directorctl list -n ARGS inside NS; counts a failure on difference.
compare() {
    local ns="$1" label="$2"; shift 2
    ip netns exec "$ns" ipvsadm -Ln "$@" >"$out/ipvsadm" 2>&1 || true
    ip netns exec "$ns" "$DIRECTORCTL" list -n "$@" >"$out/directorctl" 2>&1 || true
    if cmp -s "$out/ipvsadm" "$out/directorctl"; then
        note "ok: $label ($(wc -l <"$out/ipvsadm") lines)"
    else
        failures=$((failures + 1))
        printf 'DIFFERENT: %s (--- ipvsadm -Ln %s, +++ directorctl list -n %s)\n' "$label" "$*" "$*" >&2
        diff -u "$out/ipvsadm" "$out/directorctl" | head -n 40 >&2 || true
    fi
}

# compare_settling: rates move every 2 s with the kernel's estimator; retry a few times before calling it a difference.
compare_settling() {
    local ns="$1" label="$2"; shift 2
    local i
    for i in 1 2 3 4 5 6 7 8; do
        ip netns exec "$ns" ipvsadm -Ln "$@" >"$out/ipvsadm" 2>&1 || true
        ip netns exec "$ns" "$DIRECTORCTL" list -n "$@" >"$out/directorctl" 2>&1 || true
        cmp -s "$out/ipvsadm" "$out/directorctl" && { note "ok: $label (attempt $i)"; return 0; }
        sleep 0.3
    done
    # On a loaded host the two reads never fall within one 2 s estimator period: compare the layout (every digit
    # as 9: same columns, widths and units), and say so; the values themselves are compared on the quiet table.
    if cmp -s <(tr '0-9' '9' <"$out/ipvsadm") <(tr '0-9' '9' <"$out/directorctl"); then
        note "ok: $label (layout only: the rates moved between the two reads)"
        return 0
    fi
    compare "$ns" "$label" "$@"
}

VARIANTS=("" "--stats" "--rate" "--thresholds" "--persistent-conn" "--stats --exact" "--rate --exact" "--timeout" "--daemon")

for round in $(seq 1 "$ROUNDS"); do
    seed=$((SEED + round))
    ns="ipvsr$round"
    step "Round $round (seed $seed): a random table created by ipvsadm-restore in namespace $ns"
    ns_add "$ns"
    "$LAB_IPVS" generate "$seed" --services 40 --max-dests 20 --tunnels >"$out/table.$round"
    note "$(grep -c '^-A' "$out/table.$round") services, $(grep -c '^-a' "$out/table.$round") real servers"
    ip netns exec "$ns" ipvsadm-restore <"$out/table.$round" || fail "ipvsadm-restore rejected the generated table (seed $seed)"
    for v in "${VARIANTS[@]}"; do
        # shellcheck disable=SC2086
        compare "$ns" "whole table ${v:-(standard)}" $v
    done
    step "Round $round: single-service listings (-t/-u/--sctp-service/-f [-6])"
    grep '^-A' "$out/table.$round" | head -n 8 | while read -r line; do
        spec="$(sed -E 's/^-A (.*) -s .*/\1/' <<<"$line")"
        echo "$spec"
    done >"$out/specs.$round"
    # Two variants per service: the whole-table comparisons above cover every variant's columns; here what differs
    # is which service is looked up (each comparison is two program starts, seconds under TCG).
    while read -r spec; do
        for v in "" "--rate --exact"; do
            # shellcheck disable=SC2086
            compare "$ns" "$spec ${v:-(standard)}" $spec $v
        done
    done <"$out/specs.$round"
done

step "Live counters: traffic through NAT and DR services (local clients), then every counter variant"
ns=ipvstraffic
ns_add "$ns"
ip -n "$ns" link add dum0 type dummy
ip -n "$ns" link set dum0 up
ip -n "$ns" addr add 10.250.0.1/32 dev dum0
ip -n "$ns" addr add 2001:db8:250::1/128 dev dum0 nodad
ip -n "$ns" route add 10.250.1.0/24 dev dum0
ip -n "$ns" route add 2001:db8:251::/64 dev dum0
ip netns exec "$ns" ipvsadm-restore <<'TABLE'
-A -u 10.250.0.1:53 -s rr
-a -u 10.250.0.1:53 -r 10.250.1.2:53 -m -w 2
-a -u 10.250.0.1:53 -r 10.250.1.3:5353 -m -w 1
-A -t 10.250.0.1:80 -s wlc -p 60
-a -t 10.250.0.1:80 -r 10.250.1.4:8080 -m -x 1000 -y 10
-A -u [2001:db8:250::1]:53 -s sh -b sh-port
-a -u [2001:db8:250::1]:53 -r [2001:db8:251::2]:53 -g
TABLE
ip netns exec "$ns" bash -c '
    for i in $(seq 1 300); do echo "query $i" >/dev/udp/10.250.0.1/53; done 2>/dev/null
    for i in $(seq 1 40); do printf "%0512d" 0 >/dev/udp/2001:db8:250::1/53; done 2>/dev/null
    for i in $(seq 1 5); do timeout 0.3 bash -c "echo >/dev/tcp/10.250.0.1/80" 2>/dev/null; done
    true'
sleep 2.5
for v in "" "--stats" "--stats --exact" "--thresholds" "--persistent-conn"; do
    # shellcheck disable=SC2086
    compare "$ns" "with traffic ${v:-(standard)}" $v
done
compare_settling "$ns" "with traffic --rate" --rate
compare_settling "$ns" "with traffic --rate --exact" --rate --exact
ip netns exec "$ns" ipvsadm -Ln --stats --exact | sed 's/^/   | /'
ip netns exec "$ns" ipvsadm -Ln --stats --exact | matches -E '^UDP  10\.250\.0\.1:53 +[1-9]' \
    || note "warning: the traffic did not register in the counters (comparisons above still hold)"

step "JSON carries the same table"
ip netns exec "$ns" "$DIRECTORCTL" list --json >"$out/json"
expect_contains "JSON names the UDP service" "$out/json" '"protocol":"udp","address":"10.250.0.1","port":53'
expect_contains "JSON names the IPv6 real server" "$out/json" '"address":"2001:db8:251::2","port":53,"forwarding":"route"'

if [ "$failures" -ne 0 ]; then
    fail "$failures listing(s) differ from ipvsadm (seed $SEED)"
fi
printf '\nipvs-list-random: every listing identical to ipvsadm -Ln (seed %s)\n' "$SEED"
