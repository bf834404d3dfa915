# MISC_CHECK, FILE_CHECK and misc_dynamic on a real kernel: a script that curls a real takes it out of IPVS when
# its service dies and back when it returns; a track_file switches a real out and in; a script's exit status sets a
# real's weight; a script that hangs is killed at misc_timeout and never piles up.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/misc-file-check
log="$work/directord.log"
sock="$work/directord.sock"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$log"; } >&2; cleanup_bg' EXIT
mkdir -p "$work/web1"
printf 'web1\n' >"$work/web1/index.html"
printf '0\n' >"$work/weight"
# misc_dynamic's script: exits with the number in a file (0 up, 1 down, N>=2 up at weight N-2).
cat >"$work/weight.sh" <<SCRIPT
#!/bin/sh
exit \$(cat $work/weight)
SCRIPT
chmod 755 "$work/weight.sh"

step "A real server in a namespace, busybox httpd"
bridge_add brm
ip addr add 10.7.0.1/24 dev brm
ns_add web1
ns_link web1 eth0 brm 10.7.0.11/24
ip netns exec web1 busybox httpd -f -p 80 -h "$work/web1" &
web1_pid=$!
echo $web1_pid >>/tmp/lab-pids
wait_until 20 "web1 answers" curl -sf http://10.7.0.11/index.html

cat >"$work/directord.conf" <<CONF
global_defs {
    drift_check_interval 0
}
track_file web2_state {
    file $work/web2.state
    weight 0 reverse
    init_file 1 overwrite
}
virtual_server 10.7.1.1 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.7.0.11 80 {
        weight 1
        MISC_CHECK {
            misc_path "/usr/bin/curl -sf -o /dev/null --max-time 1 http://10.7.0.11/index.html"
            misc_timeout 6
        }
    }
    real_server 10.7.0.12 80 {
        weight 1
        FILE_CHECK {
            track_file web2_state
        }
    }
    real_server 10.7.0.13 80 {
        weight 1
        MISC_CHECK {
            misc_path $work/weight.sh
            misc_timeout 2
            misc_dynamic
        }
    }
    real_server 10.7.0.14 80 {
        weight 1
        MISC_CHECK {
            misc_path "/bin/sleep 30"
            misc_timeout 1
        }
    }
}
CONF

in_table() { ipvsadm -Ln | matches -E "^  -> $1:80 +Masq +$2 "; }
absent() { ! ipvsadm -Ln | matches -E "^  -> $1:80 "; }

step "directord starts: the curl, file and weight checks pass, the hung script's real goes"
"$DIRECTORD" -f "$work/directord.conf" --socket "$sock" --log-level debug >"$log" 2>&1 &
directord_pid=$!
echo $directord_pid >>/tmp/lab-pids
wait_until 60 "directord answers" "$DIRECTORCTL" status --socket "$sock"
expect_contains "init_file wrote the track file" "$work/web2.state" '^1$'
wait_until 30 "web1 in the table" in_table 10.7.0.11 1
wait_until 30 "web2 in the table" in_table 10.7.0.12 1
wait_until 30 "web3 in the table at its configured weight" in_table 10.7.0.13 1
wait_until 30 "the hung script's real removed" absent 10.7.0.14
ipvsadm -Ln

step "web1's service dies: its MISC_CHECK takes it out; it returns and so does web1"
kill "$web1_pid"
wait_until 30 "web1 removed" absent 10.7.0.11
expect_contains "the reason is logged" "$log" 'real_server 10.7.0.11:80 .* is down: .*exited with status'
ip netns exec web1 busybox httpd -f -p 80 -h "$work/web1" &
echo $! >>/tmp/lab-pids
wait_until 30 "web1 back" in_table 10.7.0.11 1

step "FILE_CHECK: 0 in the file takes web2 out, 1 brings it back"
echo 0 >"$work/web2.state"
wait_until 30 "web2 removed" absent 10.7.0.12
in_table 10.7.0.11 1 || fail "web1 should still be in the table"
echo 1 >"$work/web2.state"
wait_until 30 "web2 back" in_table 10.7.0.12 1

step "misc_dynamic: exit 7 sets web3's weight to 5, exit 12 to 10, exit 1 takes it out, exit 0 restores weight 1"
echo 7 >"$work/weight"
wait_until 30 "web3 at weight 5" in_table 10.7.0.13 5
ipvsadm -Ln
echo 12 >"$work/weight"
wait_until 30 "web3 at weight 10" in_table 10.7.0.13 10
echo 1 >"$work/weight"
wait_until 30 "web3 removed" absent 10.7.0.13
echo 0 >"$work/weight"
wait_until 30 "web3 back at weight 1" in_table 10.7.0.13 1

step "The hung script never piled up: at most one runs, each killed at misc_timeout"
# Executed without a shell, the script's command line is exactly "/bin/sleep 30". Sampled at least six times (a
# pgrep takes about a second under TCG): with misc_timeout 1 and delay_loop 1 it runs about half the time, never
# twice. Six samples can all fall between two runs on a loaded host (once in a clean-clone run): sampling goes on,
# up to 20, until one run has been seen.
most=0
for sample in $(seq 20); do
    running=$(pgrep -c -f '^/bin/sleep 30$' || true)
    [ "${running:-0}" -gt "$most" ] && most=$running
    [ "$sample" -lt 6 ] || [ "$most" -eq 0 ] || break
done
note "most copies of the hung script seen at once: $most"
[ "$most" -eq 1 ] || fail "expected exactly one copy of the hung script at a time, saw at most $most"
expect_contains "its timeout is the reason" "$log" 'real_server 10.7.0.14:80 .* is down: .*timed out'

step "Stop: the service is removed"
kill -TERM "$directord_pid"
wait_until 30 "the service is gone" bash -c "! ipvsadm -Ln | matches 10.7.1.1"
printf '\nmisc-file-check: scripts and files take reals out and back, and set their weight\n'
