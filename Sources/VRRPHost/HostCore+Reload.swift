import Timeline
import VRRP

/// What a reload changes, instance by instance.
struct ReloadPlan {
    var added: [String] = []
    var removed: [String] = []
    /// Instances that resign and start again (their wiring changed), with the reasons.
    var restarted: [(name: String, why: [String])] = []
    /// Instances whose notify scripts or tracking change in place, without an election.
    var updated: [(name: String, why: [String])] = []
    var groupLines: [String] = []
    var scriptsAdded: [String] = []
    var scriptsRemoved: [String] = []
    var scriptsChanged: [String] = []
    var syncDaemonChanged = false
    var lines: [String] = []

    var isEmpty: Bool { lines.isEmpty }
}

extension HostCore {
    /// The changes from the running configuration to `new`, as a reload would apply them.
    func plan(_ new: HostSpec) -> ReloadPlan {
        var plan = ReloadPlan()
        let old = spec
        for problem in new.problems { plan.lines.append("\(problem) (not started)") }
        func membersChanged(_ group: String?) -> Bool {
            guard let group else { return false }
            return old.group(named: group)?.members != new.group(named: group)?.members
        }
        for instance in old.instances where new.instance(named: instance.name) == nil {
            plan.removed.append(instance.name)
            let state = router.members[instance.name]?.machine.state
            let resigning = state == .master ? " (resigns from MASTER: priority 0, addresses released)" : ""
            plan.lines.append("vrrp_instance \(instance.name): remove\(resigning)")
        }
        for instance in new.instances {
            guard let previous = old.instance(named: instance.name) else {
                plan.added.append(instance.name)
                plan.lines.append("vrrp_instance \(instance.name): add (starts in BACKUP, then elects)")
                continue
            }
            if previous.wiring != instance.wiring || membersChanged(instance.wiring.group) {
                var why = previous.wiring != instance.wiring ? instance.wiring.differences(from: previous.wiring) : []
                if membersChanged(instance.wiring.group) { why.append("sync group members") }
                plan.restarted.append((instance.name, why))
                plan.lines.append("vrrp_instance \(instance.name): restart (\(why.joined(separator: ", ")); it resigns and is elected again)")
                continue
            }
            var why: [String] = []
            if previous.notify != instance.notify { why.append("notify scripts") }
            if previous.tracked != instance.tracked { why.append("tracked objects") }
            if !why.isEmpty {
                plan.updated.append((instance.name, why))
                plan.lines.append("vrrp_instance \(instance.name): update \(why.joined(separator: " and ")) in place (state kept)")
            }
        }
        for group in old.groups where new.group(named: group.name) == nil {
            plan.groupLines.append("vrrp_sync_group \(group.name): remove")
        }
        for group in new.groups {
            guard let previous = old.group(named: group.name) else {
                plan.groupLines.append("vrrp_sync_group \(group.name): add (\(group.members.joined(separator: ", ")))")
                continue
            }
            if previous.members != group.members {
                plan.groupLines.append(
                    "vrrp_sync_group \(group.name): members \(previous.members.joined(separator: ", ")) → \(group.members.joined(separator: ", "))")
            } else if previous.notify != group.notify || previous.tracked != group.tracked {
                plan.groupLines.append("vrrp_sync_group \(group.name): update notify/tracking in place")
            }
        }
        plan.lines += plan.groupLines
        for name in old.scripts.keys.sorted() where new.scripts[name] == nil {
            plan.scriptsRemoved.append(name)
            plan.lines.append("vrrp_script \(name): stop")
        }
        for name in new.scripts.keys.sorted() {
            guard let previous = old.scripts[name] else {
                plan.scriptsAdded.append(name)
                plan.lines.append("vrrp_script \(name): start")
                continue
            }
            if previous != new.scripts[name] {
                plan.scriptsChanged.append(name)
                plan.lines.append("vrrp_script \(name): restart with the new settings (its status starts afresh)")
            }
        }
        if old.trackFiles != new.trackFiles {
            plan.lines.append("track_file: read afresh (\(new.trackFiles.keys.sorted().joined(separator: ", ")))")
        }
        if old.syncDaemon != new.syncDaemon {
            plan.syncDaemonChanged = true
            switch (old.syncDaemon, new.syncDaemon) {
            case (nil, let d?): plan.lines.append("lvs_sync_daemon: start (\(d.description))")
            case (_?, nil): plan.lines.append("lvs_sync_daemon: stop")
            case (let a?, let b?): plan.lines.append("lvs_sync_daemon: restart (\(a.description) → \(b.description))")
            case (nil, nil): break
            }
        }
        return plan
    }

