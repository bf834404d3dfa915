"""Measure 3 of `make bench`, failover: how long after the MASTER stops the virtual address is up on the BACKUP.

    bench.py failover --runs 5 --variants v2-1s,v3-0.1s

Two network namespaces (master, priority 150, and backup, priority 100) on a bridge in the guest's root namespace
run the same program, directord or keepalived, with the same keepalived-syntax vrrp_instance. For each run:

- fresh namespaces; the master starts (`state MASTER`) and takes the VIP, then the backup starts; once the backup
  logs BACKUP and has seen three of the master's adverts, the harness waits a random fraction of an advert interval
  (so the stop falls at a uniformly random point between two adverts) and stops the master:
  - "kill": SIGKILL (keepalived: its parent is stopped first so that it cannot restart its VRRP child; the clock
    starts right before the VRRP child is killed);
  - "graceful": SIGTERM to the main process (for keepalived the parent, which stops its VRRP child): the master
    resigns with a priority-0 advert and the backup takes over after its skew time;
- the time is from right before the signal to the moment a netlink listener in the backup namespace (an
  RTM_NEWADDR subscription opened before the signal, read by a thread blocked on it) receives the VIP's address,
  both on this process's monotonic clock;
- a packet socket on the backup's interface timestamps every advert from the master, which gives the protocol's own
  view: last master advert -> VIP (Master_Down_Interval after a kill), priority-0 advert -> VIP (Skew_Time after a
  graceful stop) and signal -> priority-0 advert (how long the stopping master takes to resign); after a graceful
  stop the master's first shutdown log line and its exit are timed too (where the resign time goes).

Each result is a `RESULT` line: measure failover-kill / failover-graceful, size the variant (v2-1s, v3-0.1s), tool
directord / keepalived.
"""
import ctypes
import os
import random
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import bench

BRIDGE = "fobr"
MASTER, BACKUP = "fo-master", "fo-backup"
ADDRESSES = {MASTER: "192.0.2.2", BACKUP: "192.0.2.3"}
PRIORITIES = {MASTER: 150, BACKUP: 100}
VIP = "192.0.2.10"
VRID = 51
# variant -> (VRRP version, advert_int in seconds)
VARIANTS = {"v2-1s": (2, 1.0), "v3-0.1s": (3, 0.1)}
TOOLS = ("directord", "keepalived")
STOPS = ("kill", "graceful")
# How the backup says it has settled in BACKUP, per program.
BACKUP_LINE = {"directord": r"VI_1: \S+ → BACKUP", "keepalived": r"Entering BACKUP STATE"}
# The first line a program logs when SIGTERM reaches its shutdown code (where a slow resign is spent).
STOPPING_LINE = {"directord": r"directord stopping", "keepalived": r"Stopping"}

CLONE_NEWNET = 0x40000000
RTM_NEWADDR = 20
RTMGRP_IPV4_IFADDR = 0x10
IFA_ADDRESS, IFA_LOCAL = 1, 2
ETH_P_IP = 0x0800
IPPROTO_VRRP = 112
PACKET_OUTGOING = 4


def add_parser(subparsers):
    a = subparsers.add_parser("failover", help="measure 3: master stopped -> VIP on the backup")
    a.add_argument("--runs", type=int, default=5)
    a.add_argument("--variants", default=",".join(VARIANTS))
    a.add_argument("--tools", default=",".join(TOOLS))
    a.add_argument("--stops", default=",".join(STOPS))


def skew_time(version, interval, priority):
    """Skew_Time: v2 (RFC 3768 §6.1) (256 - priority)/256 s whatever the advert interval; v3 (RFC 5798 §6.1)
    (256 - priority)/256 of the master's advert interval. keepalived 2.2.7 and directord both compute it so."""
    return (256 - priority) / 256 * (1.0 if version == 2 else interval)


def master_down_interval(version, interval, priority):
    return 3 * interval + skew_time(version, interval, priority)


