/// The decisions of one director's VRRP side, as a pure value: its instances' state machines, their sync groups,
/// what each tracks, and keepalived's rise/fall counting of vrrp_scripts. `handle(_:now:reason:)` feeds one event
/// to whatever it concerns, lets the sync groups react until no directive is left, and returns every action in
/// the order it is to be performed. The host (`HostCore`, or a simulated LAN in tests) performs the actions:
/// sockets, timers, addresses, scripts. Nothing here reads a clock, a file or a socket.
import Timeline
public struct VRRPRouter: Sendable {
    /// One running vrrp_instance.
    public struct Member: Sendable {
        public internal(set) var machine: VRRPInstance
        /// The vrrp_sync_group it belongs to.
        public let group: String?
        /// Its own track_* objects (its group's are merged in by `summary(of:)`).
        public internal(set) var tracking: TrackingState
        /// When it was added: a change shared by several instances reaches them in this order.
        let order: Int
    }

    /// One vrrp_sync_group.
    public struct Group: Sendable {
        public internal(set) var policy: SyncGroupPolicy
        /// The group's own track_* objects: they count for every member.
        public internal(set) var tracking: TrackingState
    }

    /// keepalived's counting for one vrrp_script: `rise` successes in a row make a failed script good, `fall`
    /// failures in a row a good one bad.
    public struct ScriptCounter: Sendable, Hashable {
        public let rise: Int
        public let fall: Int
        public internal(set) var up: Bool
        public internal(set) var successes = 0
        public internal(set) var failures = 0

        public init(rise: Int, fall: Int, up: Bool) {
            self.rise = rise
            self.fall = fall
            self.up = up
        }

        /// Counts one run; true when it changed the script's status.
        mutating func count(succeeded: Bool) -> Bool {
            if succeeded {
                successes += 1
                failures = 0
                guard !up, successes >= rise else { return false }
                up = true
            } else {
                failures += 1
                successes = 0
                guard up, failures >= fall else { return false }
                up = false
            }
            return true
        }
    }

    /// Inputs.
    public enum Event: Sendable, Hashable {
        /// An event for one instance: start, an advert that passed the filter, a timer, tracking, shutdown, delete.
        case instance(String, VRRPInstance.Event)
        /// A tracked object's status (`script:`, `interface:`, `process:` names): recorded wherever it is
        /// tracked, and every instance whose tracking changed is told, in order.
        case tracked(String, up: Bool)
        /// A tracked file's number (`file:` names).
        case trackedValue(String, Int64)
        /// One run of a vrrp_script ended; when the count changes its status, it is `tracked` as `script:NAME`.
        case scriptFinished(String, succeeded: Bool)
    }

    /// Why an instance acts: the reason of the event that led to it, whether that event was `.start`, and the
    /// instance's effective priority once it had handled it.
    public struct Context: Sendable, Hashable {
        public var reason: String
        public var starting: Bool
        public var priority: UInt8

        public init(reason: String, starting: Bool, priority: UInt8) {
            self.reason = reason
            self.starting = starting
            self.priority = priority
        }
    }

    /// Outputs, to be performed in order.
    public enum Action: Sendable, Hashable {
        /// One action of one instance.
        case instance(String, VRRPInstance.Action, Context)
        /// A sync group changed state because `member` did (for the log and the host's events).
        case groupState(String, from: VRRPInstance.State, to: VRRPInstance.State, member: String, reason: String)
        /// Run a sync group's notify scripts.
        case groupNotify(String, NotifyEvent)
        /// Switch the IPVS sync daemon, as a sync group says.
        case switchSyncDaemon(VRRPInstance.SyncDaemonRole)
        /// A vrrp_script's rise/fall count changed its status (before the instances that track it are told).
        case scriptStatus(String, up: Bool)
    }

    public private(set) var members: [String: Member] = [:]
    public private(set) var groups: [String: Group] = [:]
    public private(set) var scripts: [String: ScriptCounter] = [:]
    private var added = 0

    public init() {}

    // MARK: - What runs (start and reload)

    /// Adds (or replaces) an instance. Tell it `.trackingChanged(summary(of:))` and `.start` to run it.
    public mutating func add(_ machine: VRRPInstance, group: String?, tracking: TrackingState) {
        added += 1
        members[machine.configuration.name] = Member(machine: machine, group: group, tracking: tracking, order: added)
    }

    /// Forgets an instance (after it handled `.shutdown` or `.delete`).
    public mutating func remove(_ instance: String) { members[instance] = nil }

    /// Replaces an instance's tracked objects, keeping its state (a reload). Tell it the new summary if it changed.
    public mutating func retrack(_ instance: String, _ tracking: TrackingState) { members[instance]?.tracking = tracking }

    /// Adds (or replaces) a sync group, its policy starting afresh.
    public mutating func addGroup(_ policy: SyncGroupPolicy, tracking: TrackingState) {
        groups[policy.name] = Group(policy: policy, tracking: tracking)
    }

    /// Replaces a sync group's tracked objects, keeping its state.
    public mutating func retrackGroup(_ group: String, _ tracking: TrackingState) { groups[group]?.tracking = tracking }

    public mutating func removeGroup(_ group: String) { groups[group] = nil }

