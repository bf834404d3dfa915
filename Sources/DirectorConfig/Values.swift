// Typed readers for keyword values; each error names the word and its place.
import Addresses

extension DiagnosticLog {
    mutating func integer(_ word: ConfigWord, _ range: ClosedRange<Int>, _ what: String) -> Int? {
        let text = word.text
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.count <= 18, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let value = Int(text.hasPrefix("+") ? String(digits) : text)
        else {
            error(word.location, "\(what) must be an integer in \(range.lowerBound)..\(range.upperBound), not '\(text)'")
            return nil
        }
        guard range.contains(value) else {
            error(word.location, "\(what) must be in \(range.lowerBound)..\(range.upperBound), not \(value)")
            return nil
        }
        return value
    }

    mutating func port(_ word: ConfigWord, _ what: String = "port") -> UInt16? {
        integer(word, 1...65535, what).map { UInt16($0) }
    }

    /// A real or sorry server's port, where 0 is keepalived's "no port" (the service's, or none on a fwmark):
    /// `.some(nil)` for 0, nil when the word is not a port.
    mutating func serverPort(_ word: ConfigWord, _ what: String) -> UInt16?? {
        integer(word, 0...65535, what).map { $0 == 0 ? nil : UInt16($0) }
    }

    /// keepalived's TIMER: seconds with an optional fraction, resolution microseconds.
    mutating func duration(_ word: ConfigWord, _ range: ClosedRange<Double>, _ what: String) -> Duration? {
        let parts = word.text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        let isDigits: (Substring) -> Bool = { $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard !(whole.isEmpty && fraction.isEmpty), isDigits(whole), isDigits(fraction), whole.count <= 9,
            !(parts.count > 1 && fraction.isEmpty)
        else {
            error(word.location, "\(what) must be a number of seconds such as 3 or 0.5, not '\(word.text)'")
            return nil
        }
        guard fraction.count <= 6 else {
            error(word.location, "\(what) has more than 6 decimals; the resolution is one microsecond")
            return nil
        }
        let seconds = Int64(whole) ?? 0
        let micros = Int64(fraction + String(repeating: "0", count: 6 - fraction.count)) ?? 0
        let value = Duration.seconds(seconds) + .microseconds(micros)
        let total = Double(seconds) + Double(micros) / 1e6
        guard range.contains(total) else {
            error(word.location, "\(what) must be between \(formatSeconds(range.lowerBound)) and \(formatSeconds(range.upperBound)) seconds, not \(word.text)")
            return nil
        }
        return value
    }

    mutating func bool(_ word: ConfigWord, _ what: String) -> Bool? {
        switch word.text.lowercased() {
        case "on", "true", "yes": return true
        case "off", "false", "no": return false
        default:
            error(word.location, "\(what) must be one of on|off|true|false|yes|no, not '\(word.text)'")
            return nil
        }
    }

    /// An optional `<BOOL>` after a flag keyword: absent means on.
    mutating func flag(_ node: ConfigNode) -> Bool? {
        guard let word = node.arguments.first else { return true }
        if word.text == "1" || word.text == "0" {
            // keepalived's check_true_false knows no digits: it reports the value and leaves the setting as it was.
            error(
                word.location,
                "'\(node.name)' takes on|off|true|false|yes|no, not '\(word.text)' (keepalived 2.2.7 rejects it too and leaves '\(node.name)' unchanged); write '\(node.name) \(word.text == "1" ? "on" : "off")'")
            return nil
        }
        return bool(word, "'\(node.name)'")
    }

    /// A flag whose value keepalived ignores (it turns the flag on whatever follows): a value that says off is
    /// refused, since keepalived would run with the flag on.
    mutating func flagIgnoringValue(_ node: ConfigNode) -> Bool? {
        guard let word = node.arguments.first else { return true }
        switch word.text.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0":
            error(word.location, "keepalived 2.2.7 ignores the value of '\(node.name)' here and turns it on; remove the line to leave it off")
            return nil
        default:
            error(word.location, "'\(node.name)' takes no value (keepalived ignores it), not '\(word.text)'")
            return nil
        }
    }

    mutating func address(_ word: ConfigWord, _ what: String) -> IPAddress? {
        switch IPAddress.parse(word.text) {
        case .success(let address): return address
        case .failure(let failure):
            error(word.location, "\(what) '\(word.text)' is not an IP address: \(failure.message)")
            return nil
        }
    }

    mutating func prefix(_ word: ConfigWord, _ what: String) -> IPPrefix? {
        switch IPPrefix.parse(word.text) {
        case .success(let prefix): return prefix
        case .failure(let failure):
            error(word.location, "\(what) '\(word.text)' is not an address or ADDRESS/PREFIX: \(failure.message)")
            return nil
        }
    }

    /// A word from a fixed set, compared without regard to case (keepalived's values are upper-case by habit).
    mutating func choice<T>(_ word: ConfigWord, _ what: String, _ options: [(String, T)]) -> T? {
        if let match = options.first(where: { $0.0.lowercased() == word.text.lowercased() }) { return match.1 }
        var message = "\(what) must be one of \(options.map(\.0).joined(separator: "|")), not '\(word.text)'"
        // Short values ("4" for a version) are not typos of another value.
        if word.text.count >= 3, let suggestion = closestName(to: word.text, among: options.map(\.0), allowing: max(1, word.text.count / 3)) {
            message += "; did you mean '\(suggestion)'?"
        }
        error(word.location, message)
        return nil
    }

    /// A choice keepalived matches case-sensitively (strcmp): a word that matches one only in another case is
    /// refused with the word to write, since keepalived would not take it for that value but `keepalivedDoes`.
    mutating func exactChoice<T>(_ word: ConfigWord, _ what: String, _ options: [(String, T)], keepalivedDoes: String) -> T? {
        if let match = options.first(where: { $0.0 == word.text }) { return match.1 }
        if let near = options.first(where: { $0.0.lowercased() == word.text.lowercased() }) {
            error(word.location, "\(what) '\(word.text)' is not '\(near.0)' to keepalived, which matches it case for case and \(keepalivedDoes); write '\(near.0)'")
            return nil
        }
        return choice(word, what, options)
    }

    /// `COMMAND [USER [GROUP]]`: keepalived's notify form, where a command with arguments is quoted.
    mutating func notifyScript(_ node: ConfigNode) -> NotifyScript? {
        guard let command = node.arguments.first else { return nil }
        if command.text.isEmpty {
            error(command.location, "'\(node.name)' needs a command")
            return nil
        }
        var user: ScriptUser?
        if node.arguments.count > 1 {
            user = ScriptUser(user: node.arguments[1].text, group: node.arguments.count > 2 ? node.arguments[2].text : nil)
        }
        return NotifyScript(command: command.text, user: user)
    }
}

func formatSeconds(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(value)
}

/// Seconds as keepalived writes them: `3`, `0.5`, `0.000001`.
func formatDuration(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let micros = attoseconds / 1_000_000_000_000
    if micros == 0 { return String(seconds) }
    var fraction = String(micros)
    fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(seconds).\(fraction)"
}
