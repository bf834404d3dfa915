import Platform
import VRRP

extension HostCore {
    func addScript(_ spec: ScriptSpec, now: ContinuousClock.Instant) {
        let prepared = policy.prepare(command: spec.command, user: spec.user)
        if let problem = prepared.problem {
            if prepared.script == nil { report("vrrp_script \(spec.name): \(problem)") } else { logger.warning("vrrp_script \(spec.name): \(problem)") }
        }
        nextGeneration += 1
        let runtime = ScriptRuntime(spec: spec, generation: nextGeneration, script: prepared.script)
        scripts[spec.name] = runtime
        // keepalived runs a script as soon as it starts, then every interval.
        if prepared.script != nil { timers.push(.script(name: spec.name, generation: runtime.generation), at: now) }
    }

    func runCheck(_ runtime: ScriptRuntime, now: ContinuousClock.Instant) {
        guard let script = runtime.script, !runtime.running else { return }
        runtime.running = true
        runtime.lastStart = now
        let name = runtime.spec.name
        let generation = runtime.generation
        let timeout = runtime.spec.timeout
        let runner = dependencies.scripts
        let post = self.post
        Task {
            let result = await runner.run(script, timeout: timeout)
            post { core, now in core.checkFinished(name, generation: generation, result: result, now: now) }
        }
    }

    /// keepalived's counting: `rise` successes in a row make a failed script good, `fall` failures a good one bad.
    func checkFinished(_ name: String, generation: Int, result: ScriptResult, now: ContinuousClock.Instant) {
        guard running, let runtime = scripts[name], runtime.generation == generation else { return }
        runtime.running = false
        runtime.lastRun = wallClock()
        runtime.lastResult = result.output.isEmpty ? "\(result.outcome)" : "\(result.outcome): \(result.output.prefix(200))"
        let ok = result.outcome.succeeded
        var changed = false
        if ok {
            runtime.successes += 1
            runtime.failures = 0
            if !runtime.up && runtime.successes >= runtime.spec.rise { runtime.up = true; changed = true }
        } else {
            runtime.failures += 1
            runtime.successes = 0
            if runtime.up && runtime.failures >= runtime.spec.fall { runtime.up = false; changed = true }
        }
        if changed {
            let detail = ok ? "succeeded \(runtime.spec.rise) time(s)" : "\(result.outcome) \(runtime.spec.fall) time(s)"
            logger.notice("vrrp_script \(name): \(ok ? "up" : "down") (\(detail))", metadata: ["output": "\(result.output)"])
            setTracked("script:" + name, up: runtime.up, now: now, reason: "vrrp_script \(name) \(ok ? "up" : "down")")
        }
        let next = max((runtime.lastStart ?? now) + runtime.spec.interval, now)
        timers.push(.script(name: name, generation: generation), at: next)
    }

    func pollLinks(now: ContinuousClock.Instant) {
        var names = Set<String>()
        for runtime in instances.values { for o in runtime.tracking.objects where o.name.hasPrefix("interface:") { names.insert(o.name) } }
        for group in groups.values { for o in group.tracking.objects where o.name.hasPrefix("interface:") { names.insert(o.name) } }
        for tracked in names.sorted() {
            let interface = String(tracked.dropFirst(10))
            let up = readLink(interface)
            guard linkUp[interface] != up else { continue }
            linkUp[interface] = up
            logger.notice("link \(interface) is \(up ? "up" : "down")")
            setTracked(tracked, up: up, now: now, reason: "\(interface) link \(up ? "up" : "down")")
        }
        pollFiles(now: now)
        pollProcesses(now: now)
    }

    /// Counts the matching processes of every tracked vrrp_track_process once; returns the statuses that changed
    /// (or were set for the first time).
    @discardableResult
    func scanProcesses(now: ContinuousClock.Instant) -> [String: Bool] {
        guard !spec.trackProcesses.isEmpty else { return [:] }
        let running = dependencies.processes.processes()
        var changed: [String: Bool] = [:]
        for (name, process) in spec.trackProcesses.sorted(by: { $0.key < $1.key }) {
            if processQuorums[name]?.spec != process { processQuorums[name] = ProcessQuorum(process) }
            let count = running.reduce(0) { $0 + (process.matches(name: $1.name, commandLine: $1.commandLine) ? 1 : 0) }
            if let up = processQuorums[name]?.observe(count: count, now: now) { changed[name] = up }
        }
        return changed
    }

    /// keepalived follows process events from the kernel; directord reads /proc at the link-poll cadence.
    func pollProcesses(now: ContinuousClock.Instant) {
        for (name, up) in scanProcesses(now: now).sorted(by: { $0.key < $1.key }) {
            logger.notice("vrrp_track_process \(name): \(up ? "in quorum" : "out of quorum")")
            setTracked("process:" + name, up: up, now: now, reason: "vrrp_track_process \(name) \(up ? "up" : "down")")
        }
    }

    /// keepalived watches track_files with inotify; directord reads them at the link-poll cadence.
    func pollFiles(now: ContinuousClock.Instant) {
        var names = Set<String>()
        for runtime in instances.values { for o in runtime.tracking.objects where o.tracksValue { names.insert(o.name) } }
        for group in groups.values { for o in group.tracking.objects where o.tracksValue { names.insert(o.name) } }
        for tracked in names.sorted() {
            // nil: a number keepalived would ignore; the last value stays.
            guard let value = readFile(tracked), fileValues[tracked] != value else { continue }
            let old = fileValues[tracked] ?? 0
            fileValues[tracked] = value
            logger.notice("track_file \(tracked.dropFirst(5)): \(old) → \(value)")
            var affected: [InstanceRuntime] = []
            for runtime in instances.values where runtime.tracking.set(tracked, value: value) { affected.append(runtime) }
            for group in groups.values where group.tracking.set(tracked, value: value) {
                affected += group.spec.members.compactMap { instances[$0] }
            }
            tell(affected, now: now, reason: "track_file \(tracked.dropFirst(5)) now \(value)")
        }
    }

    /// Records a tracked object's status everywhere it is tracked and tells the instances concerned.
    func setTracked(_ name: String, up: Bool, now: ContinuousClock.Instant, reason: String) {
        var affected: [InstanceRuntime] = []
        for runtime in instances.values where runtime.tracking.set(name, up: up) { affected.append(runtime) }
        for group in groups.values where group.tracking.set(name, up: up) {
            affected += group.spec.members.compactMap { instances[$0] }
        }
        tell(affected, now: now, reason: reason)
    }

    /// Feeds the new tracking summary to each affected instance once, in configuration order (so logs and
    /// notifies come out the same way every time).
    func tell(_ affected: [InstanceRuntime], now: ContinuousClock.Instant, reason: String) {
        var seen = Set<Int>()
        for runtime in affected.sorted(by: { $0.id < $1.id }) where seen.insert(runtime.id).inserted {
            dispatch(runtime, .trackingChanged(summary(of: runtime)), now: now, reason: reason)
        }
    }
}
