// MISC_CHECK and FILE_CHECK as plain values, and the pure rules that turn an exit status or a file's bytes into a
// verdict with keepalived 2.2.7's meaning (check_misc.c, check_file.c, trackers/track_file.c).

/// A verdict's say on the real's weight; nil in a result means the configured weight.
public enum DynamicWeight: Sendable, Hashable, CustomStringConvertible {
    /// misc_dynamic: the real's weight becomes this (keepalived: exit status - 2).
    case set(Int)
    /// FILE_CHECK: this is added to the configured weight (keepalived: value × weight).
    case offset(Int)

    public var description: String {
        switch self {
        case .set(let w): "weight \(w)"
        case .offset(let w): "weight \(w >= 0 ? "+" : "")\(w)"
        }
    }
}

/// MISC_CHECK: a program whose exit status is the verdict.
public struct MiscCheck: Sendable, Hashable {
    /// The command line (run without a shell when it has no shell syntax).
    public var command: String
    /// The user to run it as; nil: directord's own identity.
    public var user: String?
    /// The group to run it with; nil: the user's primary group.
    public var group: String?
    /// Killed with its whole process group past this.
    public var timeout: Duration
    /// misc_dynamic: exit status 2..255 is up at weight status - 2.
    public var dynamic: Bool
    /// Set when enable_script_security refuses the script: it never runs and the check answers down.
    public var refusal: String?

    public init(command: String, user: String? = nil, group: String? = nil, timeout: Duration, dynamic: Bool = false,
                refusal: String? = nil) {
        self.command = command
        self.user = user
        self.group = group
        self.timeout = timeout
        self.dynamic = dynamic
        self.refusal = refusal
    }
}

/// How a check script ended, as the checker sees it.
public enum ScriptExit: Sendable, Hashable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut
    case failedToStart(String)
}

extension MiscCheck {
    /// keepalived's mapping: 0 up at the configured weight; with misc_dynamic 2..255 up at status - 2 (0..253);
    /// any other status, a signal or the timeout is down.
    public static func result(of exit: ScriptExit, dynamic: Bool) -> CheckResult {
        switch exit {
        case .exited(0):
            return .up
        case .exited(let status) where dynamic && (2...255).contains(status):
            return .up(weight: .set(Int(status) - 2))
        case .exited(let status):
            return .down(.scriptFailed("exited with status \(status)"))
        case .signalled(let signal):
            return .down(.scriptFailed("killed by signal \(signal)"))
        case .timedOut:
            return .down(.scriptFailed("timed out and was killed"))
        case .failedToStart(let why):
            return .down(.scriptFailed("could not start: \(why)"))
        }
    }
}

/// FILE_CHECK: a number in a file, times a weight.
public struct FileCheck: Sendable, Hashable {
    public var path: String
    /// 0: a non-zero value is down (with `reverse`, zero is down). Else value × weight is added to the real's weight.
    public var weight: Int
    public var reverse: Bool

    /// keepalived reads at most this much of the file.
    public static let readLimit = 127

    public init(path: String, weight: Int = 1, reverse: Bool = false) {
        self.path = path
        self.weight = weight
        self.reverse = reverse
    }

    /// The verdict for a value read from the file (keepalived's update_track_file_status and
    /// process_update_checker_track_file_status): weight 0 is a switch; otherwise value × weight (negated by
    /// reverse), clamped to 32 bits, at or below -2^31 is down and anything else is an offset to the real's weight.
    public func result(for value: Int64) -> CheckResult {
        if weight == 0 {
            let failing = (value != 0) != reverse
            return failing ? .down(.fileFault(value: value)) : .up(weight: .offset(0))
        }
        let multiplier = Int64(min(max(weight, -Int(Int32.max)), Int(Int32.max))) * (reverse ? -1 : 1)
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        let signNegative = (value < 0) != ((weight < 0) != reverse)
        let clamped = overflow ? (signNegative ? Int64(Int32.min) : Int64(Int32.max))
                               : min(max(product, Int64(Int32.min)), Int64(Int32.max))
        if clamped <= Int64(Int32.min) { return .down(.fileFault(value: value)) }
        return .up(weight: .offset(Int(clamped)))
    }

    /// The number in the file as keepalived reads it: strtol with base 0 (leading white space, a sign, 0x hex,
    /// leading-0 octal) over the first `readLimit` bytes, stopping at the first byte that is not a digit. Nothing
    /// readable is 0. nil: out of range (below -2^31 or above 2^31, or too long for 64 bits), which keepalived
    /// logs and ignores, keeping the previous value.
    public static func parseValue(_ bytes: some Collection<UInt8>) -> Int64? {
        var rest = bytes.prefix(readLimit)[...]
        while let b = rest.first, b == 0x20 || (0x09...0x0D).contains(b) { rest = rest.dropFirst() }
        var negative = false
        if let b = rest.first, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
            negative = b == UInt8(ascii: "-")
            rest = rest.dropFirst()
        }
        var base: Int64 = 10
        if rest.first == UInt8(ascii: "0") {
            let afterZero = rest.dropFirst()
            if let x = afterZero.first, x == UInt8(ascii: "x") || x == UInt8(ascii: "X"),
               let h = afterZero.dropFirst().first, digit(h, base: 16) != nil {
                base = 16
                rest = afterZero.dropFirst()
            } else {
                base = 8
            }
        }
        var magnitude: Int64 = 0
        for b in rest {
            guard let d = digit(b, base: base) else { break }
            let (times, o1) = magnitude.multipliedReportingOverflow(by: base)
            let (plus, o2) = times.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            magnitude = plus
        }
        let value = negative ? -magnitude : magnitude
        guard value >= Int64(Int32.min), value <= Int64(Int32.max) + 1 else { return nil }
        return value
    }

    private static func digit(_ b: UInt8, base: Int64) -> Int64? {
        let d: Int64
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = Int64(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = Int64(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = Int64(b - UInt8(ascii: "A")) + 10
        default: return nil
        }
        return d < base ? d : nil
    }
}
