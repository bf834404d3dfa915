"""Measures 4, 5 and 6 of `make bench` (host side): the VM boots that run Tests/Bench/guest/bench_health.py and the
BENCHMARKS.md sections for them. Loaded by Tests/Bench/bench (boots, expected, render)."""

TOOLS = ("directord", "keepalived")
SMOKE_DEAD_REALS, SMOKE_REALS = 3, 20
DEAD_REALS, SIZES = 4, (1000, 5000)
RSS_TARGET_MB, RSS_TARGET_SIZE = 32, 5000


def boots(smoke, runs):
    if smoke:
        return [("health", f"health --measures dead,cost,adverts --runs 1 --dead-reals {SMOKE_DEAD_REALS} "
                           f"--reals {SMOKE_REALS} --warmup 2 --window 3", 120)]
    plan = [("health-dead", f"health --measures dead --runs {max(runs, 5)} --dead-reals {DEAD_REALS}", 600)]
    for size in SIZES:
        plan.append((f"health-{size}", f"health --measures cost,adverts --reals {size} --warmup 20 --window 60",
                     900 if size < 5000 else 1200))
    return plan


def expected(smoke):
    dead, sizes = (SMOKE_DEAD_REALS, (SMOKE_REALS,)) if smoke else (DEAD_REALS, SIZES)
    need = [(m, dead, t) for m in ("dead-real-removed", "dead-real-back") for t in TOOLS]
    for size in sizes:
        need += [("check-cost", size, "directord"), ("check-cost", size, "keepalived checker")]
        need += [("advert-interval", size, t) for t in TOOLS]
    return need


def ms(x):
    return "—" if x is None else f"{x * 1000:.1f} ms"


def first(results, measure, field):
    return next((r[field] for r in results if r.get("measure") == measure and r.get(field) is not None), None)


def sizes_of(results, measure):
    return sorted({r["size"] for r in results if r.get("measure") == measure})


def render(results, w, u):
    render_dead(results, w, u)
    render_cost(results, w, u)
    render_adverts(results, w, u)


def render_dead(results, w, u):
    w("## 4. Dead real removed, live real back")
    w("")
    timers = first(results, "dead-real-removed", "timers") or {}
    t = lambda k: timers.get(k, "?")  # noqa: E731
    w("Target: within the configured timers + 100 ms, for directord and keepalived 2.2.7 on the same configuration.")
    w("")
    w("How: one virtual server (DR, wrr) with a few reals `10.128.0.x:80`, each answered by its own `lab-responder` "
      "process (Tests/Lab/Responder, a non-forking poll(2) HTTP responder) in a namespace beside the director's; "
      f"HTTP_GET of `/check` with its MD5 digest, delay_loop {t('delay_loop')}, connect_timeout "
      f"{t('connect_timeout')}, retry {t('retry')}, delay_before_retry {t('delay_before_retry')}, no "
      "inhibit_on_failure, so a failed real's destination **leaves** /proc/net/ip_vs. Each run, after a random "
      "fraction of delay_loop, one real's responder is SIGKILLed: **removed** is from its exit (reaped by the "
      "harness) to the first read of /proc/net/ip_vs without the destination (polled every 20 ms); 0.5–1.5 s later "
      "the responder starts again: **back** is from its `listening` line to the first read showing the destination. "
      "keepalived runs as `keepalived -n -l -G -C` (checker only); each tool in fresh namespaces, one after the "
      "other.")
    w("")
    removed = first(results, "dead-real-removed", "bound")
    removed_worst = first(results, "dead-real-removed", "bound_worst")
    back = first(results, "dead-real-back", "bound")
    back_worst = first(results, "dead-real-back", "bound_worst")
    w(f"The bounds. **Removed ≤ delay_loop + retry × delay_before_retry + 100 ms = {u.fmt_s(removed)}**: the killed "
      "server's port refuses a connection at once, so the next regular check (at most delay_loop after the kill) "
      "fails, `retry` further checks follow delay_before_retry apart, and the last failure takes the real down; "
      "connect_timeout does not come into it (were the host gone instead, so that every attempt ran into "
      "connect_timeout: delay_loop + (retry + 1) × connect_timeout + retry × delay_before_retry + 100 ms = "
      f"{u.fmt_s(removed_worst)}). **Back ≤ delay_loop + 100 ms = {u.fmt_s(back)}**: a down real is still checked "
      "every delay_loop and the first check that passes brings it back (a live local responder answers in "
      f"milliseconds; with an answer as slow as connect_timeout: {u.fmt_s(back_worst)}).")
    w("")
    w("| event | reals | tool | median | min – max | runs | bound | runs within the bound | "
      "directord ÷ keepalived (median) |")
    w("|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for measure, label, bound in (("dead-real-removed", "dead real removed", removed),
                                  ("dead-real-back", "live real back", back)):
        for size in sizes_of(results, measure):
            d = u.median(u.series(results, measure, size, "directord"))
            for tool in TOOLS:
                vals = u.series(results, measure, size, tool)
                med, spread, n = u.cell(vals)
                within = f"{sum(1 for v in vals if v <= bound)} / {n}" if vals and bound else "—"
                r = "—" if tool == "directord" else u.ratio(d, u.median(vals))
                w(f"| {label} | {size} | {tool} | {med} | {spread} | {n} | {u.fmt_s(bound)} | {within} | {r} |")
            dv = u.series(results, measure, size, "directord")
            kv = u.series(results, measure, size, "keepalived")
            if dv and bound:
                verdicts.append(
                    f"- {label.capitalize()}: directord {u.fmt_s(u.median(dv))} median, {u.fmt_s(max(dv))} at worst "
                    f"(bound {u.fmt_s(bound)}: {u.verdict(max(dv) <= bound)})"
                    + (f"; keepalived {u.fmt_s(u.median(kv))} median, {u.fmt_s(max(kv))} at worst "
                       f"({'within' if max(kv) <= bound else 'beyond'} the bound)." if kv else "."))
    w("")
    for v in verdicts:
        w(v)
    w("")


