// The HTTP response parser against NIOHTTP1's decoder (llhttp) as the oracle: generated responses, valid and
// broken, cut into random reads; both must read the same response (status, header fields, body) or both must fail.
// 1500 valid and 3000 garbled cases by default; HTTP_DIFF_CASES and HTTP_DIFF_SEED explore further.
import Glibc
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import HealthCheck

/// SplitMix64: the same cases on every run, so a disagreement is reproducible from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What a parser made of a response: a whole one, or a failure.
enum ParsedResponse: Equatable, CustomStringConvertible {
    case response(status: Int, headers: [HTTPHeaderField], body: [UInt8])
    case failed(String)

    var isFailure: Bool {
        if case .failed = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .response(let status, let headers, let body):
            "\(status) \(headers.map { "\($0.name)=\($0.value)" }) body \(body.count) bytes"
        case .failed(let why): "failed: \(why)"
        }
    }
}

enum Oracle {
    /// llhttp keeps a value's trailing whitespace; RFC 9110 §5.5 excludes it from the value, as ours does.
    static func trimmed(_ value: String) -> String {
        var v = Substring(value)
        while let c = v.last, c == " " || c == "\t" { v.removeLast() }
        return String(v)
    }

    /// NIO's decoder as HTTP_GET configured it: interim responses dropped, the head capped.
    static func parse(_ reads: [[UInt8]], maxHeaderBytes: Int) -> ParsedResponse {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = maxHeaderBytes
        limits.maxHeaderListSize = maxHeaderBytes
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPResponseDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
        var head: HealthCheck.HTTPResponseHead?
        var body: [UInt8] = []
        func drain() throws -> ParsedResponse? {
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                switch part {
                case .head(let h):
                    head = HealthCheck.HTTPResponseHead(major: h.version.major, minor: h.version.minor, status: Int(h.status.code),
                                            reason: h.status.reasonPhrase, headers: h.headers.map { HTTPHeaderField(name: $0.name, value: trimmed($0.value)) },
                                            chunked: false)
                case .body(let buffer): body += buffer.readableBytesView
                case .end:
                    guard let head else { return .failed("end without head") }
                    return .response(status: head.status, headers: head.headers, body: body)
                }
            }
            return nil
        }
        do {
            try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
            for read in reads {
                try channel.writeInbound(channel.allocator.buffer(bytes: read))
                if let done = try drain() { return done }
            }
            _ = try? channel.finish()
            channel.pipeline.fireChannelInactive()
            if let done = try drain() { return done }
            return .failed("connection ended first")
        } catch {
            if let done = try? drain() { return done }
            return .failed("\(error)")
        }
    }
}

