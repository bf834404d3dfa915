// static_ipaddress, static_routes and static_rules: what keepalived adds at start and removes at stop, whatever the
// VRRP state. Addresses and routes have virtual_ipaddress's and virtual_routes's syntax; rules are parsed here.
import Addresses

/// The routing action of a rule (FR_ACT_*): keepalived needs exactly one per rule.
public enum RuleAction: Hashable, Sendable {
    case table(UInt32)
    /// Jump to the rule with this preference (which must come after the rule's own).
    case goto(UInt32)
    case nop
    case blackhole
    case unreachable
    case prohibit
}

/// A `static_rules` entry, as `ip rule` reads it: `[not] [from P] [to P] [tos T] [fwmark M[/MASK]] [iif IF] [oif IF]
/// [preference N] ACTION`.
public struct StaticRule: Hashable, Sendable {
    public var family: AddressFamily
    /// nil: from all.
    public var from: IPPrefix?
    /// nil: to all.
    public var to: IPPrefix?
    public var invert: Bool
    public var priority: UInt32?
    public var tos: UInt8?
    public var fwmark: UInt32?
    public var fwmask: UInt32?
    public var inputInterface: String?
    public var outputInterface: String?
    public var action: RuleAction

    public init(
        family: AddressFamily = .ipv4, from: IPPrefix? = nil, to: IPPrefix? = nil, invert: Bool = false,
        priority: UInt32? = nil, tos: UInt8? = nil, fwmark: UInt32? = nil, fwmask: UInt32? = nil,
        inputInterface: String? = nil, outputInterface: String? = nil, action: RuleAction
    ) {
        self.family = family
        self.from = from
        self.to = to
        self.invert = invert
        self.priority = priority
        self.tos = tos
        self.fwmark = fwmark
        self.fwmask = fwmask
        self.inputInterface = inputInterface
        self.outputInterface = outputInterface
        self.action = action
    }
}

/// The three static blocks together: the daemon adds them before VRRP starts and removes what it added at stop.
public struct StaticNetwork: Hashable, Sendable {
    /// Each with its `dev` (static addresses have no instance interface to fall back on).
    public var addresses: [VirtualAddress]
    public var routes: [VirtualRoute]
    public var rules: [StaticRule]

    public init(addresses: [VirtualAddress] = [], routes: [VirtualRoute] = [], rules: [StaticRule] = []) {
        self.addresses = addresses
        self.routes = routes
        self.rules = rules
    }

    public var isEmpty: Bool { addresses.isEmpty && routes.isEmpty && rules.isEmpty }
}

extension StaticNetwork {
    /// keepalived's RULE_START_PRIORITY: the preference of the first rule written without one.
    static let firstDefaultRulePriority: UInt32 = 16384

    /// Rule options that keepalived 2.2.7 knows and directord does not program (libnl-route has no setter for most).
    static let unsupportedRuleOptions: Set<String> = [
        "realms", "suppress_prefixlength", "sup_pl", "suppress_ifgroup", "sup_group", "uidrange", "l3mdev",
        "protocol", "ipproto", "sport", "dport", "track_group", "tunnel-id",
    ]

