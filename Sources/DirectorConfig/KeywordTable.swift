// The mechanism behind every block's keyword table: arity and block checks, ignored and unsupported keywords,
// and "did you mean" for unknown ones. Each domain owns its table (GlobalDefs+Keywords.swift and friends).

enum BlockUse: Sendable {
    case none
    case required
    case optional
}

struct Keyword<Draft>: Sendable {
    enum Action: Sendable {
        case apply(@Sendable (inout Draft, ConfigNode, inout DiagnosticLog) -> Void)
        /// Parsed and dropped with a warning: directord deliberately does not do this.
        case ignored(String)
        /// Rejected: directord cannot honour it, and running without it would be wrong.
        case unsupported(String)
    }

    var name: String
    var arguments: ClosedRange<Int>
    var block: BlockUse
    var action: Action

    static func value(
        _ name: String, _ arguments: ClosedRange<Int> = 1...1,
        _ apply: @escaping @Sendable (inout Draft, ConfigNode, inout DiagnosticLog) -> Void
    ) -> Keyword {
        Keyword(name: name, arguments: arguments, block: .none, action: .apply(apply))
    }

    static func block(
        _ name: String, _ arguments: ClosedRange<Int> = 0...0, _ use: BlockUse = .required,
        _ apply: @escaping @Sendable (inout Draft, ConfigNode, inout DiagnosticLog) -> Void
    ) -> Keyword {
        Keyword(name: name, arguments: arguments, block: use, action: .apply(apply))
    }

    static func ignored(_ name: String, _ reason: String) -> Keyword {
        Keyword(name: name, arguments: 0...Int.max, block: .optional, action: .ignored(reason))
    }

    static func unsupported(_ name: String, _ reason: String) -> Keyword {
        Keyword(name: name, arguments: 0...Int.max, block: .optional, action: .unsupported(reason))
    }
}

struct KeywordTable<Draft>: Sendable {
    /// The block this table reads, as it is written: "vrrp_instance", "HTTP_GET", "<top level>".
    let context: String
    let keywords: [Keyword<Draft>]
    private let index: [String: Int]

    init(_ context: String, _ keywords: [Keyword<Draft>]) {
        self.context = context
        self.keywords = keywords
        var index: [String: Int] = [:]
        for (i, keyword) in keywords.enumerated() { index[keyword.name] = i }
        self.index = index
    }

    var names: [String] { keywords.map(\.name) }

    func apply(_ nodes: [ConfigNode], to draft: inout Draft, log: inout DiagnosticLog) {
        for node in nodes { apply(node, to: &draft, log: &log) }
    }

    func apply(_ node: ConfigNode, to draft: inout Draft, log: inout DiagnosticLog) {
        guard let i = index[node.name] else {
            log.error(node.location, unknownKeywordMessage(node))
            return
        }
        let keyword = keywords[i]
        switch keyword.action {
        case .ignored(let reason):
            log.warning(node.location, "'\(node.name)' is ignored: \(reason)")
            return
        case .unsupported(let reason):
            log.error(node.location, "'\(node.name)' is not supported by directord: \(reason)")
            return
        case .apply(let apply):
            var node = node
            let count = node.arguments.count
            if count < keyword.arguments.lowerBound {
                log.error(node.location, "'\(node.name)' \(arityText(keyword.arguments)), got \(count)")
                return
            }
            if keyword.arguments == 0...0, keyword.block == .none, node.block == nil, count == 1 {
                // A flag written with a value (`nopreempt 1`): keepalived 2.2.7 ignores the value and sets the flag.
                // A value that reads as "on" is taken as keepalived takes it; one that reads as "off" would run the
                // opposite of what is written, so it is refused.
                let word = node.arguments[0]
                switch word.text.lowercased() {
                case "on", "true", "yes", "1":
                    log.warning(word.location, "'\(node.name)' takes no value: keepalived ignores '\(word.text)' and sets it, and so does directord")
                    node.arguments = []
                case "off", "false", "no", "0":
                    log.error(word.location, "keepalived 2.2.7 ignores the value of '\(node.name)' and turns it on; remove the line to leave it off")
                    return
                default:
                    break
                }
            }
            if node.arguments.count > keyword.arguments.upperBound {
                let extra = node.arguments[keyword.arguments.upperBound]
                log.error(extra.location, "'\(node.name)' \(arityText(keyword.arguments)); unexpected '\(extra.text)'")
                return
            }
            switch (keyword.block, node.block) {
            case (.none, .some):
                log.error(node.blockLocation ?? node.location, "'\(node.name)' does not take a block")
                return
            case (.required, .none):
                log.error(node.location, "'\(node.name)' needs a block: \(node.name) ... { ... }")
                return
            default:
                apply(&draft, node, &log)
            }
        }
    }

    private func arityText(_ range: ClosedRange<Int>) -> String {
        func values(_ n: Int) -> String { n == 1 ? "1 value" : "\(n) values" }
        if range.lowerBound == range.upperBound { return range.lowerBound == 0 ? "takes no value" : "takes \(values(range.lowerBound))" }
        if range.upperBound == Int.max { return "takes at least \(values(range.lowerBound))" }
        return "takes \(range.lowerBound) to \(range.upperBound) values"
    }

    private func unknownKeywordMessage(_ node: ConfigNode) -> String {
        let name = node.name
        let place = context == KeywordCatalog.topLevel ? "at the top level" : "in \(context)"
        if context != KeywordCatalog.topLevel && KeywordCatalog.topLevelKeywords.contains(name) {
            return "'\(name)' is only valid at the top level, not inside \(context); is a '}' missing before it?"
        }
        let message = "unknown keyword '\(name)' \(place)"
        // "global defs" and "virtual router_id": a keyword split in two by a lost underscore.
        if let next = node.arguments.first, names.contains(name + "_" + next.text) {
            return message + "; did you mean '\(name)_\(next.text)'?"
        }
        if let suggestion = closestName(to: name, among: names) {
            return message + "; did you mean '\(suggestion)'?"
        }
        let owners = KeywordCatalog.contexts(of: name)
        if !owners.isEmpty {
            return "'\(name)' is not valid \(place); it belongs in \(owners.joined(separator: " or "))"
        }
        return message
    }
}

/// The keyword with the smallest edit distance, when it is close enough to be a plausible typo.
func closestName(to name: String, among candidates: [String], allowing allowed: Int? = nil) -> String? {
    let lowered = name.lowercased()
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(lowered, candidate.lowercased())
        if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
    }
    guard let best else { return nil }
    return best.distance <= (allowed ?? max(2, name.count / 3)) ? best.name : nil
}

/// Levenshtein distance, bounded in work by the (limited) keyword and line lengths.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars.prefix(64))
    let y = Array(b.unicodeScalars.prefix(64))
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            let cost = x[i - 1] == y[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        swap(&previous, &current)
    }
    return previous[y.count]
}
