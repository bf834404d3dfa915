# Smoke: directord's own netlink code talks to the real kernel's IPVS, and agrees with ipvsadm at every step.
source "$LAB_REPO/Tests/Lab/lib.sh"
LAB_IPVS="$BIN/lab-ipvs"
out=/tmp/smoke
mkdir -p "$out"

step "Without IPVS, directorctl list fails with an explanation (module auto-loading disabled for this step)"
saved_modprobe="$(cat /proc/sys/kernel/modprobe)"
echo /bin/false >/proc/sys/kernel/modprobe
set +e
"$DIRECTORCTL" list >"$out/noipvs.out" 2>"$out/noipvs.err"
rc=$?
set -e
echo "$saved_modprobe" >/proc/sys/kernel/modprobe
note "directorctl list exited $rc and said: $(cat "$out/noipvs.err")"
[ "$rc" -ne 0 ] || fail "directorctl list succeeded without IPVS"
[ "$rc" -lt 128 ] || fail "directorctl list crashed (exit $rc)"
expect_contains "the message names the problem" "$out/noipvs.err" 'IPVS is not available in this kernel'
expect_contains "the message says how to fix it" "$out/noipvs.err" 'modprobe ip_vs'

step "Resolve the IPVS generic-netlink family and read version and connection table size (IPVS_CMD_GET_INFO)"
"$LAB_IPVS" info | tee "$out/info"
ipvsadm -Ln | head -n 1 >"$out/info.ipvsadm"
expect_same "GET_INFO matches ipvsadm's header" "$out/info.ipvsadm" "$out/info"

step "Add a TCP virtual service through directord's binding"
"$LAB_IPVS" -A -t 10.1.0.1:80 -s rr
ipvsadm -Ln | tee "$out/1.ipvsadm"
expect_contains "ipvsadm sees the service" "$out/1.ipvsadm" '^TCP  10\.1\.0\.1:80 rr *$'
"$DIRECTORCTL" list >"$out/1.directorctl"
expect_same "directorctl list = ipvsadm -Ln" "$out/1.ipvsadm" "$out/1.directorctl"

step "Add one NAT (masquerading) real server with weight 3"
"$LAB_IPVS" -a -t 10.1.0.1:80 -r 192.168.50.2:8080 -m -w 3
ipvsadm -Ln | tee "$out/2.ipvsadm"
expect_contains "ipvsadm sees the destination" "$out/2.ipvsadm" '^  -> 192\.168\.50\.2:8080 +Masq +3 +0 +0 *$'
"$DIRECTORCTL" list >"$out/2.directorctl"
expect_same "directorctl list = ipvsadm -Ln" "$out/2.ipvsadm" "$out/2.directorctl"

step "Read it back through the binding"
"$LAB_IPVS" list >"$out/2.binding"
expect_same "the binding's dump = ipvsadm -Ln" "$out/2.ipvsadm" "$out/2.binding"

step "Delete the service (its destination goes with it)"
"$LAB_IPVS" -D -t 10.1.0.1:80
ipvsadm -Ln | tee "$out/3.ipvsadm"
[ "$(wc -l <"$out/3.ipvsadm")" -eq 3 ] || fail "the table is not empty after the delete"
note "ok: the table is empty"
"$DIRECTORCTL" list >"$out/3.directorctl"
expect_same "directorctl list = ipvsadm -Ln" "$out/3.ipvsadm" "$out/3.directorctl"

step "Errors from the kernel read like an operator's message"
set +e
"$LAB_IPVS" -D -t 10.1.0.1:80 2>"$out/err.missing"; rc1=$?
"$LAB_IPVS" -A -t 10.1.0.9:80 -s nosuch 2>"$out/err.sched"; rc2=$?
set -e
note "delete of a missing service: $(cat "$out/err.missing")"
note "unknown scheduler: $(cat "$out/err.sched")"
[ "$rc1" -eq 1 ] && [ "$rc2" -eq 1 ] || fail "expected exit 1 for kernel rejections, got $rc1 and $rc2"
expect_contains "missing service is named" "$out/err.missing" 'no such service|not found|does not exist'
expect_contains "missing scheduler module is named" "$out/err.sched" 'ip_vs_nosuch'

printf '\nsmoke: the kernel path works from Swift\n'