    /// Starts counting a vrrp_script afresh.
    public mutating func addScript(_ name: String, _ counter: ScriptCounter) { scripts[name] = counter }

    public mutating func removeScript(_ name: String) { scripts[name] = nil }

    /// An instance's tracking merged with its sync group's.
    public func summary(of instance: String) -> TrackingSummary? {
        guard let member = members[instance] else { return nil }
        var summary = member.tracking.summary
        if let name = member.group, let group = groups[name] {
            let shared = group.tracking.summary
            summary.weight += shared.weight
            summary.faulted = summary.faulted || shared.faulted
        }
        return summary
    }

    /// Every tracked object's name, instances' and groups' alike.
    public var trackedObjects: Set<String> {
        var names = Set<String>()
        for member in members.values { for object in member.tracking.objects { names.insert(object.name) } }
        for group in groups.values { for object in group.tracking.objects { names.insert(object.name) } }
        return names
    }

    // MARK: - Events

    /// Handles one event and everything it sets off; `reason` is logged with the actions it causes.
    public mutating func handle(_ event: Event, now: Moment, reason: String = "") -> [Action] {
        var actions: [Action] = []
        switch event {
        case .instance(let name, let event):
            dispatch(name, event, reason: reason, now: now, into: &actions)
        case .tracked(let name, let up):
            let affected = record(.up(name, up))
            tell(affected, reason: reason, now: now, into: &actions)
        case .trackedValue(let name, let value):
            let affected = record(.value(name, value))
            tell(affected, reason: reason, now: now, into: &actions)
        case .scriptFinished(let name, let succeeded):
            guard scripts[name]?.count(succeeded: succeeded) == true, let up = scripts[name]?.up else { break }
            actions.append(.scriptStatus(name, up: up))
            let affected = record(.up("script:" + name, up))
            tell(affected, reason: "vrrp_script \(name) \(up ? "up" : "down")", now: now, into: &actions)
        }
        return actions
    }

    /// Records a report in every tracking state; returns the instances whose own or group's tracking changed.
    private mutating func record(_ report: TrackingReport) -> [String] {
        var affected: [String] = []
        for name in members.keys where members[name]?.tracking.record(report) == true { affected.append(name) }
        for name in groups.keys where groups[name]?.tracking.record(report) == true {
            affected += groups[name]?.policy.members ?? []
        }
        return affected
    }

    /// Feeds the new tracking summary to each affected instance once, in the order they were added (so logs and
    /// notifies come out the same way every time).
    private mutating func tell(_ affected: [String], reason: String, now: Moment, into actions: inout [Action]) {
        let ordered = Set(affected).compactMap { name in members[name].map { (name, $0.order) } }.sorted { $0.1 < $1.1 }
        for (name, _) in ordered {
            guard let summary = summary(of: name) else { continue }
            dispatch(name, .trackingChanged(summary), reason: reason, now: now, into: &actions)
        }
    }

    /// One event through an instance, then its sync group, then every directive the group gives, until none is left.
    private mutating func dispatch(
        _ first: String, _ event: VRRPInstance.Event, reason: String, now: Moment,
        into actions: inout [Action]
    ) {
        var work: [(String, VRRPInstance.Event, String)] = [(first, event, reason)]
        var next = 0
        while next < work.count {
            let (name, event, reason) = work[next]
            next += 1
            guard let done = members[name]?.machine.handle(event, now: now), let member = members[name] else { continue }
            let context = Context(reason: reason, starting: event == .start, priority: member.machine.effectivePriority)
            actions += done.map { .instance(name, $0, context) }
            guard let groupName = member.group, let before = groups[groupName]?.policy.state,
                let directives = groups[groupName]?.policy.update(member: name, status: member.machine.memberStatus),
                let after = groups[groupName]?.policy.state
            else { continue }
            if after != before {
                actions.append(.groupState(groupName, from: before, to: after, member: name, reason: reason))
            }
            for directive in directives {
                switch directive {
                case .direct(let target, let command):
                    guard members[target] != nil else { continue }
                    work.append((target, .syncGroup(command), Self.why(command, group: groupName, member: name, reason)))
                case .notify(let notify):
                    actions.append(.groupNotify(groupName, notify))
                case .switchSyncDaemon(let role):
                    actions.append(.switchSyncDaemon(role))
                }
            }
        }
    }

    private static func why(_ command: VRRPInstance.SyncDirective, group: String, member: String, _ reason: String) -> String {
        switch command {
        case .becomeMaster: "every member of sync group \(group) can be MASTER"
        case .becomeBackup: "sync group \(group) follows \(member) to BACKUP (\(reason))"
        case .becomeFault: "sync group \(group) follows a member into FAULT (\(reason))"
        case .clearFault: "the fault in sync group \(group) is over (\(reason))"
        }
    }
}

/// One tracked object's new status or number.
private enum TrackingReport {
    case up(String, Bool)
    case value(String, Int64)
}

extension TrackingState {
    fileprivate mutating func record(_ report: TrackingReport) -> Bool {
        switch report {
        case .up(let name, let up): set(name, up: up)
        case .value(let name, let value): set(name, value: value)
        }
    }
}
