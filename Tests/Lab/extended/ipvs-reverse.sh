# The reverse direction: random tables written by directord's binding (batched netlink) and by ipvsadm-restore into
# two namespaces must read back identically through ipvsadm itself (-Ln in every rule-bearing variant, and -Sn),
# also after edits (-E/-e/-d/-D), zeroing and timeouts. Then the kernel's error paths, as an operator sees them.
# Seed: LAB_SEED (printed).
source "$LAB_REPO/Tests/Lab/lib.sh"
LAB_IPVS="$BIN/lab-ipvs"
SEED="${LAB_SEED:-20261122}"
ROUNDS="${IPVS_ROUNDS:-2}"
out=/tmp/ipvs-reverse
mkdir -p "$out"
failures=0
printf 'ipvs-reverse: seed %s (rerun with --env LAB_SEED=%s)\n' "$SEED" "$SEED"

# The kernel mixes the namespace's address into its service hash, and libipvs's sort is not a total order, so two
# namespaces may list the same table in different orders. Both tables are therefore built in the same namespace,
# one after the other, with the same insertion order: ipvsadm first (snapshot), flush, then directord (snapshot).
VIEWS=("-Ln" "-Ln --thresholds" "-Ln --persistent-conn" "-Sn")
NS=ipvsrev
ns_add "$NS"
IN() { ip netns exec "$NS" "$@"; }

snapshot() {  # snapshot NAME: every view of the current table
    local i=0 v
    for v in "${VIEWS[@]}"; do
        # shellcheck disable=SC2086
        IN ipvsadm $v >"$out/$1.$i" 2>&1 || true
        i=$((i + 1))
    done
}

same_views() {  # same_views LABEL: the ref.* and ours.* snapshots agree in every view
    local i=0 v
    for v in "${VIEWS[@]}"; do
        if cmp -s "$out/ref.$i" "$out/ours.$i"; then
            note "ok: $1: ipvsadm $v ($(wc -l <"$out/ref.$i") lines)"
        else
            failures=$((failures + 1))
            printf 'DIFFERENT: %s (--- made by ipvsadm, +++ made by directord; both read with ipvsadm %s)\n' "$1" "$v" >&2
            diff -u "$out/ref.$i" "$out/ours.$i" | head -n 40 >&2 || true
        fi
        i=$((i + 1))
    done
}

# build LABEL FILE...: apply the files in order with ipvsadm-restore, snapshot, flush, same with lab-ipvs, compare.
build() {
    local label="$1"; shift
    local f
    IN ipvsadm -C
    # ipvsadm -R, not ipvsadm-restore: the wrapper clears the table first.
    for f in "$@"; do IN ipvsadm -R <"$f" 2>"$out/ipvsadm.err" || note "ipvsadm -R: $(sort -u "$out/ipvsadm.err" | head -n 3 | tr '\n' ' ')"; done
    snapshot ref
    IN ipvsadm -C
    for f in "$@"; do IN "$LAB_IPVS" restore --time <"$f" 2>"$out/lab.err" || true; note "$(grep -c 'not found\|exists' "$out/lab.err" || true) rejected by the kernel; $(grep applied "$out/lab.err" | sed 's/lab-ipvs: //')"; done
    snapshot ours
    same_views "$label"
}

for round in $(seq 1 "$ROUNDS"); do
    seed=$((SEED + 100 + round))
    step "Round $round (seed $seed): the same random table, by ipvsadm-restore and by directord's batches"
    "$LAB_IPVS" generate "$seed" --services 60 --max-dests 20 --tunnels >"$out/table.$round"
    note "$(grep -c '^-A' "$out/table.$round") services, $(grep -c '^-a' "$out/table.$round") real servers"
    build "created" "$out/table.$round"

    step "Round $round: edits (-E scheduler, -e weight and thresholds, -d, -D; some refer to deleted services)"
    awk 'BEGIN { n = 0 }
        /^-A/ { n++; if (n % 4 == 0) { sub(/ -s [a-z]+/, " -s rr"); sub(/ -b [^ ]+/, ""); sub(/^-A/, "-E"); print }
                else if (n % 7 == 0) { line = $0; sub(/ -s .*/, "", line); sub(/^-A/, "-D", line); print line } }
        /^-a/ { n++; if (n % 3 == 0) { line = $0; sub(/ -w [0-9]+/, " -w 7", line); sub(/ -x [0-9]+/, "", line); sub(/ -y [0-9]+/, "", line); sub(/^-a/, "-e", line); print line " -x 200 -y 100" }
                else if (n % 5 == 0) { line = $0; sub(/ -[mgi] .*/, "", line); sub(/^-a/, "-d", line); print line } }' \
        "$out/table.$round" >"$out/edits.$round"
    note "$(wc -l <"$out/edits.$round") edits"
    build "edited" "$out/table.$round" "$out/edits.$round"
done