# --- Namespaces and the watcher ---------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise bench.BenchError(f"setns: {os.strerror(ctypes.get_errno())}")


def sockets_in(ns, *makers):
    """Creates sockets inside network namespace `ns` (a socket stays in the namespace it was made in), then returns
    this thread to its own namespace."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        setns(target)
        try:
            return [make() for make in makers]
        finally:
            setns(home)
    finally:
        os.close(target)
        os.close(home)


def ip_batch(commands, ns=None):
    argv = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    r = subprocess.run(argv, input="\n".join(commands) + "\n", text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise bench.BenchError(f"{' '.join(argv)}: {r.stdout.strip()}")


def topology_up():
    """The bridge (kept for the whole part) and two fresh namespaces, each with eth0 on the bridge."""
    if not os.path.exists(f"/sys/class/net/{BRIDGE}"):
        ip_batch([f"link add {BRIDGE} type bridge", f"link set {BRIDGE} up"])
    root = []
    for ns in (MASTER, BACKUP):
        peer = "v" + ns
        root += [f"netns add {ns}", f"link add {peer} type veth peer name eth0 netns {ns}",
                 f"link set {peer} master {BRIDGE} up"]
    ip_batch(root)
    for ns in (MASTER, BACKUP):
        ip_batch(["link set lo up", "link set eth0 up", f"addr add {ADDRESSES[ns]}/24 dev eth0"], ns)


def topology_down():
    for ns in (MASTER, BACKUP):
        if os.path.exists(f"/run/netns/{ns}"):
            subprocess.run(["ip", "netns", "del", ns], check=False)


def parse_addresses(data):
    """The IPv4 addresses announced by RTM_NEWADDR messages in one netlink read."""
    found = []
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind == RTM_NEWADDR:
            at = offset + 16 + 8  # nlmsghdr, ifaddrmsg
            while at + 4 <= offset + length:
                alen, atype = struct.unpack_from("=HH", data, at)
                if alen < 4:
                    break
                if atype in (IFA_ADDRESS, IFA_LOCAL) and alen == 8:
                    found.append(socket.inet_ntoa(data[at + 4:at + 8]))
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3
    return found


class Watcher:
    """Timestamps, in a thread blocked on the sockets, the VIP appearing in either namespace (netlink) and every
    advert the master sends as the backup's eth0 receives it (packet socket)."""

    def __init__(self):
        nl_master, = sockets_in(MASTER, self._netlink)
        nl_backup, packets = sockets_in(BACKUP, self._netlink, self._packets)
        self.names = {nl_master.fileno(): MASTER, nl_backup.fileno(): BACKUP}
        self.sockets = [nl_master, nl_backup, packets]
        self.packets = packets
        self.vip = {}  # namespace -> first time the VIP was added there
        self.adverts = []  # (time, priority) of the master's adverts seen at the backup
        self.cond = threading.Condition()
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _netlink():
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        s.bind((0, RTMGRP_IPV4_IFADDR))
        return s

    @staticmethod
    def _packets():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        s.bind(("eth0", ETH_P_IP))
        return s

    def _run(self):
        while True:
            ready, _, _ = select.select(self.sockets + [self.stop_r], [], [])
            t = bench.now()
            if self.stop_r in ready:
                return
            for s in ready:
                if s is self.packets:
                    data, addr = s.recvfrom(2048)
                    self._advert(t, data, addr)
                else:
                    data = s.recv(65536)
                    if VIP in parse_addresses(data):
                        with self.cond:
                            self.vip.setdefault(self.names[s.fileno()], t)
                            self.cond.notify_all()

    def _advert(self, t, data, addr):
        if addr[2] == PACKET_OUTGOING or len(data) < 20 or data[9] != IPPROTO_VRRP:
            return
        if socket.inet_ntoa(data[12:16]) != ADDRESSES[MASTER]:
            return
        header = (data[0] & 0x0F) * 4
        if len(data) < header + 3 or data[header + 1] != VRID:
            return
        with self.cond:
            self.adverts.append((t, data[header + 2]))
            self.cond.notify_all()

    def wait(self, predicate, timeout, what):
        deadline = bench.now() + timeout
        with self.cond:
            while not predicate():
                left = deadline - bench.now()
                if left <= 0:
                    raise bench.BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
                self.cond.wait(left)

    def close(self):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        for s in self.sockets:
            s.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


