#!/usr/bin/env python3
"""Guest side of `make bench`: runs one part of the benchmark inside the lab VM, as root, and prints one
`RESULT {json}` line per measurement on stdout (the host driver, Tests/Bench/bench, aggregates them).

    bench.py program   --sizes 1000x10,2000x16 --runs 3   measure 1: empty table -> complete; dump+print
    bench.py reload    --size 2000x16 --runs 5            measure 2: one weight changed + one real added
    bench.py lifecycle --size 2000x16 --runs 3            issue 9: start / keep-table restart / stop / refill

Every measurement runs in a network namespace of its own (the kernel keeps deleted destinations in a per-namespace
trash list for minutes and searches it on every add), and each namespace's table is emptied before the next one
starts, so that no old table's rate estimators keep burning the single emulated CPU.

"Table complete" is measured on the kernel side: the first read of /proc/net/ip_vs (in the tool's namespace) that
shows every expected destination. Reading it costs CPU in proportion to the table, so the poll interval adapts
(`poll_interval`): each read's cost is recorded and reported, and the same poller is used for every tool.
"""
import argparse
import ctypes
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

REPO = os.environ.get("LAB_REPO", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("DIRECTORD_BIN") or os.path.join(REPO, ".build/debug")
DIRECTORD = os.path.join(BIN, "directord")
DIRECTORCTL = os.path.join(BIN, "directorctl")
# The C floor program (Tests/Bench/Floor/ipvs-floor.c), built beside the binaries by the host side.
FLOOR = os.path.join(BIN, "ipvs-floor")
WORK = "/tmp/bench"
# Seconds any one step may take before the part fails (the smoke run sets it low).
DEADLINE = float(os.environ.get("BENCH_DEADLINE", "900"))
# How long an idle daemon's CPU use is sampled.
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_namespaces = 0


def now():
    return time.monotonic()


def emit(**fields):
    print("RESULT " + json.dumps(fields, sort_keys=True), flush=True)


def note(text):
    print("   " + text, flush=True)


class BenchError(Exception):
    pass


# --- Namespaces ---------------------------------------------------------------------------------------------------

def fresh_namespace(label):
    """Creates a network namespace and moves this process (and so every child it starts) into it."""
    global _namespaces
    _namespaces += 1
    name = f"bench{_namespaces}-{label}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise BenchError(f"setns {name}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    return name


def empty_table():
    """Leaves the current namespace's table empty (outside any timed window) and lets the kernel settle."""
    subprocess.run(["ipvsadm", "-C"], check=False)
    time.sleep(0.5)


# --- The table: generated config and rules --------------------------------------------------------------------------

def parse_size(text):
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m:
        raise BenchError(f"size '{text}' is not SERVICESxREALS")
    return int(m.group(1)), int(m.group(2))


def vip(i):
    return f"10.1.{i // 250}.{i % 250 + 1}"


def rip(i, j):
    # Unique per (service, real): 172.(16 + i/250).(i%250).(j+1); j may go past the configured reals for added ones.
    return f"172.{16 + i // 250}.{i % 250}.{j + 1}"


class Table:
    """services x reals, DR, wrr, weights 1..5; `weights` overrides and `extra` adds reals (reload runs).
    DR rather than NAT: directord warns once per NAT service without a VRRP gateway (2000 log lines at start), and
    before 619deb7 more than 200 warnings made it reject the file; DR measures the programming alone."""

    def __init__(self, services, reals):
        self.services, self.reals = services, reals
        self.weights = {}  # (i, j) -> weight
        self.extra = {}  # i -> number of reals added after the first `reals`

    def weight(self, i, j):
        return self.weights.get((i, j), 1 + (i + j) % 5)

    def reals_of(self, i):
        return self.reals + self.extra.get(i, 0)

    @property
    def destinations(self):
        return self.services * self.reals + sum(self.extra.values())

    def keepalived_conf(self):
        out = ["global_defs {", "    router_id bench", "}"]
        for i in range(self.services):
            out += [f"virtual_server {vip(i)} 80 {{", "    lb_algo wrr", "    lb_kind DR", "    protocol TCP"]
            for j in range(self.reals_of(i)):
                out += [f"    real_server {rip(i, j)} 80 {{", f"        weight {self.weight(i, j)}", "    }"]
            out.append("}")
        return "\n".join(out) + "\n"

    def service_conf(self, i):
        out = [f"virtual_server {vip(i)} 80 {{", "    lb_algo wrr", "    lb_kind DR", "    protocol TCP"]
        for j in range(self.reals_of(i)):
            out += [f"    real_server {rip(i, j)} 80 {{", f"        weight {self.weight(i, j)}", "    }"]
        return "\n".join(out + ["}"]) + "\n"

    def write_confd(self, main):
        """The same table as one main file that includes conf.d/*.conf, one service per file; only the files whose
        text changed are written again (as an operator's configuration management does)."""
        directory = os.path.join(os.path.dirname(main), "conf.d")
        os.makedirs(directory, exist_ok=True)
        write(main, "global_defs {\n    router_id bench\n}\ninclude conf.d/*.conf\n")
        written = getattr(self, "written", {})
        for i in range(self.services):
            text = self.service_conf(i)
            if written.get(i) != text:
                write(os.path.join(directory, f"{i:05d}.conf"), text)
                written[i] = text
        self.written = written

    def ipvsadm_rules(self):
        out = []
        for i in range(self.services):
            out.append(f"-A -t {vip(i)}:80 -s wrr")
            for j in range(self.reals_of(i)):
                out.append(f"-a -t {vip(i)}:80 -r {rip(i, j)}:80 -g -w {self.weight(i, j)}")
        return "\n".join(out) + "\n"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# --- Reading the kernel table ---------------------------------------------------------------------------------------

def read_table():
    """(services, destinations, seconds the read took) from /proc/net/ip_vs of this namespace."""
    t = now()
    try:
        with open("/proc/net/ip_vs", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0, 0, now() - t
    dests = data.count(b"\n  -> ") - 1  # minus the header line "  -> RemoteAddress:Port ..."
    services = data.count(b"\nTCP ") + data.count(b"\nUDP ") + data.count(b"\nFWM ") + data.count(b"\nSCTP ")
    return services, max(dests, 0), now() - t


def proc_text():
    with open("/proc/net/ip_vs", "rb") as f:
        return f.read()


def hex_endpoint(addr, port):
    return "".join(f"{int(o):02X}" for o in addr.split(".")) + f":{port:04X}"


def proc_weight(data, addr, port):
    """The weight /proc/net/ip_vs shows for destination addr:port (unique in our tables), or None."""
    m = re.search(rb"\n  -> " + hex_endpoint(addr, port).encode() + rb"\s+\w+\s+(\d+)", data)
    return int(m.group(1)) if m else None


def poll_interval(read_cost):
    # At most ~1/5 of the CPU goes to polling; never faster than every 20 ms.
    return max(0.02, 4 * read_cost)


def wait_until(predicate, deadline, what, daemon=None):
    """Polls predicate() (which reads /proc/net/ip_vs and returns (done, read_cost)) until done, while `daemon`
    (if given) is still running. Returns (time it became true, number of reads, mean read cost)."""
    reads, cost_total = 0, 0.0
    while True:
        done, cost = predicate()
        reads += 1
        cost_total += cost
        t = now()
        if done:
            return t, reads, cost_total / reads
        if daemon is not None:
            daemon.check_alive(what)
        if t > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(poll_interval(cost))


def wait_complete(services, dests, deadline, what, daemon=None):
    last = [None]

    def predicate():
        s, d, cost = read_table()
        last[0] = (s, d)
        return (s == services and d == dests), cost
    try:
        return wait_until(predicate, deadline, what, daemon)
    except BenchError as e:
        raise BenchError(f"{e}; the table has {last[0][0]} services, {last[0][1]} destinations, "
                         f"expected {services}, {dests}") from None


# --- Processes ------------------------------------------------------------------------------------------------------

class LogWatcher:
    """Reads a child's log pipe in a thread and timestamps every line as it arrives (no polling, no log parsing
    of the daemon's own second-resolution timestamps)."""

    def __init__(self, pipe, path):
        self.lines = []  # (monotonic time, text)
        self.cond = threading.Condition()
        self.file = open(path, "a")
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            t = now()
            text = raw.decode(errors="replace").rstrip("\n")
            with self.cond:
                self.lines.append((t, text))
                self.cond.notify_all()
            self.file.write(text + "\n")
            self.file.flush()

    def mark(self):
        with self.cond:
            return len(self.lines)

    def wait_for(self, pattern, since, timeout, what):
        """(time, line) of the first line after index `since` matching pattern."""
        rx = re.compile(pattern)
        deadline = now() + timeout
        with self.cond:
            i = since
            while True:
                while i < len(self.lines):
                    t, text = self.lines[i]
                    i += 1
                    if rx.search(text):
                        return t, text
                left = deadline - now()
                if left <= 0:
                    raise BenchError(f"timed out waiting for {what} (log: {self.file.name})")
                self.cond.wait(left)


class Daemon:
    def __init__(self, argv, log, watch):
        self.started = now()
        if watch:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.log = LogWatcher(self.proc.stderr, log)
        else:
            with open(log, "a") as f:
                self.proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
            self.log = None

    def stop(self, timeout=120):
        """SIGTERM; seconds until the process has exited."""
        t = now()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BenchError(f"{self.proc.args[0]} did not exit within {timeout}s of SIGTERM")
        return now() - t

    def check_alive(self, what):
        if self.proc.poll() is not None:
            raise BenchError(f"{self.proc.args[0]} exited with status {self.proc.returncode} ({what})")


def start_directord(conf, tag, *extra):
    sock = f"{WORK}/{tag}.sock"
    argv = [DIRECTORD, "-f", conf, "--socket", sock, "--pid-file", f"{WORK}/{tag}.pid", *extra]
    d = Daemon(argv, f"{WORK}/{tag}.log", watch=True)
    d.socket = sock
    return d


def start_keepalived(conf, tag):
    argv = ["keepalived", "-n", "-l", "-G", "-C", "-f", conf, "-p", f"{WORK}/{tag}.pid",
            "-c", f"{WORK}/{tag}-checkers.pid", "-r", f"{WORK}/{tag}-vrrp.pid"]
    return Daemon(argv, f"{WORK}/{tag}.log", watch=False)


def timed(argv, stdin=None, stdout=subprocess.DEVNULL):
    t = now()
    with open(stdin) if stdin else open(os.devnull) as fin:
        r = subprocess.run(argv, stdin=fin, stdout=stdout, stderr=subprocess.PIPE)
    took = now() - t
    if r.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-400:]}")
    return took


