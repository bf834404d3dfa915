// HTTP_GET's `regex`: a PCRE2 pattern compiled once and matched against each response body (the one place that
// calls libpcre2; its code pointer lives in a final class freed in deinit).
import CPCRE2

/// A compiled pattern. Matching is thread-safe (each match has its own match data).
public final class BodyRegex: @unchecked Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    public let options: UInt32
    private let code: OpaquePointer

    /// Compiles `pattern` with PCRE2 `options`; throws the library's message and the offset it points at.
    public init(pattern: String, options: UInt32 = 0) throws(CheckDefinitionError) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { buffer in
            pcre2_compile_8(buffer.baseAddress, buffer.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else { throw .invalidOption(Self.message(errorCode, pattern: pattern, offset: errorOffset)) }
        self.pattern = pattern
        self.options = options
        self.code = compiled
    }

    deinit { pcre2_code_free_8(code) }

    static func message(_ code: Int32, pattern: String, offset: Int) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        let text = length > 0 ? String(decoding: buffer.prefix(Int(length)), as: UTF8.self) : "error \(code)"
        return "invalid regex '\(pattern)' at offset \(offset): \(text)"
    }

    /// Where the first match starting at or after `from` begins, or nil (no match, or PCRE2 gave up: a match limit
    /// or bad UTF-8 under `utf` counts as no match, as in keepalived).
    public func firstMatch(in subject: [UInt8], from: Int = 0) -> Int? {
        guard from <= subject.count, let data = pcre2_match_data_create_from_pattern_8(code, nil) else { return nil }
        defer { pcre2_match_data_free_8(data) }
        let rc = subject.withUnsafeBufferPointer { buffer in
            // A zero-length subject still needs a valid pointer.
            pcre2_match_8(code, buffer.baseAddress ?? UnsafePointer(bitPattern: 1), buffer.count, from, 0, data, nil)
        }
        guard rc >= 0, let vector = pcre2_get_ovector_pointer_8(data) else { return nil }
        return vector[0]
    }

    public static func == (a: BodyRegex, b: BodyRegex) -> Bool { a.pattern == b.pattern && a.options == b.options }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(pattern)
        hasher.combine(options)
    }
    public var description: String { "/\(pattern)/" }
}

/// One url's `regex` with keepalived's modifiers: the body must (or, with `noMatch`, must not) contain a match
/// that starts between `minOffset` and `maxOffset` (inclusive).
public struct URLRegexCheck: Sendable, Hashable {
    public var regex: BodyRegex
    public var noMatch: Bool
    public var minOffset: Int
    public var maxOffset: Int?

    public init(regex: BodyRegex, noMatch: Bool = false, minOffset: Int = 0, maxOffset: Int? = nil) {
        self.regex = regex
        self.noMatch = noMatch
        self.minOffset = minOffset
        self.maxOffset = maxOffset
    }

    /// keepalived takes the first match from `minOffset` on, and counts it only when it starts by `maxOffset`.
    public func matches(_ body: [UInt8]) -> Bool {
        guard let start = regex.firstMatch(in: body, from: min(minOffset, body.count)), minOffset <= body.count else { return false }
        return maxOffset.map { start <= $0 } ?? true
    }

    /// nil when the body passes, else why not.
    public func judge(_ body: [UInt8]) -> String? {
        let matched = matches(body)
        if matched == noMatch {
            return noMatch ? "body matches \(regex) (regex_no_match)" : "body does not match \(regex)"
        }
        return nil
    }
}
