/// A vrrp_sync_group as a policy over its members' states: members move together. One member in FAULT takes the
/// group to FAULT, one falling back to BACKUP takes the group to BACKUP, and the group becomes MASTER only when
/// every member wants to (keepalived 2.x `vrrp_sync.c` semantics).
///
/// Wiring: after each `VRRPInstance.handle`, call `update(member:status:)` with the instance's `memberStatus`;
/// deliver each `.direct(member, directive)` as `.syncGroup(directive)` to that instance (whose own actions come
/// back, and whose new status goes through `update` again) until no more directives come. Build members with
/// `inSyncGroup: true`. The group's own track_* objects are merged into every member's `.trackingChanged`, and,
/// as keepalived does, members' own tracking weights are zeroed by the configuration layer. The IPVS sync daemon
/// follows either one instance (`controlsSyncDaemon` there) or the group (here), never both.
public struct SyncGroupPolicy: Sendable {
    /// What the group needs from a member.
    public struct MemberStatus: Sendable, Hashable {
        /// The member's state.
        public var state: VRRPInstance.State
        /// BACKUP whose master-down timer expired (or an owner): ready for MASTER.
        public var wantsMaster: Bool
        /// In FAULT through its own tracking, not merely following the group.
        public var ownFault: Bool

        public init(state: VRRPInstance.State, wantsMaster: Bool = false, ownFault: Bool = false) {
            self.state = state
            self.wantsMaster = wantsMaster
            self.ownFault = ownFault
        }
    }

    /// Group outputs.
    public enum Action: Sendable, Hashable {
        /// Deliver a directive to a member instance.
        case direct(member: String, VRRPInstance.SyncDirective)
        /// Run the group's notify scripts.
        case notify(NotifyEvent)
        /// Switch the IPVS sync daemon (when the group controls it).
        case switchSyncDaemon(VRRPInstance.SyncDaemonRole)
    }

    /// vrrp_sync_group name.
    public let name: String
    /// Member instance names, in configuration order.
    public let members: [String]
    /// The group drives the IPVS sync daemon (instead of a single instance).
    public let controlsSyncDaemon: Bool
    /// Group state: INIT until every member has started.
    public private(set) var state: VRRPInstance.State = .initialize
    /// Last status reported per member.
    public private(set) var statuses: [String: MemberStatus]
    private var lastSyncDaemonRole: VRRPInstance.SyncDaemonRole?

    public init(name: String, members: [String], controlsSyncDaemon: Bool = false) {
        self.name = name
        self.members = members
        self.controlsSyncDaemon = controlsSyncDaemon
        self.statuses = Dictionary(
            members.map { ($0, MemberStatus(state: .initialize)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Records a member's status and returns what the group does about it (nothing when nothing changed).
    public mutating func update(member: String, status: MemberStatus) -> [Action] {
        guard statuses[member] != nil else { return [] }
        statuses[member] = status
        var actions: [Action] = []
        let all = members.compactMap { statuses[$0] }
        if all.contains(where: { $0.state == .initialize }) {
            // Starting or stopping: nothing to coordinate. Once all have stopped, keepalived 2.2.7 runs the
            // group's notify with STOP and priority 0 (despite its man page reserving STOP for instances).
            if all.allSatisfy({ $0.state == .initialize }) && state != .initialize {
                transition(to: .initialize, &actions)
            }
            return actions
        }

        if all.contains(where: { $0.ownFault }) {
            // One member's fault takes the group down; the others follow into FAULT until it clears.
            for m in members where statuses[m]?.state != .fault {
                actions.append(.direct(member: m, .becomeFault))
            }
            transition(to: .fault, &actions)
        } else if state == .fault {
            for m in members where statuses[m]?.state == .fault {
                actions.append(.direct(member: m, .clearFault))
            }
            transition(to: .backup, &actions)
        } else if all.contains(where: { $0.state == .fault }) {
            // A follower still in FAULT although nothing is faulty: it is being cleared; wait for it.
        } else if all.allSatisfy({ $0.state == .master || ($0.state == .backup && $0.wantsMaster) }) {
            // Directives go out once, at the transition; members promoted one by one must not be re-told.
            if state != .master {
                for m in members where statuses[m]?.state == .backup {
                    actions.append(.direct(member: m, .becomeMaster))
                }
                transition(to: .master, &actions)
            }
        } else {
            // Somebody is (or fell back to) BACKUP without wanting MASTER: every MASTER follows it.
            for m in members where statuses[m]?.state == .master {
                actions.append(.direct(member: m, .becomeBackup))
            }
            transition(to: .backup, &actions)
        }
        return actions
    }

    private mutating func transition(to newState: VRRPInstance.State, _ actions: inout [Action]) {
        guard newState != state else { return }
        state = newState
        if controlsSyncDaemon {
            let role: VRRPInstance.SyncDaemonRole =
                newState == .master ? .master : newState == .initialize ? .stopped : .backup
            if role != lastSyncDaemonRole {
                lastSyncDaemonRole = role
                actions.append(.switchSyncDaemon(role))
            }
        }
        let notifyState: NotifyEvent.State
        switch newState {
        case .master: notifyState = .master
        case .backup: notifyState = .backup
        case .fault: notifyState = .fault
        case .initialize: notifyState = .stop
        }
        // keepalived passes priority 0 for groups.
        actions.append(.notify(NotifyEvent(scope: .group, name: name, state: notifyState, priority: 0)))
    }
}