    /// Applies `new`: unchanged instances keep their state and timers; see `plan`. Returns the plan's lines.
    func reload(_ new: HostSpec, now: Moment) -> [String] {
        let plan = plan(new)
        guard running else {
            spec = new
            policy = ScriptPolicy(globals: new.globals, files: dependencies.files)
            return plan.lines
        }
        guard !plan.isEmpty || spec.globals != new.globals else { return [] }
        let oldSummaries = Dictionary(uniqueKeysWithValues: instances.keys.compactMap { name in
            router.summary(of: name).map { (name, $0) }
        })
        for name in plan.removed + plan.restarted.map(\.name) {
            guard let runtime = instances[name] else { continue }
            let removed = plan.removed.contains(name)
            dispatch(runtime, removed ? .delete : .shutdown, now: now, reason: removed ? "removed by reload" : "restarted by reload")
            instances[name] = nil
            router.remove(name)
        }
        let daemonWasRunning = spec.syncDaemon != nil
        if plan.syncDaemonChanged && daemonWasRunning { switchSyncDaemon(.stopped) }
        spec = new
        policy = ScriptPolicy(globals: new.globals, files: dependencies.files)
        // A track_file may now name another path: read them afresh.
        fileValues.removeAll()

        for name in plan.scriptsRemoved {
            scripts[name] = nil
            router.removeScript(name)
        }
        for name in plan.scriptsAdded + plan.scriptsChanged {
            if let script = new.scripts[name] { addScript(script, now: now) }
        }
        for group in new.groups {
            if router.groups[group.name]?.policy.members == group.members {
                router.retrackGroup(group.name, rebuiltTracking(group.tracked))
            } else {
                addGroup(group)
            }
        }
        for name in router.groups.keys where new.group(named: name) == nil { router.removeGroup(name) }
        updatePromoteSecondaries()
        // Kept instances: new notify/tracking settings, and the statuses of tracked objects carried over.
        for instance in new.instances {
            guard let runtime = instances[instance.name] else { continue }
            runtime.spec = instance
            router.retrack(instance.name, rebuiltTracking(instance.tracked))
        }
        for instance in new.instances where instances[instance.name] == nil {
            if let problem = ensureVirtualMAC(for: instance) ?? openTransport(for: instance) {
                report(problem)
                continue
            }
            startInstance(instance, now: now, reason: plan.added.contains(instance.name) ? "added by reload" : "restarted by reload")
        }
        let used = Set(instances.values.map(\.transportKey))
        for key in transports.keys where !used.contains(key) { transports[key] = nil }
        removeVirtualMACs(keeping: Set(instances.values.compactMap { $0.spec.wiring.virtualMAC?.interface }))
        let fresh = Set(plan.added + plan.restarted.map(\.name))
        for instance in new.instances where !fresh.contains(instance.name) {
            guard let runtime = instances[instance.name], let before = oldSummaries[instance.name] else { continue }
            guard let after = router.summary(of: instance.name) else { continue }
            if after != before { dispatch(runtime, .trackingChanged(after), now: now, reason: "tracking changed by reload") }
        }
        if plan.syncDaemonChanged, let daemon = new.syncDaemon {
            if let controller = daemon.controller {
                let state = router.members[controller]?.machine.state
                switchSyncDaemon(state == .master ? .master : .backup)
            } else {
                switchSyncDaemon(.master, alsoBackup: true)
            }
        }
        for line in plan.lines { logger.notice("reload: \(line)") }
        return plan.lines
    }

    func rebuiltTracking(_ objects: [TrackedObject]) -> TrackingState { seededTracking(objects) }
}
