# DNS_CHECK, SMTP_CHECK, UDP_CHECK and PING_CHECK against real services in namespaces: dnsmasq answering DNS, a
# real SMTP server (Python's smtpd), a UDP echo service, and a host that answers ping. Each real's service dies: the
# real leaves the IPVS table; it returns: the real returns.
source "$LAB_REPO/Tests/Lab/lib.sh"
work=/tmp/net-checks
mkdir -p "$work"
trap 'rc=$?; [ $rc -eq 0 ] || { echo "--- directord log (last 40 lines)"; tail -n 40 "$work/lb.log"; } >&2; cleanup_bg; pkill -f "$work/" 2>/dev/null || true' EXIT

step "Topology: a director and four real servers on one bridge"
bridge_add brn
ns_add lb
ns_link lb eth0 brn 192.168.9.1/24
for i in 1 2 3 4; do
    ns_add "real$i"
    ns_link "real$i" eth0 brn "192.168.9.1$i/24"
done

cat >"$work/udp-echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
PY
start_dns() {
    ip netns exec real1 dnsmasq --keep-in-foreground --user=root --port=53 --listen-address=192.168.9.11 \
        --bind-interfaces --no-resolv --no-hosts --address=/www.example.test/192.0.2.99 --pid-file="$work/dnsmasq.pid" &
    echo $! >>/tmp/lab-pids
}
start_smtp() {
    ip netns exec real2 python3 -W ignore -m smtpd -n -c DebuggingServer 192.168.9.12:25 >/dev/null 2>&1 &
    echo $! >"$work/smtp.pid"
    echo $! >>/tmp/lab-pids
}
start_udp() {
    ip netns exec real3 python3 "$work/udp-echo.py" 192.168.9.13 7000 &
    echo $! >"$work/udp.pid"
    echo $! >>/tmp/lab-pids
}
start_dns
start_smtp
start_udp
note "real1 dnsmasq :53, real2 SMTP :25, real3 UDP echo :7000, real4 answers ping"

cat >"$work/directord.conf" <<'EOF'
virtual_server 10.9.0.1 53 {
    protocol UDP
    lb_kind DR
    real_server 192.168.9.11 53 {
        DNS_CHECK {
            type A
            name www.example.test
            connect_timeout 1
            retry 0
            delay_loop 1
        }
    }
}
virtual_server 10.9.0.1 25 {
    protocol TCP
    lb_kind DR
    real_server 192.168.9.12 25 {
        SMTP_CHECK {
            helo_name lab.example.test
            connect_timeout 2
            retry 0
            delay_loop 1
        }
    }
}
virtual_server 10.9.0.1 7000 {
    protocol UDP
    lb_kind DR
    real_server 192.168.9.13 7000 {
        UDP_CHECK {
            payload 70696e670a
            require_reply 70696e670a
            connect_timeout 1
            retry 0
            delay_loop 1
        }
    }
}
virtual_server 10.9.0.1 80 {
    protocol TCP
    lb_kind DR
    real_server 192.168.9.14 80 {
        PING_CHECK {
            connect_timeout 1
            retry 0
            delay_loop 1
        }
    }
}
EOF
ip netns exec lb "$DIRECTORD" -f "$work/directord.conf" --socket "$work/lb.sock" --state-file "$work/state.json" >"$work/lb.log" 2>&1 &
echo $! >>/tmp/lab-pids
in_table() { ip netns exec lb ipvsadm -Ln | matches -- "-> $1 "; }
wait_until 120 "all four reals are in the table" bash -c \
    "$(declare -f in_table); in_table 192.168.9.11:53 && in_table 192.168.9.12:25 && in_table 192.168.9.13:7000 && in_table 192.168.9.14:80"
ip netns exec lb ipvsadm -Ln | sed 's/^/   ipvsadm | /'

step "DNS_CHECK: dnsmasq stops, the real leaves; it starts again, the real returns"
kill "$(cat "$work/dnsmasq.pid")"
wait_until 60 "192.168.9.11:53 left the table" bash -c "$(declare -f in_table); ! in_table 192.168.9.11:53"
start_dns
wait_until 60 "192.168.9.11:53 is back" in_table 192.168.9.11:53

step "SMTP_CHECK: the SMTP server stops, the real leaves; it starts again, the real returns"
kill "$(cat "$work/smtp.pid")"
wait_until 60 "192.168.9.12:25 left the table" bash -c "$(declare -f in_table); ! in_table 192.168.9.12:25"
start_smtp
wait_until 60 "192.168.9.12:25 is back" in_table 192.168.9.12:25

step "UDP_CHECK: the echo service stops (port unreachable), the real leaves; it starts again, the real returns"
kill "$(cat "$work/udp.pid")"
wait_until 60 "192.168.9.13:7000 left the table" bash -c "$(declare -f in_table); ! in_table 192.168.9.13:7000"
start_udp
wait_until 60 "192.168.9.13:7000 is back" in_table 192.168.9.13:7000

step "PING_CHECK: the host's link goes down, the real leaves; it comes up, the real returns"
ip -n real4 link set eth0 down
wait_until 60 "192.168.9.14:80 left the table" bash -c "$(declare -f in_table); ! in_table 192.168.9.14:80"
ip -n real4 link set eth0 up
wait_until 60 "192.168.9.14:80 is back" in_table 192.168.9.14:80

grep -E 'is down|is up' "$work/lb.log" | sed 's/^.*real_server/   real_server/' | head -n 12
printf '\nnet-checks: DNS, SMTP, UDP and PING checks followed their services out and back\n'
