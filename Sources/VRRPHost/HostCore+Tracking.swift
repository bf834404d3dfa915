import Timeline
import Platform
import VRRP

extension HostCore {
    func addScript(_ spec: ScriptSpec, now: Moment) {
        let prepared = policy.prepare(command: spec.command, user: spec.user)
        if let problem = prepared.problem {
            if prepared.script == nil { report("vrrp_script \(spec.name): \(problem)") } else { logger.warning("vrrp_script \(spec.name): \(problem)") }
        }
        nextGeneration += 1
        let runtime = ScriptRuntime(spec: spec, generation: nextGeneration, script: prepared.script)
        scripts[spec.name] = runtime
        // A script that script security refused is never run and counts as up.
        router.addScript(
            spec.name, .init(rise: spec.rise, fall: spec.fall, up: prepared.script == nil ? true : !spec.initFail))
        // keepalived runs a script as soon as it starts, then every interval.
        if prepared.script != nil { timers.insert(.script(name: spec.name, generation: runtime.generation), at: now) }
    }

    func runCheck(_ runtime: ScriptRuntime, now: Moment) {
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

    /// A run's result goes to the router, which counts it (rise/fall) and tells the instances that track it.
    func checkFinished(_ name: String, generation: Int, result: ScriptResult, now: Moment) {
        guard running, let runtime = scripts[name], runtime.generation == generation else { return }
        runtime.running = false
        runtime.lastRun = wallClock()
        runtime.lastResult = result.output.isEmpty ? "\(result.outcome)" : "\(result.outcome): \(result.output.prefix(200))"
        let actions = router.handle(.scriptFinished(name, succeeded: result.outcome.succeeded), now: now)
        if case .scriptStatus(_, let up)? = actions.first {
            let detail = up ? "succeeded \(runtime.spec.rise) time(s)" : "\(result.outcome) \(runtime.spec.fall) time(s)"
            logger.notice("vrrp_script \(name): \(up ? "up" : "down") (\(detail))", metadata: ["output": "\(result.output)"])
        }
        perform(actions)
        let next = max((runtime.lastStart ?? now) + runtime.spec.interval, now)
        timers.insert(.script(name: name, generation: generation), at: next)
    }

    func pollLinks(now: Moment) {
        for tracked in router.trackedObjects.filter({ $0.hasPrefix("interface:") }).sorted() {
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
    func scanProcesses(now: Moment) -> [String: Bool] {
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
    func pollProcesses(now: Moment) {
        for (name, up) in scanProcesses(now: now).sorted(by: { $0.key < $1.key }) {
            logger.notice("vrrp_track_process \(name): \(up ? "in quorum" : "out of quorum")")
            setTracked("process:" + name, up: up, now: now, reason: "vrrp_track_process \(name) \(up ? "up" : "down")")
        }
    }

    /// keepalived watches track_files with inotify; directord reads them at the link-poll cadence.
    func pollFiles(now: Moment) {
        for tracked in router.trackedObjects.filter({ $0.hasPrefix("file:") }).sorted() {
            // nil: a number keepalived would ignore; the last value stays.
            guard let value = readFile(tracked), fileValues[tracked] != value else { continue }
            let old = fileValues[tracked] ?? 0
            fileValues[tracked] = value
            logger.notice("track_file \(tracked.dropFirst(5)): \(old) → \(value)")
            perform(router.handle(.trackedValue(tracked, value), now: now, reason: "track_file \(tracked.dropFirst(5)) now \(value)"))
        }
    }

    /// Records a tracked object's status everywhere it is tracked and tells the instances concerned.
    func setTracked(_ name: String, up: Bool, now: Moment, reason: String) {
        perform(router.handle(.tracked(name, up: up), now: now, reason: reason))
    }
}
