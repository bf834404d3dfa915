// `status_code 200 300-399 503`: the statuses that pass; keepalived's default is 200-299.
public struct StatusCodeSet: Sendable, Hashable, CustomStringConvertible {
    public let ranges: [ClosedRange<Int>]

    public static let success = StatusCodeSet(uncheckedRanges: [200...299])

    /// keepalived's HTTP_STATUS_CODE_MIN...MAX, the bounds the configuration's `status_code` keyword checks too.
    public static let valid = 100...599

    public init(_ ranges: [ClosedRange<Int>]) throws(CheckDefinitionError) {
        for r in ranges where !Self.valid.contains(r.lowerBound) || !Self.valid.contains(r.upperBound) {
            throw .invalidStatusCode("\(r.lowerBound)-\(r.upperBound)")
        }
        self.ranges = ranges.isEmpty ? StatusCodeSet.success.ranges : ranges
    }

    /// Parses keepalived's words: `200`, `200-299`.
    public init(words: [String]) throws(CheckDefinitionError) {
        var ranges: [ClosedRange<Int>] = []
        for word in words {
            let parts = word.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 1 || parts.count == 2,
                  let low = Int(parts[0]), let high = Int(parts.last ?? parts[0]), low <= high
            else { throw .invalidStatusCode(word) }
            ranges.append(low...high)
        }
        try self.init(ranges)
    }

    private init(uncheckedRanges: [ClosedRange<Int>]) { self.ranges = uncheckedRanges }

    public func contains(_ status: Int) -> Bool { ranges.contains { $0.contains(status) } }

    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: " ")
    }
}