def render_cost(results, w, u):
    w("## 5. Checking cost")
    w("")
    w(f"Target: directord's CPU ≤ keepalived's, and RSS ≤ {RSS_TARGET_MB} MB at {RSS_TARGET_SIZE} reals.")
    w("")
    w("How: N reals `10.128.x.y:80` in virtual servers of 100 (DR, wrr), each with HTTP_GET of `/check` with its "
      "MD5 digest, delay_loop 1 (so N checks per second are due), connect_timeout 1, retry 1, delay_before_retry 1. "
      "One `lab-responder` (a single non-forking process) answers all of them in the reals' namespace, where "
      "10.128.0.0/16 is a local route. The same file, with a VRRPv3 instance at advert_int 0.01 (section 6), runs "
      "under directord and then under keepalived `-n -l -G` (its checker and VRRP children), each in fresh "
      "namespaces. After the table is complete and a warm-up, over a steady window: **CPU** = utime + stime from "
      "/proc/PID/stat (all threads) per minute of window; **memory** = VmRSS and VmHWM from /proc/PID/status at the "
      "end of the window; **check rate** = connections the responder accepted per second (TcpPassiveOpens of the "
      "reals' namespace), i.e. the rate the checker achieved; CPU per 1000 checks = CPU ÷ checks done. "
      "directord's figures include its VRRP instance and its periodic drift check (default "
      "`drift_check_interval 5`); keepalived's VRRP process is shown apart, and the like-for-like comparison is "
      "directord against keepalived's checker + VRRP processes.")
    w("")
    w("Under TCG everything — the checkers, the responder, both ends of every TCP connection — shares one emulated "
      "CPU, so the VM may not sustain the nominal rate: the achieved rate is reported beside each figure, and "
      "CPU per check is the fairer comparison when the tools achieved different rates.")
    w("")
    w("| reals | process | CPU per minute | checks/s achieved (nominal) | CPU per 1000 checks | VmRSS | VmHWM | "
      "threads | reals up at the end | reals taken down in the window | window |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for size in sizes_of(results, "check-cost"):
        rows = {}
        for role in ("directord", "keepalived checker", "keepalived vrrp"):
            rs = [r for r in results if r.get("measure") == "check-cost" and r.get("size") == size
                  and r.get("tool") == role]
            if not rs:
                continue
            rows[role] = rs

            def med(field):
                return u.median([r[field] for r in rs if r.get(field) is not None])
            cpu, rate, per = med("seconds"), med("check_rate"), med("cpu_per_1000_checks")
            w(f"| {size} | {role} | {cpu:.2f} s | {rate:.0f} ({med('nominal_rate'):.0f}) | "
              f"{'—' if per is None else f'{per:.3f} s'} | {med('rss_mb'):.1f} MB | {med('hwm_mb'):.1f} MB | "
              f"{med('threads'):.0f} | {med('dests_up'):.0f} / {size} | {med('downs'):.0f} | {med('window'):.0f} s |")
        d, kc, kv = (u.median([r["seconds"] for r in rows.get(k, [])]) for k in
                     ("directord", "keepalived checker", "keepalived vrrp"))
        if d is None or kc is None:
            continue
        k_total = kc + (kv or 0)
        dp = u.median([r["cpu_per_1000_checks"] for r in rows["directord"] if r.get("cpu_per_1000_checks")])
        kp = u.median([r["cpu_per_1000_checks"] for r in rows["keepalived checker"] if r.get("cpu_per_1000_checks")])
        # keepalived's VRRP work per 1000 of the checker's checks, to compare like with like.
        kvp = u.median([r["cpu_per_1000_checks"] for r in rows.get("keepalived vrrp", []) if r.get("cpu_per_1000_checks")])
        k_per_total = kp + (kvp or 0) if kp is not None else None
        dr = u.median([r["check_rate"] for r in rows["directord"]])
        kr = u.median([r["check_rate"] for r in rows["keepalived checker"]])
        nominal = u.median([r["nominal_rate"] for r in rows["directord"]])
        text = (f"- {size} reals: directord {d:.2f} CPU s/min vs keepalived {k_total:.2f} "
                f"({kc:.2f} checker" + (f" + {kv:.2f} VRRP" if kv is not None else "") + f"), "
                f"ratio {u.ratio(d, k_total)} (target ≤ 1: {u.verdict(d <= k_total)}); per 1000 checks "
                f"{'—' if dp is None else f'{dp:.3f}'} s vs {'—' if k_per_total is None else f'{k_per_total:.3f}'} s, "
                f"ratio {u.ratio(dp, k_per_total)} "
                f"({u.verdict(dp is not None and k_per_total is not None and dp <= k_per_total)}). "
                f"Achieved: directord {dr:.0f} checks/s, keepalived {kr:.0f} of {nominal:.0f} due")
        short = [name for name, r in (("directord", dr), ("keepalived", kr)) if r < 0.9 * nominal]
        text += (f" — **the VM did not sustain the nominal rate** for {' and '.join(short)}: the CPU per minute is "
                 "capped by the emulated CPU, compare the CPU per check." if short else ".")
        verdicts.append(text)
        if size == max(sizes_of(results, "check-cost")):
            rss = u.median([r["rss_mb"] for r in rows["directord"]])
            hwm = u.median([r["hwm_mb"] for r in rows["directord"]])
            krss = u.median([r["rss_mb"] for r in rows["keepalived checker"]])
            label = "" if size == RSS_TARGET_SIZE else f" (the target is set at {RSS_TARGET_SIZE} reals)"
            verdicts.append(f"- Memory at {size} reals{label}: directord VmRSS {rss:.1f} MB, VmHWM {hwm:.1f} MB "
                            f"(target ≤ {RSS_TARGET_MB} MB: {u.verdict(rss <= RSS_TARGET_MB)}"
                            + (", though its peak was above it" if rss <= RSS_TARGET_MB < hwm else "")
                            + f"); keepalived's checker {krss:.1f} MB.")
    for r in results:
        if r.get("measure") == "check-cost-failed":
            verdicts.append(f"- {r['size']} reals: **{r['tool']} failed** — {r['error']}; its last errors: "
                            + " / ".join(f"`{line[-200:]}`" for line in r.get("log", [])))
    w("")
    for v in verdicts:
        w(v)
    w("")
    detail = [r for r in results if r.get("measure") == "check-cost" and r.get("user_per_min") is not None]
    if detail:
        w("Where the CPU went in the same windows (per minute; threads by name, busiest first; the guest's idle "
          "share and the responder's CPU show whether the emulated CPU was saturated):")
        w("")
        w("| reals | process | user | system | busiest threads | open files: peak (limit) | guest idle | "
          "responder CPU |")
        w("|---|---|---|---|---|---|---|---|")
        for r in sorted(detail, key=lambda r: (r["size"], r["tool"])):
            w(f"| {r['size']} | {r['tool']} | {r['user_per_min']:.2f} s | {r['system_per_min']:.2f} s | "
              f"{', '.join(r.get('thread_cpu_per_min', []))} | {r.get('open_files_peak')} "
              f"({r.get('open_files_limit')}) | {r['guest_idle'] * 100:.0f}% | "
              f"{r['responder_cpu_per_min']:.2f} s |")
        w("")


def render_adverts(results, w, u):
    w("## 6. Advert punctuality under checking load")
    w("")
    w("How: the configuration of section 5 also holds a VRRPv3 instance, `advert_int 0.01`, `state MASTER`, alone "
      "on the director's veth; while the checks of section 5 run, a raw socket (IP protocol 112) in the reals' "
      "namespace, joined to 224.0.0.18, records every advert with the kernel's receive timestamp (SO_TIMESTAMPNS, "
      "taken when the veth hands the packet over, so the recorder's own scheduling does not blur it) over the same "
      "window. Intervals between consecutive adverts; the nominal one is 10 ms. keepalived's VRRP process, on the "
      "same file, for comparison.")
    w("")
    w("| reals checked | tool | checks/s at the time | adverts (nominal) | interval p50 | p99 | max | "
      "intervals > 2 × advert_int |")
    w("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for size in sizes_of(results, "advert-interval"):
        for tool in TOOLS:
            rs = [r for r in results if r.get("measure") == "advert-interval" and r.get("size") == size
                  and r.get("tool") == tool]
            if not rs:
                continue
            r = rs[0]
            w(f"| {size} | {tool} | {r['check_rate']:.0f} | {r['adverts']} ({r['expected']:.0f}) | {ms(r['seconds'])} | "
              f"{ms(r['p99'])} | {ms(r['max'])} | {r['late']} |")
            if tool == "directord":
                verdicts.append(f"- {size} reals: directord's adverts p50 {ms(r['seconds'])}, p99 {ms(r['p99'])}, "
                                f"max {ms(r['max'])}; {r['late']} of {max(r['adverts'] - 1, 0)} intervals were more "
                                "than twice advert_int (a backup declares the master down after 3 × advert_int "
                                "+ Skew_Time without one).")
    w("")
    for v in verdicts:
        w(v)
    w("")