/// The parser under test, fed the same reads.
func parseWithDirectord(_ reads: [[UInt8]], maxHeaderBytes: Int) -> ParsedResponse {
    var parser = HTTPResponseParser(maxHeaderBytes: maxHeaderBytes)
    var head: HealthCheck.HTTPResponseHead?
    var body: [UInt8] = []
    do throws(HTTPResponseError) {
        for read in reads {
            var offset = 0
            var ended = false
            let failure: HTTPResponseError? = read.withUnsafeBytes { input in
                do throws(HTTPResponseError) {
                    while let event = try parser.next(input, offset: &offset) {
                        switch event {
                        case .head(let h): head = h
                        case .body(let range): body += input[range]
                        case .end: ended = true
                        }
                    }
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
            if ended, let head { return .response(status: head.status, headers: head.headers, body: body) }
        }
        if try parser.finish() == .end, let head { return .response(status: head.status, headers: head.headers, body: body) }
        return .failed("no end")
    } catch {
        return .failed("\(error)")
    }
}

/// Responses as servers send them, and as broken servers and networks garble them.
struct ResponseGenerator {
    var random: SeededRandom

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &random)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    mutating func body() -> [UInt8] {
        let size = pick([0, 1, 5, 17, 200, 1500, 5000])
        return (0..<size).map { _ in pick(Array("abcdefghij \r\n0123456789{}<>".utf8)) }
    }

    mutating func response() -> [UInt8] {
        var text = ""
        if chance(0.1) { text += pick(["HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"]) }
        let status = pick(["200 OK", "200 ", "200", "404 Not Found", "500 Internal Server Error", "204 No Content",
                           "304 Not Modified", "301 Moved Permanently", "503 Service Unavailable", "418 I'm a teapot"])
        text += "\(pick(["HTTP/1.1", "HTTP/1.0"])) \(status)\r\n"
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            let name = pick(["Server", "Date", "X-Thing", "content-type", "Cache-Control", "ETag", "Vary", "Set-Cookie"])
            let value = pick(["nginx", "text/html; charset=utf-8", "", "  padded  ", "a,b,c", "\"etag\"", "x=1; Path=/"])
            text += "\(name):\(pick([" ", "", "\t"]))\(value)\r\n"
        }
        let payload = body()
        var bytes: [UInt8]
        switch pick(["length", "chunked", "close"]) {
        case "length":
            text += "Content-Length: \(payload.count)\r\n\r\n"
            bytes = Array(text.utf8) + payload
        case "chunked":
            text += "Transfer-Encoding: \(pick(["chunked", "Chunked", "gzip, chunked"]))\r\n\r\n"
            bytes = Array(text.utf8)
            var rest = payload[...]
            while !rest.isEmpty {
                let n = min(rest.count, pick([1, 3, 16, 100, 4096]))
                let ext = pick(["", "", ";name=value", ";x"])
                bytes += Array("\(String(n, radix: 16, uppercase: chance(0.5)))\(ext)\r\n".utf8) + rest.prefix(n) + Array("\r\n".utf8)
                rest = rest.dropFirst(n)
            }
            bytes += Array("0\r\n\(chance(0.3) ? "X-Trailer: done\r\n" : "")\r\n".utf8)
        default:
            text += chance(0.5) ? "Connection: close\r\n\r\n" : "\r\n"
            bytes = Array(text.utf8) + payload
        }
        return bytes
    }

    /// One garbling: a byte changed, dropped or inserted, a CR or LF alone, a fold, a truncation.
    mutating func garble(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return bytes }
        var b = bytes
        // Mostly inside the head, where the parsers' rules are.
        let headEnd = min(b.count, (b.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound ?? b.count) + 8)
        let at = Int.random(in: 0..<(chance(0.8) ? headEnd : b.count), using: &random)
        switch Int.random(in: 0..<8, using: &random) {
        case 0: b[at] = UInt8.random(in: 0...255, using: &random)
        case 1: b.remove(at: at)
        case 2: b.insert(pick([13, 10, 0, 32, 9, 58, 0x7F, 0xC3]), at: at)
        case 3: b.insert(contentsOf: Array("\r\n folded".utf8), at: at)
        case 4: b = Array(b.prefix(at))
        case 5: b[at] = pick(Array("0123456789abcdefABCDEF;: \r\n".utf8))
        case 6: b.insert(contentsOf: Array("Content-Length: \(pick(["0", "7", "x", "1,1", "99999999999999999999"]))\r\n".utf8),
                         at: b.firstRange(of: Array("\r\n".utf8))?.upperBound ?? 0)
        default: b.insert(contentsOf: Array("Transfer-Encoding: chunked\r\n".utf8), at: b.firstRange(of: Array("\r\n".utf8))?.upperBound ?? 0)
        }
        return b
    }

    /// Random reads, as the socket delivers them.
    mutating func cut(_ bytes: [UInt8]) -> [[UInt8]] {
        var reads: [[UInt8]] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = min(rest.count, pick([1, 2, 7, 64, 1000, 100_000]))
            reads.append(Array(rest.prefix(n)))
            rest = rest.dropFirst(n)
        }
        return reads
    }
}

@Suite("HTTP response parser against NIOHTTP1")
struct HTTPParserDifferentialTests {
    /// HTTP_DIFF_SEED explores other cases, HTTP_DIFF_CASES more of them (the default ones run in `make check`).
    static func seed(_ fallback: UInt64) -> UInt64 {
        getenv("HTTP_DIFF_SEED").flatMap { UInt64(String(cString: $0)) }.map { $0 &* 1000 &+ fallback } ?? fallback
    }

    static var cases: Int { getenv("HTTP_DIFF_CASES").flatMap { Int(String(cString: $0)) } ?? 1500 }

