"""Measures 4, 5 and 6 of `make bench` (issues #5, #6, #8): health checks, and VRRP adverts under checking load.

    bench.py health --measures dead,cost,adverts --reals 1000,5000 --runs 5

- dead (measure 4): one virtual server with DEAD_REALS reals, HTTP_GET with a digest, delay_loop 1,
  connect_timeout 1, retry 1, delay_before_retry 1; each real is its own lab-responder process. Per run one real's
  responder is SIGKILLed (after a random fraction of delay_loop) -> time until its destination leaves
  /proc/net/ip_vs (no inhibit_on_failure: the destination is removed); the responder is started again (the clock
  starts when it prints "listening") -> time until the destination is back. Measures dead-real-removed and
  dead-real-back, size = the number of reals; each result carries the bounds computed from the timers.
- cost (measure 5): N reals (size) behind N/100 virtual servers, the same HTTP_GET check at delay_loop 1, all
  answered by one lab-responder listening on 0.0.0.0:80 in the reals' namespace, where 10.128.0.0/16 is a local
  route. After a warm-up, over a steady window: utime+stime of directord and of keepalived's checker (and VRRP)
  process from /proc/PID/stat, VmRSS / VmHWM / Threads from /proc/PID/status, and the check rate achieved, counted
  on the server side (TcpPassiveOpens of the reals' namespace). Measure check-cost, seconds = CPU seconds per minute.
- adverts (measure 6, with cost): the same configuration also holds a VRRPv3 instance at advert_int 0.01
  (state MASTER, alone on its link); a raw socket (IP protocol 112) in the reals' namespace timestamps each advert
  with the kernel's receive time (SO_TIMESTAMPNS) over the same window. Measure advert-interval, seconds = p50,
  with p99, max and the count.

Topology per tool: the director is this process's fresh namespace (veth d0 10.50.0.1/24, route to 10.128.0.0/16
via 10.50.0.2); the reals and the advert peer are one namespace beside it (veth r0 10.50.0.2/24). directord and
keepalived run one after the other, each in a fresh pair of namespaces, with the same configuration text;
keepalived runs as `keepalived -n -l -G` (checker and VRRP processes), with `-C` (checker only) without adverts.
"""
import hashlib
import os
import random
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import bench

TOOLS = ("directord", "keepalived")
BODY = "directord bench\n"
DIGEST = hashlib.md5(BODY.encode()).hexdigest()
TIMERS = dict(delay_loop=1, connect_timeout=1, retry=1, delay_before_retry=1)
# The allowance on top of the timers: scheduling, the kernel operation, the harness's poll (20 ms).
SLACK = 0.1
DEAD_REALS = 4
PER_SERVICE = 100
ADVERT_INT = 0.01
VRID = 61
DIRECTOR_ADDR, PEER_ADDR, VIP = "10.50.0.1", "10.50.0.2", "10.50.0.100"
VRRP_GROUP = "224.0.0.18"
IPPROTO_VRRP = 112
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
CLONE_NEWNET = 0x40000000


def add_parser(subparsers):
    a = subparsers.add_parser("health")
    a.add_argument("--measures", default="dead,cost,adverts")
    a.add_argument("--reals", default="1000,5000", help="sizes for cost/adverts")
    a.add_argument("--runs", type=int, default=5, help="runs of the dead-real measure per tool")
    a.add_argument("--dead-reals", type=int, default=DEAD_REALS)
    a.add_argument("--warmup", type=float, default=20, help="seconds between the table complete and the window")
    a.add_argument("--window", type=float, default=60, help="seconds of the steady-state window")
    a.add_argument("--tools", default=",".join(TOOLS))


