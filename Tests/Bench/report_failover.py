"""Measure 3 of `make bench`, failover (host side): the VM boot that runs Tests/Bench/guest/bench_failover.py and
the BENCHMARKS.md section for it. Loaded by Tests/Bench/bench (boots, expected, render)."""

# variant -> (VRRP version, advert_int seconds); the same names as the guest part's.
VARIANTS = {"v2-1s": (2, 1.0), "v3-0.1s": (3, 0.1)}
SMOKE_VARIANTS = ("v3-0.1s",)
STOPS = (("kill", "SIGKILL"), ("graceful", "SIGTERM"))
TOOLS = ("directord", "keepalived")
BACKUP_PRIORITY = 100
# "At the bound": the protocol's own timer (last advert -> VIP, priority-0 advert -> VIP) overshoots the bound by
# at most this fraction of it, the room left for waking up and adding the address on the emulated CPU.
TOLERANCE = 0.10
# "No slower than keepalived": directord's median may exceed keepalived's by this much (the run-to-run spread of
# one tool's timer readings under TCG, about 10 ms), so that noise is not reported as a loss.
TIE = 0.010


def boots(smoke, runs):
    if smoke:
        return [("failover", f"failover --runs 1 --variants {','.join(SMOKE_VARIANTS)}", 300)]
    return [("failover", f"failover --runs {max(runs, 5)} --variants {','.join(VARIANTS)}", 1200)]


def expected(smoke):
    variants = SMOKE_VARIANTS if smoke else tuple(VARIANTS)
    return [(f"failover-{kind}", v, tool) for v in variants for kind, _ in STOPS for tool in TOOLS]


def skew_time(version, interval):
    return (256 - BACKUP_PRIORITY) / 256 * (1.0 if version == 2 else interval)


def bound(variant, kind):
    version, interval = VARIANTS[variant]
    skew = skew_time(version, interval)
    return 3 * interval + skew if kind == "kill" else skew


def protocol_field(kind):
    """The result field holding the time from the protocol timer's start to the VIP."""
    return "advert_seconds" if kind == "kill" else "resign_seconds"