    static func parseRule(_ entry: ConfigNode, log: inout DiagnosticLog) -> StaticRule? {
        if entry.block != nil {
            log.error(entry.blockLocation ?? entry.location, "a rule entry does not take a block")
            return nil
        }
        let words = [entry.keyword] + entry.arguments
        var family: (AddressFamily, ConfigWord)?
        var rule = StaticRule(action: .nop)
        var action: (RuleAction, ConfigWord)?
        var i = 0
        func value(_ option: ConfigWord, _ log: inout DiagnosticLog) -> ConfigWord? {
            guard i + 1 < words.count else {
                log.error(option.location, "'\(option.text)' needs a value")
                return nil
            }
            i += 1
            return words[i]
        }
        func setFamily(_ f: AddressFamily, _ word: ConfigWord, _ log: inout DiagnosticLog) -> Bool {
            if let (known, _) = family, known != f {
                log.error(word.location, "rule mixes IPv4 and IPv6 ('\(word.text)')")
                return false
            }
            family = (f, word)
            return true
        }
        func setAction(_ a: RuleAction, _ word: ConfigWord, _ log: inout DiagnosticLog) -> Bool {
            if let (_, first) = action {
                log.error(word.location, "a rule has one action (table, goto, nop, blackhole, unreachable or prohibit); '\(first.text)' came first")
                return false
            }
            action = (a, word)
            return true
        }
        while i < words.count {
            let word = words[i]
            switch word.text {
            case "inet":
                guard setFamily(.ipv4, word, &log) else { return nil }
            case "inet6":
                guard setFamily(.ipv6, word, &log) else { return nil }
            case "from", "to":
                guard let v = value(word, &log) else { return nil }
                if ["all", "any", "default"].contains(v.text) { break }
                guard let p = log.prefix(v, "rule '\(word.text)'"), setFamily(p.address.family, v, &log) else { return nil }
                if word.text == "from" { rule.from = p } else { rule.to = p }
            case "table", "lookup":
                guard let v = value(word, &log), let t = Self.table(v, &log), setAction(.table(t), word, &log) else { return nil }
            case "not":
                rule.invert = true
            case "preference", "priority", "order":
                guard let v = value(word, &log), let n = Self.unsigned(v, UInt64(UInt32.max), "rule '\(word.text)'", &log) else { return nil }
                rule.priority = UInt32(n)
            case "tos", "dsfield":
                guard let v = value(word, &log), let n = Self.unsigned(v, 255, "rule '\(word.text)'", &log) else { return nil }
                rule.tos = UInt8(n)
            case "fwmark":
                guard let v = value(word, &log) else { return nil }
                let parts = v.text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard let mark = Self.unsigned(ConfigWord(parts[0], at: v.location), UInt64(UInt32.max), "rule 'fwmark'", &log)
                else { return nil }
                rule.fwmark = UInt32(mark)
                if parts.count == 2 {
                    guard let mask = Self.unsigned(ConfigWord(parts[1], at: v.location), UInt64(UInt32.max), "rule 'fwmark' mask", &log)
                    else { return nil }
                    rule.fwmask = UInt32(mask)
                }
            case "iif", "dev":
                guard let v = value(word, &log) else { return nil }
                rule.inputInterface = v.text
            case "oif":
                guard let v = value(word, &log) else { return nil }
                rule.outputInterface = v.text
            case "no_track":
                // Static rules are never tracked: accepted, as keepalived accepts it.
                break
            case "type":
                guard let v = value(word, &log) else { return nil }
                guard let a = Self.namedAction(v.text) else {
                    log.error(v.location, "rule type must be nop, blackhole, unreachable or prohibit, not '\(v.text)'")
                    return nil
                }
                guard setAction(a, v, &log) else { return nil }
            case "goto":
                guard let v = value(word, &log), let n = Self.unsigned(v, UInt64(UInt32.max), "rule 'goto'", &log),
                    setAction(.goto(UInt32(n)), word, &log)
                else { return nil }
            default:
                if let a = Self.namedAction(word.text) {
                    guard setAction(a, word, &log) else { return nil }
                } else if Self.unsupportedRuleOptions.contains(word.text) {
                    log.error(word.location, "rule option '\(word.text)' is not supported by directord")
                    return nil
                } else {
                    log.error(word.location, "unknown rule option '\(word.text)'; expected [not] [from P] [to P] [tos T] [fwmark M[/MASK]] [iif IF] [oif IF] [preference N] and table N, goto N, nop, blackhole, unreachable or prohibit")
                    return nil
                }
            }
            i += 1
        }
        guard let (chosen, actionWord) = action else {
            log.error(entry.location, "rule has no action (table N, goto N, nop, blackhole, unreachable or prohibit)")
            return nil
        }
        if case .goto(let target) = chosen {
            guard let priority = rule.priority else {
                log.error(actionWord.location, "a 'goto' rule needs a 'preference' (before its target \(target))")
                return nil
            }
            guard priority < target else {
                log.error(actionWord.location, "'goto \(target)' must jump forward, past the rule's preference \(priority)")
                return nil
            }
        }
        rule.action = chosen
        rule.family = family?.0 ?? .ipv4
        return rule
    }

    static func namedAction(_ text: String) -> RuleAction? {
        switch text {
        case "nop": .nop
        case "blackhole": .blackhole
        case "unreachable": .unreachable
        case "prohibit": .prohibit
        default: nil
        }
    }

    /// A table by number or by iproute2's reserved names (directord does not read /etc/iproute2/rt_tables).
    static func table(_ word: ConfigWord, _ log: inout DiagnosticLog) -> UInt32? {
        switch word.text {
        case "main": return 254
        case "local": return 255
        case "default": return 253
        default:
            guard let n = unsigned(word, UInt64(UInt32.max), "rule table (a number, main, local or default)", &log) else { return nil }
            guard n != 0 else {
                log.error(word.location, "table 0 is not a table")
                return nil
            }
            return UInt32(n)
        }
    }

    /// Decimal or 0x-hexadecimal, as ip(8) reads marks and tos values.
    static func unsigned(_ word: ConfigWord, _ maximum: UInt64, _ what: String, _ log: inout DiagnosticLog) -> UInt64? {
        let text = word.text.lowercased()
        let parsed: UInt64? = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16)
            : text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) ? UInt64(text) : nil
        guard let parsed, parsed <= maximum else {
            log.error(word.location, "\(what) must be a number in 0..\(maximum) (decimal or 0x hex), not '\(word.text)'")
            return nil
        }
        return parsed
    }
}