def bounds():
    t = TIMERS
    return dict(
        # A killed server refuses at once: the next check (within delay_loop) fails, `retry` more fail after
        # delay_before_retry each, the last one takes the real down.
        removed=t["delay_loop"] + t["retry"] * t["delay_before_retry"] + SLACK,
        # The same if every attempt ran into connect_timeout instead (a host gone, not a refused port).
        removed_worst=t["delay_loop"] + (t["retry"] + 1) * t["connect_timeout"] + t["retry"] * t["delay_before_retry"]
        + SLACK,
        # A down real is checked every delay_loop; the first check of a live server passes at once.
        back=t["delay_loop"] + SLACK,
        back_worst=t["delay_loop"] + t["connect_timeout"] + SLACK,
    )


def real(i):
    return f"10.128.{i // 250}.{i % 250 + 1}"


def responder_binary():
    if os.environ.get("BENCH_RESPONDER"):
        return os.environ["BENCH_RESPONDER"]
    for d in (bench.BIN, os.path.join(bench.REPO, ".build/debug")):
        path = os.path.join(d, "lab-responder")
        if os.access(path, os.X_OK):
            return path
    raise bench.BenchError(f"lab-responder is missing in {bench.BIN} (swift build --product lab-responder)")


# --- Configuration --------------------------------------------------------------------------------------------------

def config(reals, adverts):
    t = TIMERS
    out = ["global_defs {", "    router_id bench", "}"]
    if adverts:
        out += ["vrrp_instance VI_BENCH {", "    state MASTER", "    interface d0", f"    virtual_router_id {VRID}",
                "    version 3", "    priority 200", f"    advert_int {ADVERT_INT}", "    virtual_ipaddress {",
                f"        {VIP}/24 dev d0", "    }", "}"]
    services = (reals + PER_SERVICE - 1) // PER_SERVICE
    for s in range(services):
        out += [f"virtual_server {bench.vip(s)} 80 {{", f"    delay_loop {t['delay_loop']}", "    lb_algo wrr",
                "    lb_kind DR", "    protocol TCP"]
        for i in range(s * PER_SERVICE, min(reals, (s + 1) * PER_SERVICE)):
            out += [f"    real_server {real(i)} 80 {{", "        weight 1", "        HTTP_GET {", "            url {",
                    "                path /check", f"                digest {DIGEST}", "            }",
                    f"            connect_timeout {t['connect_timeout']}", f"            retry {t['retry']}",
                    f"            delay_before_retry {t['delay_before_retry']}", "        }", "    }"]
        out.append("}")
    return services, "\n".join(out) + "\n"


# --- Topology -------------------------------------------------------------------------------------------------------

class Farm:
    """The director namespace (this process moves into it) and the reals' namespace beside it, joined by a veth."""

    def __init__(self, label):
        self.director = bench.fresh_namespace(label)
        self.peer = self.director + "-r"
        self.responders = []
        sh(["ip", "netns", "add", self.peer])
        sh(["ip", "link", "add", "d0", "type", "veth", "peer", "name", "r0", "netns", self.peer])
        sh(["ip", "addr", "add", f"{DIRECTOR_ADDR}/24", "dev", "d0"])
        sh(["ip", "link", "set", "d0", "up"])
        sh(["ip", "route", "add", "10.128.0.0/16", "via", PEER_ADDR])
        for cmd in (["addr", "add", f"{PEER_ADDR}/24", "dev", "r0"], ["link", "set", "r0", "up"],
                    ["link", "set", "lo", "up"], ["route", "add", "local", "10.128.0.0/16", "dev", "lo"]):
            sh(["ip", "-n", self.peer, *cmd])

    def responder(self, *endpoints):
        """Starts lab-responder in the reals' namespace; returns it once it listens, with .listening (time)."""
        # `ip netns exec` execs the program: the child's pid is the responder itself.
        p = subprocess.Popen(["ip", "netns", "exec", self.peer, responder_binary(), "--body", BODY, *endpoints],
                             stdout=subprocess.PIPE, stderr=open(f"{bench.WORK}/responder.log", "a"))
        line = p.stdout.readline()
        p.listening = bench.now()
        if line.strip() != b"listening":
            p.kill()
            p.wait()
            raise bench.BenchError(f"lab-responder {' '.join(endpoints)} did not start (see {bench.WORK}/responder.log)")
        self.responders.append(p)
        return p

    def close(self):
        for p in self.responders:
            if p.poll() is None:
                p.kill()
                p.wait()
        bench.empty_table()
        subprocess.run(["ip", "netns", "del", self.peer], check=False)


