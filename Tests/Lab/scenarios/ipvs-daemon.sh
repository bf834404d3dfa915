# The connection sync daemon round-trips: started as master and as backup (by directord's binding and by ipvsadm),
# shown identically by `ipvsadm -Ln --daemon` and `directorctl list --daemon` (and in --json), stopped cleanly.
source "$LAB_REPO/Tests/Lab/lib.sh"
LAB_IPVS="$BIN/lab-ipvs"
out=/tmp/ipvs-daemon
mkdir -p "$out"
ns=ipvssync
ns_add "$ns"
ip -n "$ns" link add sync0 type dummy
ip -n "$ns" link set sync0 multicast on up
ip -n "$ns" addr add 10.77.0.1/24 dev sync0
ip -n "$ns" link add sync1 type dummy
ip -n "$ns" link set sync1 multicast on up
ip -n "$ns" addr add 2001:db8:77::1/64 dev sync1 nodad
IN() { ip netns exec "$ns" "$@"; }

daemons_agree() {  # daemons_agree LABEL EXPECTED_LINES
    IN ipvsadm -Ln --daemon >"$out/ipvsadm"
    IN "$DIRECTORCTL" list --daemon >"$out/directorctl"
    sed 's/^/   | /' "$out/ipvsadm"
    expect_same "$1: directorctl list --daemon = ipvsadm -Ln --daemon" "$out/ipvsadm" "$out/directorctl"
    [ "$(wc -l <"$out/ipvsadm")" -eq "$2" ] || fail "$1: expected $2 daemon line(s)"
}

step "Master started through directord's binding with every option"
IN "$LAB_IPVS" --start-daemon master --mcast-interface sync0 --syncid 42 --sync-maxlen 1200 \
    --mcast-group 239.1.2.3 --mcast-port 9848 --mcast-ttl 3
daemons_agree "master" 1
expect_contains "master with its options" "$out/ipvsadm" '^master sync daemon \(mcast=sync0, syncid=42, maxlen=1200, group=239\.1\.2\.3, port=9848, ttl=3\)$'

step "Backup started by ipvsadm on IPv6 multicast, read by directorctl"
IN ipvsadm --start-daemon backup --mcast-interface sync1 --syncid 7 --mcast-group ff02::1:81
daemons_agree "master and backup" 2
IN "$DIRECTORCTL" list --json >"$out/json"
expect_contains "JSON lists the backup" "$out/json" '"state":"backup","interface":"sync1","syncID":7'
expect_contains "JSON lists the master" "$out/json" '"state":"master","interface":"sync0","syncID":42,"maxLength":1200,"group":"239.1.2.3","port":9848,"ttl":3'

step "Starting a second master is refused with a clear message"
set +e
IN "$LAB_IPVS" --start-daemon master --mcast-interface sync0 2>"$out/err.again"
rc=$?
set -e
note "exit $rc: $(cat "$out/err.again")"
[ "$rc" -eq 1 ] || fail "a second master start should fail"
expect_contains "already running" "$out/err.again" 'master sync daemon is already running'

step "Stop both through the binding"
IN "$LAB_IPVS" --stop-daemon master
daemons_agree "backup only" 1
IN "$LAB_IPVS" --stop-daemon backup
daemons_agree "none" 0

step "Defaults: master with only an interface (kernel picks maxlen, group, port, ttl), via the binding; stopped by ipvsadm"
IN "$LAB_IPVS" --start-daemon master --mcast-interface sync0
daemons_agree "default master" 1
IN ipvsadm --stop-daemon master
daemons_agree "stopped by ipvsadm" 0

printf '\nipvs-daemon: sync daemons round-trip between directord and ipvsadm\n'