# --- The two programs ---------------------------------------------------------------------------------------------

def instance_conf(ns, version, interval):
    """The same keepalived-syntax file for directord and keepalived."""
    state = "MASTER" if ns == MASTER else "BACKUP"
    return f"""global_defs {{
    router_id {ns}
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id {VRID}
    version {version}
    priority {PRIORITIES[ns]}
    advert_int {interval:g}
    virtual_ipaddress {{
        {VIP}/24 dev eth0
    }}
}}
"""


class Peer:
    """One program (directord or keepalived) running one side in its namespace, its log read line by line."""

    def __init__(self, tool, ns, conf, tag):
        self.tool, self.ns = tool, ns
        base = f"{bench.WORK}/{tag}"
        self.vrrp_pid_file = f"{base}-vrrp.pid"
        if tool == "directord":
            argv = [bench.DIRECTORD, "-f", conf, "--socket", f"{base}.sock", "--pid-file", f"{base}.pid"]
        else:
            argv = ["keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", f"{base}.pid", "-r", self.vrrp_pid_file]
        for stale in (f"{base}.pid", self.vrrp_pid_file, f"{base}.sock"):
            if os.path.exists(stale):
                os.unlink(stale)
        # `ip netns exec` execs the program: the child's pid is the program's main process.
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.log = bench.LogWatcher(self.proc.stdout, f"{base}.log")

    def vrrp_pid(self):
        """keepalived's VRRP child, once it has written its pid file."""
        deadline = bench.now() + bench.DEADLINE
        while True:
            try:
                return int(open(self.vrrp_pid_file).read().split()[0])
            except (OSError, ValueError, IndexError):
                if bench.now() > deadline:
                    raise bench.BenchError(f"keepalived in {self.ns} wrote no VRRP pid file") from None
                time.sleep(0.05)

    def check_alive(self, what):
        if self.proc.poll() is not None:
            raise bench.BenchError(f"{self.tool} in {self.ns} exited with status {self.proc.returncode} ({what}; "
                                   f"log: {self.log.file.name})")

    def stop(self, kind):
        """Stops the program as a failing (kind "kill") or stopping ("graceful") master; returns the time right
        before the signal that ends its VRRP."""
        if kind == "graceful":
            t = bench.now()
            self.proc.send_signal(signal.SIGTERM)
            return t
        if self.tool == "keepalived":
            child = self.vrrp_pid()
            os.kill(self.proc.pid, signal.SIGSTOP)
            t = bench.now()
            os.kill(child, signal.SIGKILL)
            os.kill(self.proc.pid, signal.SIGKILL)
            return t
        t = bench.now()
        self.proc.send_signal(signal.SIGKILL)
        return t

    def reap(self):
        """Leaves no process behind (used between runs, outside any timed window)."""
        if self.tool == "keepalived":
            # The parent is stopped first so that it cannot restart its VRRP child; the child may outlive it.
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGSTOP)
            try:
                os.kill(int(open(self.vrrp_pid_file).read().split()[0]), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(60)
        self.log.thread.join(10)


# --- One measurement ----------------------------------------------------------------------------------------------

def measure(tool, variant, kind, run):
    version, interval = VARIANTS[variant]
    topology_up()
    watcher = Watcher()
    peers = []
    try:
        confs = {}
        for ns in (MASTER, BACKUP):
            confs[ns] = f"{bench.WORK}/failover-{ns}.conf"
            bench.write(confs[ns], instance_conf(ns, version, interval))
        tag = f"failover-{variant}-{kind}-{tool}-{run}"
        master = Peer(tool, MASTER, confs[MASTER], f"{tag}-master")
        peers.append(master)
        watcher.wait(lambda: MASTER in watcher.vip, bench.DEADLINE, f"the VIP on the {tool} master")
        backup = Peer(tool, BACKUP, confs[BACKUP], f"{tag}-backup")
        peers.append(backup)
        backup.log.wait_for(BACKUP_LINE[tool], 0, bench.DEADLINE, f"the {tool} backup in BACKUP")
        seen = len(watcher.adverts)
        watcher.wait(lambda: len(watcher.adverts) >= seen + 3, 10 * interval + 10, "three adverts at the backup")
        time.sleep(random.uniform(0, interval))
        master.check_alive("before the stop")
        backup.check_alive("before the stop")
        if BACKUP in watcher.vip:
            raise bench.BenchError(f"the {tool} backup took the VIP from a live master")
        if kind == "kill" and tool == "keepalived":
            master.vrrp_pid()  # read before the clock starts
        before, logged = len(watcher.adverts), master.log.mark()
        # When the stopping master's process is gone (its exit competes with the backup for the single vCPU).
        exited = []
        waiter = threading.Thread(target=lambda: (master.proc.wait(), exited.append(bench.now())), daemon=True)
        waiter.start()
        t0 = master.stop(kind)
        bound = master_down_interval(version, interval, PRIORITIES[BACKUP]) if kind == "kill" else \
            skew_time(version, interval, PRIORITIES[BACKUP])
        watcher.wait(lambda: BACKUP in watcher.vip, 10 * bound + 10, f"the VIP on the {tool} backup after {kind}")
        t_vip = watcher.vip[BACKUP]
        with watcher.cond:
            adverts = list(watcher.adverts)
        fields = dict(measure=f"failover-{kind}", size=variant, tool=tool, run=run, seconds=t_vip - t0,
                      bound=bound)
        if kind == "kill":
            last = [t for t, p in adverts if t < t_vip and p > 0]
            fields["advert_seconds"] = t_vip - last[-1]
        else:
            resign = [t for t, p in adverts[before:] if p == 0]
            if resign:
                fields["resign_seconds"] = t_vip - resign[0]
                fields["resign_delay"] = resign[0] - t0
            else:
                bench.note(f"  {tool} {variant}: no priority-0 advert seen after SIGTERM")
            try:
                t_line, _ = master.log.wait_for(STOPPING_LINE[tool], logged, 5, f"the {tool} master's stop line")
                fields["stopping_log_delay"] = t_line - t0
            except bench.BenchError:
                bench.note(f"  {tool} {variant}: no '{STOPPING_LINE[tool]}' line after SIGTERM")
        waiter.join(60)
        if kind == "graceful" and exited:
            fields["exit_delay"] = exited[0] - t0
        bench.emit(**fields)
        bench.note(f"  run {run}: {variant} {kind} {tool}: {fields['seconds'] * 1000:.0f} ms "
                   f"(bound {bound * 1000:.0f} ms)")
    finally:
        for p in peers:
            p.reap()
        watcher.close()
        topology_down()


def run(args):
    variants = args.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            raise bench.BenchError(f"unknown variant {v} (known: {', '.join(VARIANTS)})")
    tools = args.tools.split(",")
    stops = args.stops.split(",")
    topology_down()
    bench.note(f"failover: {', '.join(variants)}; {', '.join(stops)}; {', '.join(tools)}; {args.runs} runs")
    for variant in variants:
        for r in range(1, args.runs + 1):
            # The order of the programs alternates so that a slow phase of the host does not always hit the same one.
            order = tools if r % 2 else list(reversed(tools))
            for kind in stops:
                for tool in order:
                    measure(tool, variant, kind, r)
    subprocess.run(["ip", "link", "del", BRIDGE], check=False)