def sh(argv):
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise bench.BenchError(f"{' '.join(argv)}: {r.stderr.decode(errors='replace').strip()}")


def passive_opens(pid):
    """TcpPassiveOpens of the namespace process `pid` lives in (connections its listeners accepted)."""
    with open(f"/proc/{pid}/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("PassiveOpens")])


def cpu_ticks():
    """(idle, total) ticks of the guest's CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    return values[3] + values[4], sum(values)


def user_system(pid):
    """(utime, stime) of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK"), int(fields[12]) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """{tid: (name, utime + stime seconds)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            out[tid] = (name, bench.cpu_seconds(f"{pid}/task/{tid}"))
        except (OSError, ValueError):
            pass
    return out


def open_files(pid):
    """(descriptors open now, the soft RLIMIT_NOFILE) of pid."""
    limit = None
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                limit = line.split()[3]
    return len(os.listdir(f"/proc/{pid}/fd")), limit


def status(pid):
    """VmRSS and VmHWM in MB, and the number of threads, from /proc/PID/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["VmHWM"][0]) / 1024, int(fields["Threads"][0])


# --- Starting the tools ---------------------------------------------------------------------------------------------

class Tool:
    """directord, or keepalived (parent, checker child, VRRP child when the configuration has an instance)."""

    def __init__(self, name, conf, tag, vrrp):
        self.name, self.tag, self.vrrp = name, tag, vrrp
        if name == "directord":
            self.daemon = bench.start_directord(conf, tag)
            self.log_path = f"{bench.WORK}/{tag}.log"
        else:
            argv = ["keepalived", "-n", "-l", "-G", *([] if vrrp else ["-C"]), "-f", conf,
                    "-p", f"{bench.WORK}/{tag}.pid", "-c", f"{bench.WORK}/{tag}-checkers.pid",
                    "-r", f"{bench.WORK}/{tag}-vrrp.pid"]
            self.daemon = bench.Daemon(argv, f"{bench.WORK}/{tag}.log", watch=False)
            self.log_path = f"{bench.WORK}/{tag}.log"

    @property
    def started(self):
        return self.daemon.started

    def check_alive(self, what):
        self.daemon.check_alive(what)

    def child_pid(self, kind, timeout=60):
        """keepalived's checker or VRRP child, from its pid file."""
        path = f"{bench.WORK}/{self.tag}-{'checkers' if kind == 'checker' else 'vrrp'}.pid"
        deadline = bench.now() + timeout
        while True:
            try:
                pid = int(open(path).read().split()[0])
                if os.path.exists(f"/proc/{pid}"):
                    return pid
            except (OSError, ValueError, IndexError):
                pass
            self.check_alive(f"waiting for {path}")
            if bench.now() > deadline:
                raise bench.BenchError(f"keepalived wrote no live pid to {path}")
            time.sleep(0.1)

    def processes(self):
        """[(role, pid)] whose CPU and memory are measured."""
        if self.name == "directord":
            return [("directord", self.daemon.proc.pid)]
        out = [("keepalived checker", self.child_pid("checker"))]
        if self.vrrp:
            out.append(("keepalived vrrp", self.child_pid("vrrp")))
        return out

    def downs(self):
        """The log lines so far that say a real went down (directord: with the cause)."""
        pattern = "is down:" if self.name == "directord" else "Removing service"
        with open(self.log_path, errors="replace") as f:
            return [line for line in f if pattern in line]


    def stop(self):
        self.daemon.stop(300)


def causes(lines):
    """The commonest reasons in "... is down: CAUSE" lines, addresses and numbers blanked: [(count, cause)]."""
    counts = {}
    for line in lines:
        cause = line.split("is down:", 1)[-1].strip()
        cause = re.sub(r"\d+(\.\d+)*", "N", cause)
        counts[cause] = counts.get(cause, 0) + 1
    return sorted(((n, c) for c, n in counts.items()), reverse=True)[:3]


def start(tool, conf, tag, services, dests, vrrp):
    t = Tool(tool, conf, tag, vrrp)
    bench.wait_complete(services, dests, t.started + bench.DEADLINE, f"{tool}'s table", t)
    if tool == "directord":
        t.daemon.log.wait_for(bench.RUNNING, 0, bench.DEADLINE, "directord running")
    return t


# --- Measure 4: a dead real leaves, a live one returns ----------------------------------------------------------------

def present(addr):
    def predicate():
        t = bench.now()
        data = bench.proc_text()
        return bench.proc_weight(data, addr, 80) is not None, bench.now() - t
    return predicate


def absent(addr):
    def predicate():
        t = bench.now()
        data = bench.proc_text()
        return bench.proc_weight(data, addr, 80) is None, bench.now() - t
    return predicate


def part_dead(args, tool):
    n = args.dead_reals
    b = bounds()
    services, text = config(n, adverts=False)
    conf = f"{bench.WORK}/dead-{tool}.conf"
    bench.write(conf, text)
    farm = Farm(f"h{tool[0]}{os.getpid()}")
    try:
        servers = [farm.responder(f"{real(i)}:80") for i in range(n)]
        t = start(tool, conf, f"dead-{tool}", services, n, vrrp=False)
        # Let every real's first check (within warmup = delay_loop) pass.
        time.sleep(TIMERS["delay_loop"] + 1)
        for run_ in range(1, args.runs + 1):
            victim = (run_ - 1) % n
            addr = real(victim)
            bench.wait_until(present(addr), bench.now() + 30, f"{addr} in the table before run {run_}", t)
            # A random phase against the checks' delay_loop.
            time.sleep(random.uniform(0, TIMERS["delay_loop"]))
            p = servers[victim]
            p.kill()
            p.wait()
            t0 = bench.now()
            t_gone, polls, _ = bench.wait_until(absent(addr), t0 + bench.DEADLINE, f"{tool} removing {addr}", t)
            data = bench.proc_text()
            others = sum(1 for i in range(n) if i != victim and bench.proc_weight(data, real(i), 80) is not None)
            time.sleep(random.uniform(0.5, 0.5 + TIMERS["delay_loop"]))
            servers[victim] = farm.responder(f"{addr}:80")
            t1 = servers[victim].listening
            t_back, polls2, _ = bench.wait_until(present(addr), t1 + bench.DEADLINE, f"{tool} restoring {addr}", t)
            bench.emit(measure="dead-real-removed", size=n, tool=tool, run=run_, seconds=t_gone - t0,
                       bound=b["removed"], bound_worst=b["removed_worst"], others_present=others, polls=polls,
                       timers=TIMERS)
            bench.emit(measure="dead-real-back", size=n, tool=tool, run=run_, seconds=t_back - t1,
                       bound=b["back"], bound_worst=b["back_worst"], polls=polls2, timers=TIMERS)
            bench.note(f"dead real, {tool} run {run_}: removed after {t_gone - t0:.2f}s, back after {t_back - t1:.2f}s")
        t.check_alive(tool)
        t.stop()
    finally:
        farm.close()


# --- Measures 5 and 6: checking cost, advert punctuality --------------------------------------------------------------

def setns(fd):
    if bench._libc.setns(fd, CLONE_NEWNET) != 0:
        raise bench.BenchError(f"setns: {os.strerror(bench.ctypes.get_errno())}")


class AdvertRecorder:
    """A raw IP-protocol-112 socket in the reals' namespace, joined to 224.0.0.18 on r0, read by a thread; each
    advert of VRID is kept with the kernel's receive timestamp (taken when the veth hands the packet over, so the
    harness's own scheduling does not blur it)."""

    def __init__(self, netns):
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            setns(target)
            try:
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_VRRP)
            finally:
                setns(own)
        finally:
            os.close(own)
            os.close(target)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                             socket.inet_aton(VRRP_GROUP) + socket.inet_aton(PEER_ADDR))
        self.sock.settimeout(0.2)
        self.times = []
        self.recording = False
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(2048, 256)
            except socket.timeout:
                continue
            except OSError:
                return
            ihl = (data[0] & 0x0F) * 4
            if len(data) < ihl + 2 or data[ihl] >> 4 != 3 or data[ihl + 1] != VRID:
                continue
            for level, kind, cdata in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    if self.recording:
                        self.times.append(sec + nsec / 1e9)

    def start(self):
        self.times = []
        self.recording = True

    def stop(self):
        self.recording = False
        return list(self.times)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def part_cost(args, reals, tool, adverts):
    services, text = config(reals, adverts)
    conf = f"{bench.WORK}/cost-{reals}-{tool}.conf"
    bench.write(conf, text)
    farm = Farm(f"h{tool[0]}{os.getpid()}c")
    recorder = None
    try:
        server = farm.responder("0.0.0.0:80")
        t = start(tool, conf, f"cost-{reals}-{tool}", services, reals, vrrp=adverts)
        procs = t.processes()
        if adverts:
            recorder = AdvertRecorder(farm.peer)
        time.sleep(args.warmup)
        t.check_alive(f"{tool} after the warm-up")
        cpu0 = {pid: bench.cpu_seconds(pid) for _, pid in procs}
        us0 = {pid: user_system(pid) for _, pid in procs}
        threads0 = {pid: thread_cpu(pid) for _, pid in procs}
        ticks0, server0 = cpu_ticks(), bench.cpu_seconds(server.pid)
        opens0, downs0 = passive_opens(server.pid), t.downs()
        if recorder:
            recorder.start()
        w0 = bench.now()
        # The window, with the open descriptors sampled every 2 s (their peak is what runs into RLIMIT_NOFILE).
        peak_fds = {pid: 0 for _, pid in procs}
        while bench.now() < w0 + args.window:
            time.sleep(min(2, max(0, w0 + args.window - bench.now())))
            t.check_alive(f"{tool} during the window")
            for _, pid in procs:
                peak_fds[pid] = max(peak_fds[pid], open_files(pid)[0])
        w1 = bench.now()
        cpu1 = {pid: bench.cpu_seconds(pid) for _, pid in procs}
        us1 = {pid: user_system(pid) for _, pid in procs}
        threads1 = {pid: thread_cpu(pid) for _, pid in procs}
        ticks1, server1 = cpu_ticks(), bench.cpu_seconds(server.pid)
        idle = (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1])
        opens1 = passive_opens(server.pid)
        stamps = recorder.stop() if recorder else []
        mem = {pid: status(pid) for _, pid in procs}
        fds = {pid: open_files(pid) for _, pid in procs}
        t.check_alive(f"{tool} at the end of the window")
        down_lines = t.downs()[len(downs0):]
        top = causes(down_lines) if tool == "directord" else []
        if top:
            bench.note(f"{tool}: why reals went down in the window: " + "; ".join(f"{n}x {c}" for n, c in top))
        _, dests_up, _ = bench.read_table()
        span = w1 - w0
        rate = (opens1 - opens0) / span
        for role, pid in procs:
            cpu = cpu1[pid] - cpu0[pid]
            rss, hwm, threads = mem[pid]
            # Where the CPU went, per thread (by name), busiest first.
            busy = {}
            for tid, (name, c) in threads1[pid].items():
                busy[name] = busy.get(name, 0) + c - threads0[pid].get(tid, (name, 0))[1]
            per_thread = [f"{name} {c / span * 60:.2f}" for name, c in sorted(busy.items(), key=lambda x: -x[1])[:4]]
            bench.emit(measure="check-cost", size=reals, tool=role, run=1, seconds=cpu / span * 60,
                       cpu_per_1000_checks=(cpu / (rate * span) * 1000) if rate else None, check_rate=rate,
                       nominal_rate=reals / TIMERS["delay_loop"], rss_mb=rss, hwm_mb=hwm, threads=threads,
                       window=span, dests_up=dests_up, downs=len(down_lines), adverts=adverts,
                       down_causes=[f"{n}x {c}" for n, c in top], thread_cpu_per_min=per_thread,
                       guest_idle=idle, responder_cpu_per_min=(server1 - server0) / span * 60,
                       open_files=fds[pid][0], open_files_peak=peak_fds[pid], open_files_limit=fds[pid][1],
                       user_per_min=(us1[pid][0] - us0[pid][0]) / span * 60,
                       system_per_min=(us1[pid][1] - us0[pid][1]) / span * 60)
            bench.note(f"cost {reals} reals, {role}: {cpu / span * 60:.2f} CPU s/min, {rate:.0f} checks/s "
                       f"(nominal {reals / TIMERS['delay_loop']:.0f}), RSS {rss:.1f} MB (HWM {hwm:.1f}), "
                       f"{threads} threads, {dests_up}/{reals} up, {len(down_lines)} downs in the window; "
                       f"CPU s/min by thread: {', '.join(per_thread)}; guest idle {idle * 100:.0f}%, responder "
                       f"{(server1 - server0) / span * 60:.2f} CPU s/min; {fds[pid][0]} open files, peak {peak_fds[pid]} "
                       f"(limit {fds[pid][1]}); user {(us1[pid][0] - us0[pid][0]) / span * 60:.2f} + system "
                       f"{(us1[pid][1] - us0[pid][1]) / span * 60:.2f} s/min")
        if recorder:
            gaps = sorted(b - a for a, b in zip(stamps, stamps[1:]))
            if not gaps:
                raise bench.BenchError(f"no VRRP adverts from {tool} reached the peer during the window")
            bench.emit(measure="advert-interval", size=reals, tool=tool, run=1, seconds=percentile(gaps, 0.5),
                       p99=percentile(gaps, 0.99), max=gaps[-1], adverts=len(stamps),
                       expected=span / ADVERT_INT, late=sum(1 for g in gaps if g > 2 * ADVERT_INT),
                       advert_int=ADVERT_INT, window=span, check_rate=rate)
            bench.note(f"adverts {reals} reals, {tool}: {len(stamps)} in {span:.0f}s, interval p50 "
                       f"{percentile(gaps, 0.5) * 1000:.1f} ms, p99 {percentile(gaps, 0.99) * 1000:.1f} ms, "
                       f"max {gaps[-1] * 1000:.1f} ms")
        t.stop()
    finally:
        if recorder:
            recorder.close()
        farm.close()