ADOPTED = r"IPVS table adopted: (\d+) services, (\d+) kept as they were, (\d+) operations"
RUNNING = r"directord running"


# --- Measure 1: program an empty table ------------------------------------------------------------------------------

def program_directord(table, size, run, conf):
    fresh_namespace("d")
    d = start_directord(conf, f"program-{size}-{run}")
    deadline = d.started + DEADLINE
    t_done, reads, cost = wait_complete(table.services, table.destinations, deadline, "directord's table", d)
    t_log, line = d.log.wait_for(ADOPTED, 0, DEADLINE, "directord's 'IPVS table adopted'")
    ops = int(re.search(ADOPTED, line).group(3))
    emit(measure="program", size=size, tool="directord", run=run, seconds=t_done - d.started,
         signal_seconds=t_log - d.started, polls=reads, poll_cost=cost, operations=ops)
    d.check_alive("directord")
    d.stop()
    empty_table()


def program_keepalived(table, size, run, conf):
    fresh_namespace("k")
    k = start_keepalived(conf, f"keepalived-{size}-{run}")
    t_done, reads, cost = wait_complete(table.services, table.destinations, k.started + DEADLINE, "keepalived's table", k)
    emit(measure="program", size=size, tool="keepalived", run=run, seconds=t_done - k.started, polls=reads,
         poll_cost=cost)
    k.check_alive("keepalived")
    k.stop()
    empty_table()