    /// Where llhttp is not the rule, ours reading the response is right: bytes after a complete response (llhttp
    /// refuses more data after an HTTP/1.0 message; the check has its answer by then and reads no further), and a
    /// status line ended by a bare CR (llhttp takes it; RFC 9112 §2.2 says a bare CR is refused or read as a
    /// space, and ours refuses it), and a tab after "chunked" (llhttp reads the coding as "chunked\t" and the body
    /// to the close; RFC 9110 §5.5 leaves whitespace out of a field's value, and ours reads chunks).
    static func knownDifference(_ ours: ParsedResponse, _ oracle: ParsedResponse, _ bytes: [UInt8]) -> Bool {
        if bytes.firstRange(of: Array("chunked\t".utf8)) != nil || bytes.firstRange(of: Array("Chunked\t".utf8)) != nil { return true }
        if case .failed(let why) = oracle, why.contains("data received after completed connection"), !ours.isFailure { return true }
        if ours.isFailure, let cr = bytes.firstIndex(of: 13), cr + 1 < bytes.count,
            bytes[cr + 1] != 10, !bytes[..<cr].contains(10)
        {
            return true
        }
        return false
    }

    /// The checker's cap is on the whole head (status line and fields, interim heads included), where NIO's limits
    /// are per field and per list: ours refusing a head over the cap is right whatever NIO made of it.
    static func overTheCap(_ ours: ParsedResponse, _ bytes: [UInt8], cap: Int) -> Bool {
        guard case .failed(let why) = ours, why.hasPrefix("headersTooLarge") else { return false }
        // Through the end of the final head (after any interim ones), or all of the bytes if it never ends.
        var start = bytes.prefix { $0 == 13 || $0 == 10 }.count
        var end = bytes.count
        while let range = bytes[start...].firstRange(of: Array("\r\n\r\n".utf8)) {
            let interim = bytes[start...].starts(with: Array("HTTP/1.1 1".utf8)) || bytes[start...].starts(with: Array("HTTP/1.0 1".utf8))
            end = range.upperBound
            guard interim else { break }
            start = range.upperBound
            end = bytes.count
        }
        return end > cap
    }

    @Test func validResponsesReadTheSame() async {
        var generator = ResponseGenerator(random: SeededRandom(state: Self.seed(1)))
        var agreed = 0
        let count = Self.cases
        for index in 0..<count {
            // Synchronous work holds a thread of the test pool: let the other tests run between cases.
            if index % 50 == 0 { await Task.yield() }
            let bytes = generator.response()
            let reads = generator.cut(bytes)
            let oracle = Oracle.parse(reads, maxHeaderBytes: 8192)
            let ours = parseWithDirectord(reads, maxHeaderBytes: 8192)
            #expect(!oracle.isFailure, "case \(index): the oracle refused a valid response: \(oracle)\n\(String(decoding: bytes.prefix(300), as: UTF8.self))")
            guard ours == oracle else {
                Issue.record("case \(index): ours \(ours), NIO \(oracle)\n\(String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription)")
                continue
            }
            agreed += 1
        }
        #expect(agreed == count)
    }

    @Test func garbledResponsesFailTogetherOrReadTheSame() async {
        var generator = ResponseGenerator(random: SeededRandom(state: Self.seed(2)))
        var disagreements: [String] = []
        var failed = 0
        let count = Self.cases * 2
        for index in 0..<count {
            if index % 50 == 0 { await Task.yield() }
            var bytes = generator.response()
            for _ in 0..<Int.random(in: 1...2, using: &generator.random) { bytes = generator.garble(bytes) }
            let reads = generator.cut(bytes)
            let maxHeaderBytes = generator.pick([64, 200, 8192])
            let oracle = Oracle.parse(reads, maxHeaderBytes: 8192)
            let ours = parseWithDirectord(reads, maxHeaderBytes: maxHeaderBytes)
            if oracle.isFailure { failed += 1 }
            let agree = oracle.isFailure ? ours.isFailure : ours == oracle || Self.overTheCap(ours, bytes, cap: maxHeaderBytes)
            let explained = !agree && Self.knownDifference(ours, oracle, bytes)
            if !agree, !explained, disagreements.count < 10 {
                disagreements.append("case \(index): ours \(ours), NIO \(oracle)\n\(String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
        // The garbling must break a fair share, or the test proves little.
        #expect(failed > count / 4)
    }
}
