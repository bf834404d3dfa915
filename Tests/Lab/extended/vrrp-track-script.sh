# track_script with a negative weight (the nginx seed's `killall -0 nginx`, weight -60): when d1's tracked process
# dies its priority drops below d2's and the VIP moves; when the process returns, the VIP moves back. notify and
# notify_master scripts receive keepalived's documented arguments (checked from the file they write).
source "$LAB_REPO/Tests/Lab/lib.sh"
out=/tmp/vrrp-track-script
mkdir -p "$out/bin"
source "$LAB_REPO/Tests/Lab/vrrp-lib.sh"

step "Topology: d1 and d2 on one bridge; a stand-in 'nginx' process per director"
bridge_add br0
ns_add d1
ns_add d2
ns_link d1 eth0 br0 192.0.2.2/24
ns_link d2 eth0 br0 192.0.2.3/24
VIP=192.0.2.10
cp /bin/sleep "$out/bin/nginx-d1"
cp /bin/sleep "$out/bin/nginx-d2"
start_web() { "$out/bin/nginx-$1" 86400 & echo $! >"$out/web-$1.pid"; echo $! >>/tmp/lab-pids; }
start_web d1
start_web d2
cat >"$out/notify.sh" <<'SH'
#!/bin/sh
# Records how it was called: the configured words, then what directord appended.
echo "$*" >>"$(dirname "$0")/notify.log"
SH
chmod 755 "$out/notify.sh"

conf() {  # conf NS PRIORITY
    cat >"$out/$1.conf" <<CONF
global_defs {
    enable_script_security
    script_user root
}
vrrp_script chk_nginx {
    script "killall -0 nginx-$1"
    interval 1
    timeout 2
    weight -60
    fall 2
    rise 2
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority $2
    advert_int 1
    virtual_ipaddress {
        $VIP/24 dev eth0
    }
    track_script {
        chk_nginx
    }
    notify_master "$out/notify.sh $1 notify_master"
    notify "$out/notify.sh $1 notify"
}
CONF
}
conf d1 150
conf d2 100
holds() { has_addr "$1" eth0 "$VIP"; }
lacks() { ! has_addr "$1" eth0 "$VIP"; }
notified() { grep -qx -- "$1" "$out/notify.log"; }
count_lines() { grep -cx -- "$1" "$out/notify.log" || true; }

step "Both processes up: d1 (150) is MASTER"
start_vrrp d1
start_vrrp d2
wait_until 60 "the VIP is on d1" holds d1
wait_until 30 "d2 has no VIP" lacks d2
wait_until 30 "notify ran with: d1 notify INSTANCE VI_1 MASTER 150" notified "d1 notify INSTANCE VI_1 MASTER 150"
wait_until 30 "notify_master ran with its own words only: d1 notify_master" notified "d1 notify_master"
notified "d2 notify INSTANCE VI_1 BACKUP 100" || { cat "$out/notify.log" >&2; fail "d2's notify did not report BACKUP 100"; }
note "ok: d2 notify INSTANCE VI_1 BACKUP 100"

step "d1's tracked process dies: after 'fall 2' its priority is 150-60=90 < 100 and the VIP moves to d2"
kill "$(cat "$out/web-d1.pid")"
wait_until 60 "the VIP is on d2" holds d2
wait_until 30 "d1 released the VIP" lacks d1
status_of d1 >"$out/d1.status.down"
expect_contains "d1 runs at priority 90" "$out/d1.status.down" '"priority" : 90'
expect_contains "d1 is BACKUP" "$out/d1.status.down" '"state" : "BACKUP"'
wait_until 30 "notify ran with: d1 notify INSTANCE VI_1 BACKUP 90" notified "d1 notify INSTANCE VI_1 BACKUP 90"
wait_until 30 "notify ran with: d2 notify INSTANCE VI_1 MASTER 100" notified "d2 notify INSTANCE VI_1 MASTER 100"

step "The process returns: after 'rise 2' d1 is back at 150 and preempts"
start_web d1
wait_until 60 "the VIP is back on d1" holds d1
wait_until 30 "d2 released the VIP" lacks d2
[ "$(count_lines "d1 notify INSTANCE VI_1 MASTER 150")" -ge 2 ] || { cat "$out/notify.log" >&2; fail "d1's second MASTER notify is missing"; }
note "ok: d1 notify INSTANCE VI_1 MASTER 150 (again)"
status_of d1 >"$out/d1.status.up"
expect_contains "d1 runs at priority 150 again" "$out/d1.status.up" '"priority" : 150'

step "Stop: notify receives STOP"
stop_vrrp d1 TERM
wait_until 30 "notify ran with: d1 notify INSTANCE VI_1 STOP 150" notified "d1 notify INSTANCE VI_1 STOP 150"
sed 's/^/   | /' "$out/notify.log"

printf '\nvrrp-track-script: a tracked process moves the VIP and back; notify arguments as keepalived documents\n'
