# The reconciler converges a damaged table back to the desired one with the fewest operations (SET for a weight,
# never DEL+NEW), leaves services it does not own alone (and reports them), and is idempotent.
source "$LAB_REPO/Tests/Lab/lib.sh"
LAB_IPVS="$BIN/lab-ipvs"
SEED="${LAB_SEED:-20261122}"
out=/tmp/ipvs-reconcile
mkdir -p "$out"
ns=ipvsrec
ns_add "$ns"
IN() { ip netns exec "$ns" "$@"; }
printf 'ipvs-reconcile: seed %s\n' "$SEED"

reconcile() {  # reconcile NAME [--flush]: run the reconciler on the desired table, keep its plan
    local name="$1"; shift
    IN "$LAB_IPVS" reconcile "$@" <"$out/desired" >"$out/plan.$name" || { cat "$out/plan.$name" >&2; fail "reconcile $name failed"; }
    note "plan $name: $(grep -c '^op:' "$out/plan.$name" || true) operation(s), $(grep -c '^foreign:' "$out/plan.$name" || true) foreign"
    head -n 20 "$out/plan.$name" | sed 's/^/   | /'
}
ops() { grep -c '^op:' "$out/plan.$1" || true; }
snapshot() { IN ipvsadm -Ln --thresholds >"$out/$1"; IN ipvsadm -Sn >"$out/$1.save"; }

step "Desired table (random, seed $SEED) and a foreign service that directord must not touch"
"$LAB_IPVS" generate "$SEED" --services 30 --max-dests 10 | grep -v -- ' -i' >"$out/desired"
IN ipvsadm -A -t 10.99.0.1:80 -s rr
IN ipvsadm -a -t 10.99.0.1:80 -r 10.99.1.1:80 -m -w 4
reconcile initial
IN ipvsadm -Ln >"$out/foreign.before"
grep -q '^foreign: TCP 10.99.0.1:80$' "$out/plan.initial" || fail "the foreign service was not reported"
note "ok: foreign service reported"
[ "$(ops initial)" -eq "$(grep -c '^-[Aa]' "$out/desired")" ] || fail "the first plan should be exactly one add per service and real server"
note "ok: one operation per desired rule"
snapshot good

step "Idempotent: a second run plans nothing"
reconcile again
[ "$(ops again)" -eq 0 ] || fail "a converged table still produced operations"
note "ok: nothing to do"

# Pick a service with at least two real servers to damage.
victim="$(grep '^-a' "$out/desired" | sed -E 's/^-a (.*) -r .*/\1/' | uniq -c | awk '$1 >= 2 {$1 = ""; sub(/^ /, ""); print; exit}')"
[ -n "$victim" ] || fail "the random table has no service with two real servers (seed $SEED)"
real1="$(grep -- "^-a $victim " "$out/desired" | head -n 1 | sed -E 's/.* -r ([^ ]+) .*/\1/')"
real2="$(grep -- "^-a $victim " "$out/desired" | sed -n 2p | sed -E 's/.* -r ([^ ]+) .*/\1/')"
fwd2="$(grep -- "^-a $victim " "$out/desired" | sed -n 2p | sed -E 's/.* -r [^ ]+ (-[mg]).*/\1/')"
note "victim service: $victim; real servers $real1 and $real2"

step "Damage: a real server deleted and a weight changed behind directord's back"
IN ipvsadm -d $victim -r "$real1"
IN ipvsadm -e $victim -r "$real2" "$fwd2" -w 12345
reconcile repair1
[ "$(ops repair1)" -eq 2 ] || fail "expected exactly 2 operations (add one real server, SET one weight)"
grep -qF "op: add real server $real1 " "$out/plan.repair1" || fail "the deleted real server was not re-added"
grep -qF "op: update real server $real2 " "$out/plan.repair1" || fail "the weight was not repaired with a SET"
grep -q '^op: delete' "$out/plan.repair1" && fail "a weight change must not become DEL+NEW"
snapshot repaired1
expect_same "the table is back to the desired one" "$out/good" "$out/repaired1"
expect_same "the saved rules too" "$out/good.save" "$out/repaired1.save"

step "Damage: the whole table flushed by ipvsadm -C (the foreign service is recreated by its owner)"
IN ipvsadm -C
IN ipvsadm -A -t 10.99.0.1:80 -s rr
IN ipvsadm -a -t 10.99.0.1:80 -r 10.99.1.1:80 -m -w 4
reconcile repair2
[ "$(ops repair2)" -eq "$(grep -c '^-[Aa]' "$out/desired")" ] || fail "after a flush, every rule is re-added exactly once"
snapshot repaired2
expect_same "the table is back to the desired one" "$out/good" "$out/repaired2"

step "Damage: a scheduler changed (-E) and an extra real server added to an owned service"
first_service="$(grep '^-A' "$out/desired" | head -n 1 | sed -E 's/^-A (.*) -s .*/\1/')"
first_line="$(grep '^-A' "$out/desired" | head -n 1)"
if [[ "$first_line" == *" -s lblcr"* ]]; then other=rr; else other=lblcr; fi
# shellcheck disable=SC2046
IN ipvsadm $(sed -E "s/^-A/-E/; s/ -s [a-z]+/ -s $other/; s/ -b [^ ]+//" <<<"$first_line")
case "$first_service" in
    *\[*|*" -6") extra="[2001:db8:98::7]:0" ;;
    *) extra="10.98.7.7:0" ;;
esac
[[ "$first_service" == -f* ]] || extra="${extra%:0}"
IN ipvsadm -a $first_service -r "$extra" -m -w 1
reconcile repair3
[ "$(ops repair3)" -eq 2 ] || fail "expected one service SET and one real server removal"
grep -q '^op: update service' "$out/plan.repair3" || fail "the scheduler was not repaired with a SET"
grep -qE '^op: delete real server (10\.98\.7\.7|\[2001:db8:98::7\])' "$out/plan.repair3" || fail "the stray real server was not removed"
snapshot repaired3
expect_same "the table is back to the desired one" "$out/good" "$out/repaired3"

step "The foreign service was never touched"
IN ipvsadm -Ln -t 10.99.0.1:80 >"$out/foreign.after"
grep -A1 '^TCP  10.99.0.1:80' "$out/foreign.before" >"$out/foreign.before.svc"
grep -A1 '^TCP  10.99.0.1:80' "$out/foreign.after" >"$out/foreign.after.svc"
expect_same "foreign service unchanged" "$out/foreign.before.svc" "$out/foreign.after.svc"

step "With lvs_flush semantics (--flush) the foreign service goes"
reconcile flush --flush
grep -q '^op: delete service TCP 10.99.0.1:80$' "$out/plan.flush" || fail "--flush should delete the unowned service"
[ "$(ops flush)" -eq 1 ] || fail "--flush should delete exactly the foreign service"
snapshot flushed
IN ipvsadm -Ln --thresholds | matches '10.99.0.1' && fail "foreign service still present"
note "ok: only the foreign service was removed"

printf '\nipvs-reconcile: the reconciler repairs drift minimally and leaves foreign services alone (seed %s)\n' "$SEED"