step "Real servers with a port other than the service's, for each forwarding method; -p without a timeout"
cat >"$out/ports" <<'TABLE'
-A -t 10.9.0.1:80 -s rr -p
-a -t 10.9.0.1:80 -r 10.9.1.1:8080 -m
-a -t 10.9.0.1:80 -r 10.9.1.2:8080 -g
-a -t 10.9.0.1:80 -r 10.9.1.3:8080 -i
-a -t 10.9.0.1:80 -r 10.9.1.4
-A -f 77 -s wrr
-a -f 77 -r 10.9.1.5 -m
-a -f 77 -r 10.9.1.6:443 -g
-A -u [2001:db8::9]:53 -s sh -b sh-port -p 30 -M 96
-a -u [2001:db8::9]:53 -r [2001:db8::10]:53 -m -w 3
TABLE
build "ports" "$out/ports"

step "Zero counters and connection timeouts through the binding"
IN "$LAB_IPVS" -Z
IN "$LAB_IPVS" --set 1000 100 200
IN ipvsadm -Ln --timeout >"$out/timeout1"
expect_contains "timeouts set" "$out/timeout1" '^Timeout \(tcp tcpfin udp\): 1000 100 200$'
IN "$LAB_IPVS" --set 0 50 0
IN ipvsadm -Ln --timeout >"$out/timeout2"
expect_contains "0 keeps a timeout" "$out/timeout2" '^Timeout \(tcp tcpfin udp\): 1000 50 200$'
IN "$DIRECTORCTL" list --timeout >"$out/timeout3"
expect_same "directorctl list --timeout" "$out/timeout2" "$out/timeout3"

step "Flush through the binding"
IN "$LAB_IPVS" -C
IN ipvsadm -Ln >"$out/flushed"
[ "$(wc -l <"$out/flushed")" -eq 3 ] || fail "the table is not empty after lab-ipvs -C"
note "ok: empty"

step "Kernel errors read as operator messages"
ns=ipvserr
ns_add "$ns"
run_err() {  # run_err NAME ARGS...: run lab-ipvs in the namespace expecting exit 1, keep stderr
    local name="$1"; shift
    set +e
    ip netns exec "$ns" "$LAB_IPVS" "$@" 2>"$out/err.$name"
    local rc=$?
    set -e
    note "$name (exit $rc): $(cat "$out/err.$name")"
    [ "$rc" -eq 1 ] || { failures=$((failures + 1)); printf 'UNEXPECTED EXIT %s for %s\n' "$rc" "$name" >&2; }
}
ip netns exec "$ns" "$LAB_IPVS" -A -t 10.8.0.1:80 -s rr
ip netns exec "$ns" "$LAB_IPVS" -a -t 10.8.0.1:80 -r 10.8.1.1:80 -m
run_err exists -A -t 10.8.0.1:80 -s wlc
run_err nosched -A -t 10.8.0.2:80 -s nosuch
run_err nosvc -E -t 10.8.0.3:80 -s rr
run_err destexists -a -t 10.8.0.1:80 -r 10.8.1.1:80 -m
run_err nodest -e -t 10.8.0.1:80 -r 10.8.1.9:80 -m
run_err destnosvc -a -t 10.8.0.3:80 -r 10.8.1.1:80 -m
run_err thresholds -e -t 10.8.0.1:80 -r 10.8.1.1:80 -m -x 10 -y 20
run_err nodaemon --stop-daemon backup
expect_contains "existing service" "$out/err.exists" 'TCP 10\.8\.0\.1:80 already exists'
expect_contains "missing scheduler module" "$out/err.nosched" 'scheduler module ip_vs_nosuch not available'
expect_contains "missing service" "$out/err.nosvc" 'virtual service TCP 10\.8\.0\.3:80 not found'
expect_contains "existing real server" "$out/err.destexists" 'real server 10\.8\.1\.1:80 in TCP 10\.8\.0\.1:80 already exists'
expect_contains "thresholds out of order" "$out/err.thresholds" 'lower threshold is above the upper threshold'
expect_contains "missing real server" "$out/err.nodest" 'real server 10\.8\.1\.9:80 in TCP 10\.8\.0\.1:80 not found'
expect_contains "real server of a missing service" "$out/err.destnosvc" 'virtual service for TCP 10\.8\.0\.3:80 not found'
expect_contains "no daemon" "$out/err.nodaemon" 'no backup sync daemon is running'
if command -v setpriv >/dev/null; then
    set +e
    ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
        "$DIRECTORCTL" list >"$out/eperm.out" 2>"$out/eperm.err"
    rc=$?
    set -e
    note "unprivileged directorctl list (exit $rc): $(cat "$out/eperm.err")"
    expect_contains "not root" "$out/eperm.err" 'permission denied.*root'
fi

if [ "$failures" -ne 0 ]; then
    fail "$failures check(s) differ (seed $SEED)"
fi
printf '\nipvs-reverse: tables written by directord read back through ipvsadm exactly as ipvsadm-made ones (seed %s)\n' "$SEED"
