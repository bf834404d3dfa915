"""Measure 7 of `make bench`, active-active behind ECMP (host side): one VM boot per run of
Tests/Bench/guest/bench_ecmp.py and the BENCHMARKS.md section for it. Loaded by Tests/Bench/bench."""

TIMES = (
    ("ecmp-sigterm-to-withdrawn", "SIGTERM to d1's directord → the router's next hop via d1 gone"),
    ("ecmp-checks-cut-to-withdrawn", "d1's checks cut off from every real (connect_timeout 1, retry 0, delay_loop 1) → gone"),
    ("ecmp-start-to-announced", "d1's directord started → next hop via d1 back (announce_min_uptime 1, announce_rise 2)"),
    ("ecmp-crash-to-withdrawn", "kill -9 of d1's directord, zebra and bgpd → gone (the kernel closes the BGP session)"),
    ("ecmp-hang-to-withdrawn", "d1's directord, zebra and bgpd stopped (SIGSTOP, link up) → gone (BGP hold time 9 s)"),
)
COUNTS = (
    ("ecmp-graceful-failed-new", "new connections failed from SIGTERM to 3 s after the exit", 0),
    ("ecmp-graceful-broken-held", "held connections (12, some through d1) broken by the graceful exit", 0),
    ("ecmp-quorum-loss-failed-new", "new connections failed while d1 withdrew on quorum loss and returned", 0),
    ("ecmp-crash-failed-new", "new connections failed in 2 s from the kill -9", None),
    ("ecmp-hang-failed-new", "new connections failed while d1 hung until the router dropped it", None),
)
SIZE = "2x2"


def boots(smoke, runs):
    # The scenario runs in every `make check` already (Tests/Lab/scenarios): the smoke bench does not repeat it.
    if smoke:
        return []
    return [(f"ecmp-{i}", f"ecmp --run {i}", 600) for i in range(1, runs + 1)]


def expected(smoke):
    if smoke:
        return []
    return [(m, SIZE, "directord") for m, _ in TIMES] + [(m, SIZE, "directord") for m, _, _ in COUNTS]


def render(results, w, u):
    w("## 7. Active-active behind ECMP")
    w("")
    w("Target: a director that stops gracefully is out of the routers' ECMP with no failed new connection and no "
      "broken long-lived one; a crash is bounded by the BGP hold time (or BFD where configured).")
    w("")
    w("How: `Tests/Lab/extended/active-active.sh` in its own VM boot per run. An upstream router namespace runs FRR "
      "8.4 bgpd with `maximum-paths 8` and `fib_multipath_hash_policy=1`; director d1 runs directord with FRR (zebra, "
      "bgpd, `redistribute kernel` with a route-map), d2 runs directord with BIRD 2 (`protocol kernel { learn; }` "
      "filtered on directord's protocol 52); BGP keepalive 3 s, hold 9 s. One `lb_algo mh` + `mh-port` DR virtual "
      "server with `announce`, two reals, TCP_CHECK. A client makes a new HTTP connection every 0.1 s and holds 12 "
      "long-lived ones. Times from right before the signal (or the blackhole routes) to the moment `ip route` in the "
      "router's namespace no longer shows the next hop via d1, polled every 20-100 ms.")
    w("")
    w("| event | median | min – max | runs |")
    w("|---|---|---|---|")
    for measure, label in TIMES:
        med, spread, n = u.cell(u.series(results, measure, SIZE, "directord"))
        w(f"| {label} | {med} | {spread} | {n} |")
    w("")
    w("| count | per run | target |")
    w("|---|---|---|")
    for measure, label, target in COUNTS:
        values = u.series(results, measure, SIZE, "directord", field="count")
        shown = ", ".join(str(int(v)) for v in values) or "—"
        verdict = "reported" if target is None else (f"{target}: " + ("met" if values and all(v == target for v in values) else "NOT met"))
        w(f"| {label} | {shown} | {verdict} |")
    w("")
    d1 = u.series(results, "ecmp-spread-d1", SIZE, "directord", field="count")
    d2 = u.series(results, "ecmp-spread-d2", SIZE, "directord", field="count")
    if d1 and d2:
        w(f"- Flows spread: new connections counted by IPVS before the first stop, d1 / d2 per run: "
          + ", ".join(f"{int(a)} / {int(b)}" for a, b in zip(d1, d2)) + ".")
        w("")
