// vrrp_track_process blocks (top level), with keepalived 2.2.7's meaning (vrrp_parser.c, track_process.c): how
// many running processes match a name or a command line, against a quorum.

/// A top-level `vrrp_track_process NAME { process CMD [ARGS...]; param_match initial|partial; weight N [reverse];
/// quorum N; quorum_max N; fork_delay S; terminate_delay S; delay S; full_command }`.
public struct TrackProcess: Hashable, Sendable {
    /// How the configured parameters meet a process's.
    public enum ParameterMatch: String, Hashable, Sendable {
        /// Only the name (or, with full_command, argv[0]) is compared.
        case none
        /// The parameters are exactly the configured ones (none, when none are configured).
        case exact
        /// The configured parameters, the last of which may be a prefix of the process's.
        case initial
        /// The process's first parameters are the configured ones; it may have more.
        case partial
    }

    public var name: String
    /// The process name (as in /proc/PID/status, at most 15 bytes) or, with parameters or full_command, argv[0].
    public var process: String
    public var parameters: [String]
    public var parameterMatch: ParameterMatch
    /// Compare the command line (/proc/PID/cmdline) instead of the process name.
    public var fullCommand: Bool
    /// keepalived: 0 (quorum lost is a fault), in -254..254.
    public var weight: Int
    public var reverse: Bool
    /// Up while quorum ≤ matching processes ≤ quorumMax.
    public var quorum: Int
    public var quorumMax: Int
    /// Quorum gained must hold this long before the process counts as up (a fork that is about to exec).
    public var forkDelay: Duration
    /// Quorum lost must last this long before the process counts as down (a restart).
    public var terminateDelay: Duration
    public var origin: SourceOrigin

    public init(name: String, process: String, parameters: [String] = [], parameterMatch: ParameterMatch = .none,
                fullCommand: Bool = false, weight: Int = 0, reverse: Bool = false, quorum: Int = 1,
                quorumMax: Int = Int(UInt32.max), forkDelay: Duration = .zero, terminateDelay: Duration = .zero,
                origin: SourceOrigin = SourceOrigin(nil)) {
        self.name = name
        self.process = process
        self.parameters = parameters
        self.parameterMatch = parameterMatch
        self.fullCommand = fullCommand
        self.weight = weight
        self.reverse = reverse
        self.quorum = quorum
        self.quorumMax = quorumMax
        self.forkDelay = forkDelay
        self.terminateDelay = terminateDelay
        self.origin = origin
    }

    /// Whether one process matches: its name (/proc/PID/comm, which the kernel cuts to 15 bytes) and its command
    /// line (/proc/PID/cmdline split at NUL).
    public func matches(name comm: String, commandLine: [String]) -> Bool {
        guard fullCommand || parameterMatch != .none else {
            // The kernel keeps 15 bytes of the name; a longer configured name is compared on those.
            return comm == String(decoding: Array(process.utf8).prefix(15), as: UTF8.self)
        }
        guard let program = commandLine.first, program == process else { return false }
        let args = Array(commandLine.dropFirst())
        switch parameterMatch {
        case .none:
            return true
        case .exact:
            return args == parameters
        case .partial:
            return args.count >= parameters.count && Array(args.prefix(parameters.count)) == parameters
        case .initial:
            guard args.count == parameters.count else { return false }
            guard let last = parameters.last else { return args.isEmpty }
            return Array(args.dropLast()) == Array(parameters.dropLast()) && args[args.count - 1].hasPrefix(last)
        }
    }
}

/// A `track_process { NAME [weight N [reverse|noreverse]] }` entry of an instance or a sync group.
public struct TrackedProcess: Hashable, Sendable {
    public var name: String
    /// nil: the vrrp_track_process's.
    public var weight: Int?
    public var reverse: Bool?
    public var origin: SourceOrigin

    public init(name: String, weight: Int? = nil, reverse: Bool? = nil, origin: SourceOrigin = SourceOrigin(nil)) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
        self.origin = origin
    }
}

struct TrackProcessDraft: Sendable {
    var name: ConfigWord
    var process: [ConfigWord] = []
    var parameterMatch: TrackProcess.ParameterMatch?
    var fullCommand = false
    var weight = 0
    var reverse = false
    var quorum: Int?
    var quorumMax: Int?
    var forkDelay: Duration = .zero
    var terminateDelay: Duration = .zero

