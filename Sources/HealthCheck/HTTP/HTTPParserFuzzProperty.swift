// What the HTTP response parser must hold for any bytes (libFuzzer's target, Tests/Fuzz/HTTPFuzz, and the unit test
// that replays its corpus): it ends without crashing, every body range lies inside the bytes fed, and the outcome is
// the same whether the bytes come at once or cut at any points (here: in pieces whose sizes the input's own bytes
// choose), as reads from a socket cut them.
public enum HTTPParserFuzzProperty {
    /// The outcome of parsing `bytes` fed in pieces of the given sizes (cycled), then the end of the connection.
    struct Outcome: Equatable {
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var ended = false
        var error: HTTPResponseError?
    }

    static func parse(_ bytes: [UInt8], pieces: [Int], maxHeaderBytes: Int) -> (Outcome, violation: String?) {
        var parser = HTTPResponseParser(maxHeaderBytes: maxHeaderBytes)
        var outcome = Outcome()
        var start = 0
        var piece = 0
        do throws(HTTPResponseError) {
            while start < bytes.count, !parser.isComplete {
                let size = max(1, pieces.isEmpty ? bytes.count : pieces[piece % pieces.count])
                piece += 1
                let end = min(bytes.count, start + size)
                let chunk = Array(bytes[start..<end])
                start = end
                var offset = 0
                var events = 0
                let failure: HTTPResponseError? = chunk.withUnsafeBytes { input in
                    do throws(HTTPResponseError) {
                        while let event = try parser.next(input, offset: &offset) {
                            events += 1
                            switch event {
                            case .head(let head): outcome.head = head
                            case .body(let range):
                                guard range.lowerBound >= 0, range.upperBound <= input.count else {
                                    return .malformed("range \(range) outside \(input.count) bytes")
                                }
                                outcome.body.append(contentsOf: input[range])
                            case .end: outcome.ended = true
                            }
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { throw failure }
                if events > chunk.count + 4 { return (outcome, "\(events) events from \(chunk.count) bytes") }
                if offset > chunk.count { return (outcome, "offset \(offset) past \(chunk.count) bytes") }
            }
            if !parser.isComplete, let event = try parser.finish(), event == .end { outcome.ended = true }
        } catch {
            outcome.error = error
        }
        return (outcome, nil)
    }

    /// nil when the property holds for `bytes`, else what broke.
    public static func check(_ bytes: [UInt8]) -> String? {
        // The first byte picks the head cap (small caps reach the cap's paths), the next few the piece sizes.
        let cap = 16 + Int(bytes.first ?? 0) * 8
        let whole = parse(bytes, pieces: [], maxHeaderBytes: cap)
        if let violation = whole.violation { return violation }
        let sizes = bytes.prefix(5).map { Int($0 % 7) + 1 }
        for pieces in [[1], sizes] {
            let cut = parse(bytes, pieces: pieces, maxHeaderBytes: cap)
            if let violation = cut.violation { return violation }
            guard cut.0 == whole.0 else { return "fed in pieces of \(pieces) it parsed as \(cut.0), whole as \(whole.0)" }
        }
        if whole.0.body.count > bytes.count { return "more body bytes than input" }
        return nil
    }
}