def program_ipvsadm(table, size, run, rules):
    fresh_namespace("i")
    t0 = now()
    p = subprocess.Popen(["ipvsadm", "-R"], stdin=open(rules), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    exited = []
    waiter = threading.Thread(target=lambda: (p.wait(), exited.append(now())), daemon=True)
    waiter.start()
    t_done, reads, cost = wait_complete(table.services, table.destinations, t0 + DEADLINE, "ipvsadm -R's table")
    waiter.join(120)
    err = p.stderr.read()
    if p.returncode != 0 or not exited:
        raise BenchError(f"ipvsadm -R failed: {err.decode(errors='replace')[-400:]}")
    emit(measure="program", size=size, tool="ipvsadm-restore", run=run, seconds=t_done - t0,
         signal_seconds=exited[0] - t0, polls=reads, poll_cost=cost)


def program_floor(table, size, run, rules):
    """The floor: raw generic netlink, batched, no library (Tests/Bench/Floor/ipvs-floor.c), timed as ipvsadm -R."""
    fresh_namespace("f")
    t0 = now()
    r = subprocess.run([FLOOR], stdin=open(rules), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t_exit = now()
    if r.returncode != 0:
        raise BenchError(f"ipvs-floor failed: {r.stderr.decode(errors='replace')[-400:]}")
    t_done, reads, cost = wait_complete(table.services, table.destinations, t0 + DEADLINE, "the floor's table")
    emit(measure="program", size=size, tool="floor", run=run, seconds=t_done - t0, signal_seconds=t_exit - t0,
         polls=reads, poll_cost=cost)
    empty_table()


def dump_print(table, size, run):
    """In a namespace holding the whole table (left by ipvsadm -R): directorctl list vs ipvsadm -Ln."""
    a, b = f"{WORK}/list-directorctl.txt", f"{WORK}/list-ipvsadm.txt"
    for tool, argv, out in (("directorctl list", [DIRECTORCTL, "list"], a), ("ipvsadm -Ln", ["ipvsadm", "-Ln"], b)):
        with open(out, "w") as f:
            took = timed(argv, stdout=f)
        emit(measure="dump", size=size, tool=tool, run=run, seconds=took, destinations=table.destinations)
    if open(a, "rb").read() != open(b, "rb").read():
        raise BenchError("directorctl list and ipvsadm -Ln printed different tables")


def part_program(args):
    for size in args.sizes.split(","):
        services, reals = parse_size(size)
        table = Table(services, reals)
        conf, rules = f"{WORK}/{size}.conf", f"{WORK}/{size}.rules"
        write(conf, table.keepalived_conf())
        write(rules, table.ipvsadm_rules())
        note(f"program {size}: {table.services} services, {table.destinations} destinations")
        for run in range(1, args.runs + 1):
            # The order rotates so that a slow phase of the host does not always hit the same tool.
            order = ["directord", "keepalived", "ipvsadm", "floor"]
            order = order[(run - 1) % 4:] + order[:(run - 1) % 4]
            for tool in order:
                if tool == "directord":
                    program_directord(table, size, run, conf)
                elif tool == "keepalived":
                    program_keepalived(table, size, run, conf)
                elif tool == "floor":
                    program_floor(table, size, run, rules)
                else:
                    program_ipvsadm(table, size, run, rules)
                    dump_print(table, size, run)
                    empty_table()
                note(f"  run {run}: {tool} done")


# --- Measure 2: reload --------------------------------------------------------------------------------------------

def change(table, run):
    """Run k: one weight changed (service k, real 0) and one real added (service k+1): exactly two operations."""
    i = (run * 37) % table.services
    table.weights[(i, 0)] = 100 + run
    added = (i + 1) % table.services
    table.extra[added] = table.extra.get(added, 0) + 1
    j = table.reals_of(added) - 1
    return (rip(i, 0), 100 + run), (rip(added, j), table.weight(added, j))


def change_one(table, run):
    """Run k of the conf.d reloads: one weight changed and one real added in the same service, so one file of the
    conf.d directory changes: exactly two operations."""
    i = (run * 37 + 11) % table.services
    table.weights[(i, 0)] = 200 + run
    table.extra[i] = table.extra.get(i, 0) + 1
    j = table.reals_of(i) - 1
    return (rip(i, 0), 200 + run), (rip(i, j), table.weight(i, j))


def applied(changed, added):
    def predicate():
        t = now()
        data = proc_text()
        cost = now() - t
        return proc_weight(data, changed[0], 80) == changed[1] and proc_weight(data, added[0], 80) == added[1], cost
    return predicate


def directord_reloads(d, table, size, runs, change_fn, rewrite, via):
    """`runs` SIGHUP reloads of a running directord, each timed to its `reloaded: N IPVS operations` line and
    checked in /proc/net/ip_vs."""
    for run in range(1, runs + 1):
        changed, added = change_fn(table, run)
        rewrite()
        before = proc_text()
        mark = d.log.mark()
        t0 = now()
        d.proc.send_signal(signal.SIGHUP)
        t_log, line = d.log.wait_for(r"reloaded: |reload rejected|reload applied with errors", mark, 120, f"the reload ({via})")
        m = re.search(r"reloaded: (\d+) IPVS operations", line)
        if not m:
            raise BenchError(f"directord reload ({via}): {line}")
        data = proc_text()
        if proc_weight(data, changed[0], 80) != changed[1] or proc_weight(data, added[0], 80) != added[1]:
            raise BenchError(f"directord logged the reload ({via}) but the kernel does not show it")
        emit(measure="reload", size=size, tool="directord", via=via, run=run, seconds=t_log - t0,
             operations=int(m.group(1)), lines_changed=changed_lines(before, data))
        time.sleep(0.5)


def keepalived_reloads(k, table, size, runs, change_fn, rewrite, via):
    """`runs` SIGHUP reloads of a running keepalived, each timed to the first poll that shows both changes."""
    for run in range(1, runs + 1):
        changed, added = change_fn(table, run)
        rewrite()
        before = proc_text()
        t0 = now()
        k.proc.send_signal(signal.SIGHUP)
        t_done, reads, cost = wait_until(applied(changed, added), t0 + 300, f"keepalived's reload ({via})")
        # Whatever else keepalived does after the two changes are visible is not timed; let it finish.
        time.sleep(2)
        emit(measure="reload", size=size, tool="keepalived", via=via, run=run, seconds=t_done - t0,
             polls=reads, poll_cost=cost, lines_changed=changed_lines(before, proc_text()))
        k.check_alive("keepalived")


def reload_directord(conf, namespace, tag, table):
    """directord started on `conf` in a fresh namespace, running and with its table complete."""
    fresh_namespace(namespace)
    d = start_directord(conf, tag)
    d.log.wait_for(RUNNING, 0, DEADLINE, f"directord running ({tag})")
    wait_complete(table.services, table.destinations, now() + 60, f"directord's table ({tag})", d)
    time.sleep(1)
    return d


def reload_keepalived(conf, namespace, tag, table):
    fresh_namespace(namespace)
    k = start_keepalived(conf, tag)
    wait_complete(table.services, table.destinations, k.started + DEADLINE, f"keepalived's table ({tag})", k)
    time.sleep(1)
    return k


def part_reload(args):
    services, reals = parse_size(args.size)
    size = args.size
    # directord: SIGHUP (keepalived's interface) -> its "reloaded: N IPVS operations" line; then directorctl reload.
    table = Table(services, reals)
    conf = f"{WORK}/reload-directord.conf"
    write(conf, table.keepalived_conf())
    d = reload_directord(conf, "rd", "reload-directord", table)
    directord_reloads(d, table, size, args.runs, change, lambda: write(conf, table.keepalived_conf()), "SIGHUP")
    for run in range(args.runs + 1, 2 * args.runs + 1):
        changed, added = change(table, run)
        write(conf, table.keepalived_conf())
        r_t0 = now()
        r = subprocess.run([DIRECTORCTL, "reload", "--socket", d.socket], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        took = now() - r_t0
        out = r.stdout.decode(errors="replace")
        m = re.search(r"(\d+) IPVS operations", out)
        if r.returncode != 0 or not m:
            raise BenchError(f"directorctl reload: {out}")
        emit(measure="reload", size=size, tool="directord", via="directorctl reload", run=run - args.runs,
             seconds=took, operations=int(m.group(1)))
        time.sleep(0.5)
    d.stop()
    empty_table()

    # directord, conf.d: one service per file, one file changed per reload.
    table = Table(services, reals)
    conf = f"{WORK}/confd-directord/directord.conf"
    table.write_confd(conf)
    d = reload_directord(conf, "rdc", "reload-confd-directord", table)
    directord_reloads(d, table, size, args.runs, change_one, lambda: table.write_confd(conf), "SIGHUP conf.d")
    d.stop()
    empty_table()

    # keepalived, conf.d: the same files.
    table = Table(services, reals)
    conf = f"{WORK}/confd-keepalived/keepalived.conf"
    table.write_confd(conf)
    k = reload_keepalived(conf, "rkc", "reload-confd-keepalived", table)
    keepalived_reloads(k, table, size, args.runs, change_one, lambda: table.write_confd(conf), "SIGHUP conf.d")
    k.stop()
    empty_table()

    # keepalived: SIGHUP -> the first poll that shows both changes.
    table = Table(services, reals)
    conf = f"{WORK}/reload-keepalived.conf"
    write(conf, table.keepalived_conf())
    k = reload_keepalived(conf, "rk", "reload-keepalived", table)
    keepalived_reloads(k, table, size, args.runs, change, lambda: write(conf, table.keepalived_conf()), "SIGHUP")
    if args.strace:
        count_keepalived_reload_ops(k, table, args.runs + 1)
    k.stop()
    empty_table()


def changed_lines(before, after):
    a, b = before.splitlines(), after.splitlines()
    return len(set(a) ^ set(b))


def count_keepalived_reload_ops(k, table, run):
    """Counts the IPVS set commands keepalived's checker process sends for one reload (strace on the netlink
    sendmsg calls; generic netlink commands 1-3 and 5-7 change the table, 4 and 8 only read)."""
    try:
        checker = int(open(f"{WORK}/reload-keepalived-checkers.pid").read().split()[0])
    except (OSError, ValueError, IndexError):
        note("no checker pid file: keepalived reload operations not counted")
        return
    family = ipvs_family_id()
    changed, added = change(table, run)
    write(f"{WORK}/reload-keepalived.conf", table.keepalived_conf())
    trace = f"{WORK}/keepalived-reload.strace"
    st = subprocess.Popen(["strace", "-f", "-p", str(checker), "-e", "trace=sendmsg,sendto", "-s", "64", "-xx",
                           "-o", trace], stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    t0 = now()
    k.proc.send_signal(signal.SIGHUP)
    wait_until(applied(changed, added), t0 + 300, "keepalived's reload under strace")
    time.sleep(5)
    st.send_signal(signal.SIGINT)
    st.wait(30)
    ops, reads = 0, 0
    ftype = "\\x%02x\\x%02x" % (family & 0xff, family >> 8)
    for line in open(trace, errors="replace"):
        # The datagram starts with nlmsghdr (len 4, type 2, ...); the genl header (cmd 1 byte) follows at byte 16.
        m = re.search(r'"((?:\\x[0-9a-f]{2})+)', line)
        if not m:
            continue
        raw = bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-f]{2})", m.group(1)))
        if len(raw) < 17 or raw[4] != family & 0xff or raw[5] != family >> 8:
            continue
        if raw[16] in (1, 2, 3, 5, 6, 7):
            ops += 1
        else:
            reads += 1
    emit(measure="reload-ops", size=f"{table.services}x{table.reals}", tool="keepalived", run=1, operations=ops,
         reads=reads)


def ipvs_family_id():
    out = subprocess.run(["genl", "ctrl", "get", "name", "IPVS"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = re.search(rb"ID: (0x[0-9a-f]+)", out.stdout)
    if m:
        return int(m.group(1), 16)
    raise BenchError("cannot resolve the IPVS generic netlink family (genl ctrl get name IPVS)")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- Issue 9: start / restart / stop ---------------------------------------------------------------------------------

def part_lifecycle(args):
    services, reals = parse_size(args.size)
    size = args.size
    table = Table(services, reals)
    conf = f"{WORK}/lifecycle.conf"
    write(conf, table.keepalived_conf())
    total = table.services, table.destinations
    for run in range(1, args.runs + 1):
        # (a) start into a fresh namespace, keeping the table on stop.
        fresh_namespace("ld")
        d = start_directord(conf, f"life-a-{run}", "--keep-table-on-stop")
        t_done, _, _ = wait_complete(*total, d.started + DEADLINE, "directord's table", d)
        d.log.wait_for(RUNNING, 0, DEADLINE, "directord running")
        emit(measure="start", size=size, tool="directord", run=run, seconds=t_done - d.started)
        stop_keep = d.stop()
        s, n, _ = read_table()
        if (s, n) != total:
            raise BenchError(f"--keep-table-on-stop left {s} services, {n} destinations")
        emit(measure="stop-keep", size=size, tool="directord", run=run, seconds=stop_keep)
        # (b) restart: adopts with zero operations.
        d = start_directord(conf, f"life-b-{run}")
        t_ready, _ = d.log.wait_for(RUNNING, 0, DEADLINE, "directord running")
        _, line = d.log.wait_for(ADOPTED, 0, 5, "adopted")
        m = re.search(ADOPTED, line)
        emit(measure="restart", size=size, tool="directord", run=run, seconds=t_ready - d.started,
             operations=int(m.group(3)), kept=int(m.group(2)), adopted=line[line.index("IPVS table adopted"):])
        # Idle cost: CPU used over IDLE_SECONDS with nothing to do but the periodic drift check (a full table dump).
        cpu0, t_idle = cpu_seconds(d.proc.pid), now()
        time.sleep(IDLE_SECONDS)
        emit(measure="idle-cpu", size=size, tool="directord", run=run,
             seconds=(cpu_seconds(d.proc.pid) - cpu0) / (now() - t_idle))
        # (c) stop, default mode: every owned service removed.
        took = d.stop()
        s, n, _ = read_table()
        emit(measure="stop", size=size, tool="directord", run=run, seconds=took, stale_services=s,
             stale_destinations=n)
        # The same namespace right after: the deleted destinations are in the kernel's trash.
        d = start_directord(conf, f"life-c-{run}")
        t_done, _, _ = wait_complete(*total, d.started + DEADLINE, "directord's refill", d)
        emit(measure="refill", size=size, tool="directord", run=run, seconds=t_done - d.started)
        d.log.wait_for(RUNNING, 0, DEADLINE, "directord running")
        d.stop()
        empty_table()

        # (d) keepalived: start, SIGTERM (stale entries), ipvsadm -C, start again (refill).
        fresh_namespace("lk")
        k = start_keepalived(conf, f"life-k-{run}")
        t_done, _, _ = wait_complete(*total, k.started + DEADLINE, "keepalived's table", k)
        emit(measure="start", size=size, tool="keepalived", run=run, seconds=t_done - k.started)
        time.sleep(0.5)
        took = k.stop()
        s, n, _ = read_table()
        emit(measure="stop", size=size, tool="keepalived", run=run, seconds=took, stale_services=s,
             stale_destinations=n)
        flush = timed(["ipvsadm", "-C"])
        k = start_keepalived(conf, f"life-k2-{run}")
        t_done, _, _ = wait_complete(*total, k.started + DEADLINE, "keepalived's refill", k)
        emit(measure="refill", size=size, tool="keepalived", run=run, seconds=t_done - k.started, flush_seconds=flush)
        k.stop()
        empty_table()
        note(f"  lifecycle run {run} done")


# Parts kept in modules of their own beside this file (bench_NAME.py): each has `add_parser(subparsers)` and
# `run(args)`, and uses this module's helpers through `import bench`.
MODULE_PARTS = ("failover", "health", "ecmp")


def main():
    # The plugin modules `import bench`: let them share this running module (its namespace counter, its helpers).
    sys.modules.setdefault("bench", sys.modules[__name__])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="part", required=True)
    a = sub.add_parser("program")
    a.add_argument("--sizes", default="1000x10,2000x16")
    a.add_argument("--runs", type=int, default=3)
    a = sub.add_parser("reload")
    a.add_argument("--size", default="2000x16")
    a.add_argument("--runs", type=int, default=5)
    a.add_argument("--strace", action="store_true")
    a = sub.add_parser("lifecycle")
    a.add_argument("--size", default="2000x16")
    a.add_argument("--runs", type=int, default=3)
    runners = {"program": part_program, "reload": part_reload, "lifecycle": part_lifecycle}
    for name in MODULE_PARTS:
        try:
            module = importlib.import_module(f"bench_{name}")
        except ModuleNotFoundError as e:
            if e.name != f"bench_{name}":
                raise
            continue
        module.add_parser(sub)
        runners[name] = module.run
    args = p.parse_args()
    os.makedirs(WORK, exist_ok=True)
    emit(measure="meta", kernel=os.uname().release, guest_cpus=os.cpu_count(), bin=BIN,
         keepalived=subprocess.run(["keepalived", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
         .stdout.decode(errors="replace").splitlines()[0])
    # The first start of a binary reads it over 9p; every tool gets that cost paid before anything is timed.
    for argv in ([DIRECTORD, "--help"], [DIRECTORCTL, "--help"], [FLOOR, "--version"], ["keepalived", "-v"], ["ipvsadm", "-v"],
                 ["ip", "-V"], ["strace", "-V"]):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = now()
    try:
        runners[args.part](args)
    except BenchError as e:
        print(f"bench: {args.part}: {e}", file=sys.stderr, flush=True)
        for name in sorted(os.listdir(WORK)):
            if name.endswith(".log"):
                tail = open(os.path.join(WORK, name), errors="replace").read().splitlines()[-5:]
                print(f"--- {name}\n" + "\n".join(tail), file=sys.stderr)
        return 1
    note(f"{args.part}: {now() - started:.1f}s in the guest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
