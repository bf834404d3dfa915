/// A state change to announce through notify scripts, with keepalived's argument convention.
///
/// Wiring: on a `.notify` action, run each of `invocations(...)` asynchronously with a timeout (never on the VRRP
/// loop): the configured command line, split as keepalived does, followed by `appendedArguments`.
public struct NotifyEvent: Hashable, Sendable {
    /// Who changed state; keepalived's first appended argument.
    public enum Scope: String, Sendable, Hashable {
        case group = "GROUP"
        case instance = "INSTANCE"
    }

    /// The target state, always upper case as keepalived sends it (groups get STOP too, in keepalived 2.2.7).
    public enum State: String, Sendable, Hashable {
        case master = "MASTER"
        case backup = "BACKUP"
        case fault = "FAULT"
        case stop = "STOP"
        /// An instance removed by a reload, with notify_deleted (keepalived reports FAULT otherwise).
        case deleted = "DELETED"
    }

    /// Group or instance.
    public var scope: Scope
    /// vrrp_sync_group or vrrp_instance name.
    public var name: String
    /// New state.
    public var state: State
    /// Effective priority of the instance; keepalived passes 0 for groups.
    public var priority: Int

    public init(scope: Scope, name: String, state: State, priority: Int) {
        self.scope = scope
        self.name = name
        self.state = state
        self.priority = priority
    }

    /// `$1..$4` for the generic `notify` script: "GROUP"|"INSTANCE", name, state, priority.
    public var arguments: [String] {
        [scope.rawValue, name, state.rawValue, String(priority)]
    }

    /// The scripts to run, in keepalived's order: the state's own script (notify_master/backup/fault/stop, given
    /// no extra arguments), then the generic `notify` with `arguments` appended.
    public func invocations<Script>(
        master: Script?, backup: Script?, fault: Script?, stop: Script?, any: Script?, deleted: Script? = nil
    ) -> [(script: Script, appendedArguments: [String])] {
        var result: [(script: Script, appendedArguments: [String])] = []
        let specific: Script?
        switch state {
        case .master: specific = master
        case .backup: specific = backup
        case .fault: specific = fault
        case .stop: specific = stop
        case .deleted: specific = deleted
        }
        if let specific { result.append((specific, [])) }
        if let any { result.append((any, arguments)) }
        return result
    }
}