def render(results, w, u):
    w("## 3. Failover")
    w("")
    w("Target: the VIP is up on the backup at the protocol bound after the master fails (SIGKILL) or stops "
      "(SIGTERM), and never later than with keepalived 2.2.7.")
    w("")
    w("How: two network namespaces on a bridge in the VM, master priority 150 (`state MASTER`), backup priority "
      f"{BACKUP_PRIORITY}, one `vrrp_instance` with one VIP; both sides run the same program (directord, or keepalived "
      "`-n -l -D -P`) from the same keepalived-syntax file; fresh namespaces and processes for every run. Once the "
      "backup is in BACKUP and has received three adverts, the harness waits a random fraction of an advert interval "
      "and signals the master (keepalived: SIGKILL goes to its VRRP child after the parent is stopped; SIGTERM goes "
      "to the parent, as a service manager would). **Stop → VIP**: from right before the signal to the moment a "
      "netlink listener in the backup's namespace (RTM_NEWADDR, subscribed before the signal, read by a thread "
      "blocked on it) receives the VIP, both on the harness's monotonic clock. A packet socket on the backup's "
      "interface timestamps every advert from the master, which gives the protocol's own timer start: the last "
      "advert before a kill, the priority-0 advert of a graceful stop.")
    w("")
    w("The bound: after a kill the backup takes over Master_Down_Interval = 3 × advert_int + Skew_Time after the "
      "*last advert it received*, so stop → VIP lies between the bound minus one advert interval and the bound (the "
      "random stop point spreads it); after a graceful stop the master's priority-0 advert sets the backup's timer "
      f"to Skew_Time. Skew_Time for the backup's priority {BACKUP_PRIORITY}: VRRPv3 (RFC 5798 §6.1) "
      "(256 − priority)/256 × advert_int; VRRPv2 (RFC 3768 §6.1) (256 − priority)/256 **seconds**, whatever the "
      "(whole-second) advert interval. keepalived 2.2.7 and directord both compute it exactly so (keepalived in "
      "microseconds, directord in nanoseconds).")
    w("")
    w("| variant | advert_int | Skew_Time | Master_Down_Interval (kill bound) | graceful bound |")
    w("|---|---|---|---|---|")
    for variant, (version, interval) in VARIANTS.items():
        w(f"| {variant} (VRRPv{version}) | {interval:g} s | {u.fmt_s(skew_time(version, interval))} | "
          f"{u.fmt_s(bound(variant, 'kill'))} | {u.fmt_s(bound(variant, 'graceful'))} |")
    w("")
    verdicts = []
    for variant in VARIANTS:
        if not any(r.get("size") == variant and str(r.get("measure", "")).startswith("failover-") for r in results):
            continue
        w(f"### {variant}")
        w("")
        w("| stop | tool | stop → VIP: median | min – max | runs | bound | protocol timer → VIP: median "
          "(min – max) | detail | directord ÷ keepalived |")
        w("|---|---|---|---|---|---|---|---|---|")
        for kind, sig in STOPS:
            b = bound(variant, kind)
            measure = f"failover-{kind}"
            d = u.median(u.series(results, measure, variant, "directord"))
            for tool in TOOLS:
                vals = u.series(results, measure, variant, tool)
                med, spread, n = u.cell(vals)
                pmed, pspread, pn = u.cell(u.series(results, measure, variant, tool, field=protocol_field(kind)))
                timer = "last advert" if kind == "kill" else "priority-0 advert"
                detail = "—"
                if kind == "graceful":
                    delay = u.median(u.series(results, measure, variant, tool, field="resign_delay"))
                    logged = u.median(u.series(results, measure, variant, tool, field="stopping_log_delay"))
                    gone = u.median(u.series(results, measure, variant, tool, field="exit_delay"))
                    detail = f"SIGTERM → first stop log line {u.fmt_s(logged)}, → priority-0 advert " \
                             f"{u.fmt_s(delay)}, → master exited {u.fmt_s(gone)}"
                r = "—" if tool == "directord" else u.ratio(d, u.median(vals))
                timer_text = f"{timer}: {pmed}" + (f" ({pspread})" if pn > 1 else "")
                w(f"| {sig} | {tool} | {med} | {spread} | {n} | {u.fmt_s(b)} | {timer_text} | {detail} | {r} |")
            verdicts.append(verdict_line(results, u, variant, kind, sig, b))
        w("")
    if verdicts:
        w(f"Verdicts. *At the bound*: the median time from the protocol timer's start to the VIP exceeds the bound "
          f"by at most {TOLERANCE:.0%} of it (room for waking up and adding the address on the emulated CPU). *No "
          "slower than keepalived*: compared on the time that does not depend on where between two adverts the stop "
          "fell (last advert → VIP after a kill, SIGTERM → VIP after a graceful stop); directord's median may "
          f"exceed keepalived's by {TIE * 1000:.0f} ms (about the run-to-run spread of one tool's readings here) "
          "before it counts as slower.")
        w("")
        for line in verdicts:
            w(line)
        w("")


def verdict_line(results, u, variant, kind, sig, b):
    measure = f"failover-{kind}"
    proto = {t: u.median(u.series(results, measure, variant, t, field=protocol_field(kind))) for t in TOOLS}
    d, k = proto["directord"], proto["keepalived"]
    if d is None:
        return f"- {variant}, {sig}: no directord result."
    line = (f"- {variant}, {sig}: timer → VIP directord {u.fmt_s(d)} against a bound of {u.fmt_s(b)} "
            f"({(d - b) * 1000:+.0f} ms; at the bound: {u.verdict(d <= b * (1 + TOLERANCE))})")
    if k is not None:
        line += f", keepalived {u.fmt_s(k)} ({(k - b) * 1000:+.0f} ms)"
    if kind == "graceful":
        d, k = (u.median(u.series(results, measure, variant, t)) for t in TOOLS)
        line += f"; SIGTERM → VIP directord {u.fmt_s(d)}, keepalived {u.fmt_s(k)}"
    if d is not None and k is not None:
        line += (f"; directord ÷ keepalived {u.ratio(d, k)}, {(d - k) * 1000:+.0f} ms (no slower than keepalived: "
                 f"{u.verdict(d <= k + TIE)})")
    return line + "."