    static let keywords = KeywordTable<TrackProcessDraft>("vrrp_track_process", [
        .value("process", 1...Int.max) { d, node, _ in d.process = node.arguments },
        .value("param_match", 1...1) { d, node, log in
            d.parameterMatch = log.choice(node.arguments[0], "'param_match'", [("initial", .initial), ("partial", .partial)])
        },
        .value("full_command", 0...0) { d, _, _ in d.fullCommand = true },
        .value("weight", 1...2) { d, node, log in
            guard let v = log.integer(node.arguments[0], -254...254, "vrrp_track_process 'weight'") else { return }
            d.weight = v
            if node.arguments.count == 2 {
                guard let r = log.choice(node.arguments[1], "the weight option", [("reverse", true)]) else { return }
                d.reverse = r
            }
        },
        .value("quorum") { d, node, log in d.quorum = log.integer(node.arguments[0], 1...65535, "'quorum'") },
        .value("quorum_max") { d, node, log in d.quorumMax = log.integer(node.arguments[0], 0...65535, "'quorum_max'") },
        .value("fork_delay") { d, node, log in
            if let v = log.duration(node.arguments[0], 0.000001...3600, "'fork_delay'") { d.forkDelay = v }
        },
        .value("terminate_delay") { d, node, log in
            if let v = log.duration(node.arguments[0], 0.000001...3600, "'terminate_delay'") { d.terminateDelay = v }
        },
        .value("delay") { d, node, log in
            if let v = log.duration(node.arguments[0], 0.000001...3600, "'delay'") {
                d.forkDelay = v
                d.terminateDelay = v
            }
        },
    ])

    func resolve(log: inout DiagnosticLog) -> TrackProcess? {
        guard let program = process.first else {
            log.error(name.location, "vrrp_track_process \(name.text) has no 'process'")
            return nil
        }
        let parameters = process.dropFirst().map(\.text)
        // As keepalived: parameters (or param_match alone) compare the command line, exactly unless told otherwise.
        // param_match without parameters means "no parameters at all" (keepalived.conf(5)).
        let match: TrackProcess.ParameterMatch =
            parameters.isEmpty ? (parameterMatch == nil ? .none : .exact) : (parameterMatch ?? .exact)
        var quorum = self.quorum ?? 1
        let quorumMax = self.quorumMax ?? Int(UInt32.max)
        if self.quorumMax == 0 && self.quorum == nil { quorum = 0 }
        if quorum > quorumMax {
            log.error(name.location, "vrrp_track_process \(name.text): quorum \(quorum) is above quorum_max \(quorumMax), so it is never met")
            return nil
        }
        if !fullCommand && match == .none && program.text.utf8.count > 15 {
            log.warning(program.location, "process names are at most 15 bytes in the kernel: '\(program.text)' is compared on its first 15; add full_command to compare the command line")
        }
        return TrackProcess(
            name: name.text, process: program.text, parameters: parameters, parameterMatch: match,
            fullCommand: fullCommand || match != .none, weight: weight, reverse: reverse, quorum: quorum,
            quorumMax: quorumMax, forkDelay: forkDelay, terminateDelay: terminateDelay, origin: SourceOrigin(name.location))
    }
}

extension TrackingEntries {
    /// `track_process { NAME [weight N [reverse|noreverse]] ... }`.
    static func processes(_ node: ConfigNode, log: inout DiagnosticLog) -> [TrackedProcess] {
        var result: [TrackedProcess] = []
        for entry in node.block ?? [] {
            if entry.block != nil {
                log.error(entry.blockLocation ?? entry.location, "a track_process entry does not take a block")
                continue
            }
            var tracked = TrackedProcess(name: entry.keyword.text, origin: SourceOrigin(entry.keyword.location))
            let args = entry.arguments
            if !args.isEmpty {
                guard args[0].text == "weight", args.count >= 2, args.count <= 3 else {
                    log.error(args[0].location, "track_process entry: expected NAME [weight N [reverse|noreverse]]")
                    continue
                }
                guard let w = log.integer(args[1], -254...254, "track_process weight") else { continue }
                tracked.weight = w
                if args.count == 3 {
                    guard let r = log.choice(args[2], "the weight option", [("reverse", true), ("noreverse", false)]) else { continue }
                    tracked.reverse = r
                }
            }
            result.append(tracked)
        }
        return result
    }
}