def run(args):
    measures = args.measures.split(",")
    tools = args.tools.split(",")
    unknown = set(measures) - {"dead", "cost", "adverts"}
    if unknown:
        raise bench.BenchError(f"unknown measures: {', '.join(sorted(unknown))}")
    subprocess.run([responder_binary(), "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench.note(f"health: timers {TIMERS}, digest {DIGEST} of {BODY!r}")
    if "dead" in measures:
        for tool in tools:
            part_dead(args, tool)
    if "cost" in measures or "adverts" in measures:
        for k, reals in enumerate(int(x) for x in args.reals.split(",") if x):
            # The order alternates so that a slow phase of the host does not always hit the same tool.
            failed = []
            for tool in (tools if k % 2 == 0 else tools[::-1]):
                # A tool that dies under the load is a result too: the other one is still measured.
                try:
                    part_cost(args, reals, tool, "adverts" in measures)
                except bench.BenchError as e:
                    log = f"{bench.WORK}/cost-{reals}-{tool}.log"
                    errors = [line.strip() for line in open(log, errors="replace")
                              if " error " in line or "Signal" in line or "Fatal" in line][-4:]
                    bench.emit(measure="check-cost-failed", size=reals, tool=tool, run=1, error=str(e), log=errors)
                    bench.note(f"cost {reals} reals, {tool} FAILED: {e}")
                    failed.append(tool)
            if failed:
                raise bench.BenchError(f"{', '.join(failed)} failed at {reals} reals")
