// The HTTP/1 response parser of HTTP_GET and SSL_GET: the status line, the header fields, and the body's framing
// (Content-Length, chunked, or to the end of the connection), under a cap on the head's size. Incremental and
// zero-copy: bytes are fed as they arrive, the head is buffered (it is small and capped), the body is returned as
// ranges of the caller's bytes for the digest. It parses as strictly as llhttp (NIOHTTP1's parser, which the tests
// hold it against): CRLF line ends, no obsolete line folding, one Content-Length, never beside Transfer-Encoding.

/// A header field as received (name in its case, value without the surrounding whitespace).
public struct HTTPHeaderField: Sendable, Hashable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct HTTPResponseHead: Sendable, Hashable {
    public var major: Int
    public var minor: Int
    public var status: Int
    public var reason: String
    public var headers: [HTTPHeaderField]
    /// The body arrives in chunks (Transfer-Encoding ends with chunked).
    public var chunked: Bool

    public var version: String { "HTTP/\(major).\(minor)" }
}

/// Why a response could not be read.
public enum HTTPResponseError: Error, Hashable, Sendable {
    /// The status line and headers together passed the cap.
    case headersTooLarge(limit: Int)
    case malformed(String)
    /// The connection ended before the head did.
    case closedInHead
    /// The connection ended before the body's framing said it would.
    case closedInBody
}

public enum HTTPResponseEvent: Hashable, Sendable {
    case head(HTTPResponseHead)
    /// Body bytes (chunk framing removed): this range of the bytes just fed.
    case body(Range<Int>)
    case end
}

public struct HTTPResponseParser: Sendable {
    private enum State: Sendable {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        /// The response is whole; `.end` is the next event.
        case ending
        case done
    }

    public let maxHeaderBytes: Int
    private var state = State.head
    /// The head (or a chunk-size line, a chunk's CRLF, the trailers) as collected so far across feeds.
    private var buffer: [UInt8] = []
    /// Bytes of the head and of any informational heads before it, against the cap.
    private var headBytes = 0
    /// How much of "\r\n\r\n" (head, trailers) or "\r\n" (a line) the buffer ends with.
    private var matched = 0

    /// Longest chunk-size line accepted (the size and its extensions).
    static let maxChunkLine = 4096

    public init(maxHeaderBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
    }

    /// The response has been read to its end.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Whether the head has been read.
    public var inBody: Bool {
        switch state {
        case .head: false
        default: true
        }
    }

    /// The next event from `input` starting at `offset`, which moves past what it used; nil when `input` is used
    /// up without one. Bytes after the end of the response are left alone.
    public mutating func next(_ input: UnsafeRawBufferPointer, offset: inout Int) throws(HTTPResponseError) -> HTTPResponseEvent? {
        while true {
            switch state {
            case .done:
                return nil
            case .ending:
                state = .done
                return .end
            case .head:
                // Empty lines before a status line are skipped, as llhttp skips them.
                while buffer.isEmpty, offset < input.count, input[offset] == 13 || input[offset] == 10 { offset += 1 }
                guard collect(input, &offset, until: 4, cap: maxHeaderBytes - headBytes) else {
                    if buffer.count > maxHeaderBytes - headBytes { throw .headersTooLarge(limit: maxHeaderBytes) }
                    return nil
                }
                headBytes += buffer.count
                let head = try Self.parseHead(buffer)
                buffer.removeAll(keepingCapacity: true)
                if (100...199).contains(head.status), head.status != 101 {
                    // 1xx heads are interim: the final response follows. Their fields are judged all the same.
                    _ = try Self.framing(of: head)
                    continue
                }
                var final = head
                state = try Self.framing(of: head)
                if case .chunkSize = state { final.chunked = true }
                return .head(final)
            case .fixed(let remaining):
                guard let (range, left) = Self.take(remaining, of: input, at: &offset) else { return nil }
                state = left == 0 ? .ending : .fixed(remaining: left)
                return .body(range)
            case .untilClose:
                guard offset < input.count else { return nil }
                let range = offset..<input.count
                offset = input.count
                return .body(range)
            case .chunkData(let remaining):
                guard let (range, left) = Self.take(remaining, of: input, at: &offset) else { return nil }
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                return .body(range)
            case .chunkSize:
                guard collect(input, &offset, until: 2, cap: Self.maxChunkLine) else {
                    if buffer.count > Self.maxChunkLine { throw .malformed("chunk-size line longer than \(Self.maxChunkLine) bytes") }
                    return nil
                }
                let size = try Self.parseChunkSize(buffer.dropLast(2))
                buffer.removeAll(keepingCapacity: true)
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkDataEnd:
                guard collect(input, &offset, until: 2, cap: 2) else {
                    if buffer.count > 2 || (buffer.count == 2 && buffer != [13, 10]) || (buffer.count == 1 && buffer[0] != 13) {
                        throw .malformed("chunk data not followed by CRLF")
                    }
                    return nil
                }
                guard buffer.count == 2 else { throw .malformed("chunk data not followed by CRLF") }
                buffer.removeAll(keepingCapacity: true)
                state = .chunkSize
            case .trailers:
                // Trailer fields, then an empty line: the first CRLF may end an empty trailer section at once.
                if buffer.isEmpty, matched == 0 { matched = 2 }
                guard collect(input, &offset, until: 4, cap: maxHeaderBytes) else {
                    if buffer.count > maxHeaderBytes { throw .headersTooLarge(limit: maxHeaderBytes) }
                    return nil
                }
                try Self.forEachLine(buffer) { line throws(HTTPResponseError) in
                    if !line.isEmpty { _ = try Self.parseField(line) }
                }
                buffer.removeAll(keepingCapacity: true)
                state = .ending
            }
        }
    }

    /// Up to `remaining` body bytes from `offset`, and how many are still to come; nil when `input` is used up.
    private static func take(_ remaining: Int, of input: UnsafeRawBufferPointer, at offset: inout Int) -> (Range<Int>, left: Int)? {
        guard offset < input.count else { return nil }
        let n = min(remaining, input.count - offset)
        defer { offset += n }
        return (offset..<offset + n, remaining - n)
    }

    /// The connection ended: the last event, or why the response is incomplete.
    public mutating func finish() throws(HTTPResponseError) -> HTTPResponseEvent? {
        switch state {
        case .done: return nil
        case .ending, .untilClose:
            state = .done
            return .end
        case .head: throw .closedInHead
        case .fixed, .chunkSize, .chunkData, .chunkDataEnd, .trailers: throw .closedInBody
        }
    }

    /// Appends input to `buffer` up to and including the terminator: `until` 4 is "\r\n\r\n", 2 is "\r\n". True
    /// when it was found. Stops early (false) once the buffer holds more than `cap` bytes.
    private mutating func collect(_ input: UnsafeRawBufferPointer, _ offset: inout Int, until length: Int, cap: Int) -> Bool {
        let start = offset
        var found = false
        var index = offset
        while index < input.count {
            let byte = input[index]
            index += 1
            // The terminator is CR LF (CR LF): position `matched` wants CR when even, LF when odd.
            if byte == (matched % 2 == 0 ? 13 : 10) {
                matched += 1
            } else {
                matched = byte == 13 ? 1 : 0
            }
            if matched == length {
                found = true
                break
            }
            if buffer.count + (index - start) > cap { break }
        }
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<index]))
        offset = index
        if found { matched = 0 }
        return found
    }

    // MARK: The head

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// Field values and reason phrases: HTAB, SP, visible ASCII and obs-text.
    private static func isTextByte(_ b: UInt8) -> Bool {
        b == 9 || (b >= 0x20 && b != 0x7F)
    }

    /// Splits at CRLF and hands each line to `body` (no array of them: this runs for every check); a CR or LF
    /// anywhere else is malformed. The last CRLF(s) end the final lines.
    private static func forEachLine(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>) throws(HTTPResponseError) -> Void)
        throws(HTTPResponseError)
    {
        var start = 0
        var index = 0
        while index < bytes.count {
            let b = bytes[index]
            if b == 13 {
                guard index + 1 < bytes.count, bytes[index + 1] == 10 else { throw .malformed("CR without LF") }
                try body(bytes[start..<index])
                index += 2
                start = index
                continue
            }
            if b == 10 { throw .malformed("LF without CR") }
            index += 1
        }
        if start < bytes.count { try body(bytes[start...]) }
    }

    static func parseHead(_ bytes: [UInt8]) throws(HTTPResponseError) -> HTTPResponseHead {
        var head: HTTPResponseHead?
        try forEachLine(bytes) { line throws(HTTPResponseError) in
            guard head != nil else {
                head = try parseStatusLine(line)
                head?.headers.reserveCapacity(8)
                return
            }
            guard !line.isEmpty else { return }
            let field = try parseField(line)
            // After its digits a Content-Length may have spaces only (llhttp refuses a tab there too).
            if Self.is(field.name, "content-length"), let last = line.last(where: { $0 != 32 }), last == 9 {
                throw .malformed("invalid Content-Length (a tab after the digits)")
            }
            head?.headers.append(field)
        }
        guard let head else { throw .malformed("no status line") }
        return head
    }

    /// `HTTP/1.1 200 OK`: the version (1.0 or 1.1), three digits, and an optional reason after a space.
    static func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPResponseError) -> HTTPResponseHead {
        // Indexed from 0 without copying the slice.
        let origin = line.startIndex, count = line.count
        func byte(_ i: Int) -> UInt8 { line[origin + i] }
        func digit(_ i: Int) -> Int? {
            guard i < count, (48...57).contains(byte(i)) else { return nil }
            return Int(byte(i) - 48)
        }
        guard count >= 12, line[origin..<origin + 5].elementsEqual("HTTP/".utf8), let major = digit(5),
            byte(6) == UInt8(ascii: "."), let minor = digit(7)
        else { throw .malformed("status line does not start with HTTP/x.y") }
        guard major == 1, minor <= 1 else { throw .malformed("HTTP version \(major).\(minor) is not HTTP/1.0 or 1.1") }
        guard byte(8) == 32, let d1 = digit(9), let d2 = digit(10), let d3 = digit(11) else {
            throw .malformed("status line has no three-digit status code")
        }
        let status = d1 * 100 + d2 * 10 + d3
        var reason = ""
        if count > 12 {
            guard byte(12) == 32 else { throw .malformed("status code not followed by a space") }
            // Shown, never judged: any byte but CR and LF (which `lines` refused), as llhttp takes it.
            reason = String(decoding: line[(origin + 13)...], as: UTF8.self)
        }
        return HTTPResponseHead(major: major, minor: minor, status: status, reason: reason, headers: [], chunked: false)
    }

    static func parseField(_ line: ArraySlice<UInt8>) throws(HTTPResponseError) -> HTTPHeaderField {
        guard let first = line.first else { throw .malformed("empty header line") }
        if first == 32 || first == 9 { throw .malformed("obsolete line folding in the headers") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("header line without a colon") }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            throw .malformed("invalid header name \"\(String(decoding: name.prefix(40), as: UTF8.self))\"")
        }
        var value = line[(colon + 1)...]
        while let b = value.first, b == 32 || b == 9 { value.removeFirst() }
        while let b = value.last, b == 32 || b == 9 { value.removeLast() }
        guard value.allSatisfy(isTextByte) else { throw .malformed("control character in header \(String(decoding: name, as: UTF8.self))") }
        return HTTPHeaderField(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
    }

    private static func asciiLowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Whether `name` is `lowercase` in any case, with no string made (every header of every check is asked).
    private static func `is`(_ name: String, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard name.utf8.count == count else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: count)
        return zip(name.utf8, expected).allSatisfy { (65...90).contains($0) ? $0 + 32 == $1 : $0 == $1 }
    }

    /// RFC 9112 §6.3 for a response to a GET.
    private static func framing(of head: HTTPResponseHead) throws(HTTPResponseError) -> State {
        var lengths = 0
        var lengthText: String?
        var codings: [String] = []
        for field in head.headers {
            if Self.is(field.name, "content-length") {
                lengths += 1
                if lengthText == nil { lengthText = field.value }
            } else if Self.is(field.name, "transfer-encoding") {
                for coding in field.value.split(separator: ",") {
                    codings.append(asciiLowercased(String(coding).trimmingSpaces))
                }
            }
        }
        // The fields are judged even where the status says there is no body, as llhttp judges them.
        if !codings.isEmpty, lengths > 0 { throw .malformed("both Content-Length and Transfer-Encoding") }
        guard lengths <= 1 else { throw .malformed("more than one Content-Length") }
        var length: Int?
        if let text = lengthText {
            guard !text.isEmpty, text.utf8.allSatisfy({ (48...57).contains($0) }), let n = UInt64(text) else {
                throw .malformed("invalid Content-Length \"\(text.prefix(40))\"")
            }
            // Past Int.max it could never be read anyway: the body cap refuses it first.
            length = Int(clamping: n)
        }
        // 101 ends the HTTP exchange (nothing after it is HTTP): the check judges its status like any other.
        if head.status == 204 || head.status == 304 || head.status == 101 { return .ending }
        if !codings.isEmpty { return codings.last == "chunked" ? .chunkSize : .untilClose }
        guard let length else { return .untilClose }
        return length == 0 ? .ending : .fixed(remaining: length)
    }

    /// `1a;name=value`: hexadecimal digits, then extensions (ignored).
    private static func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPResponseError) -> Int {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex {
            let b = line[index]
            let value: Int
            switch b {
            case 48...57: value = Int(b - 48)
            case 97...102: value = Int(b - 87)
            case 65...70: value = Int(b - 55)
            default: value = -1
            }
            guard value >= 0 else { break }
            digits += 1
            guard digits <= 15 else { throw .malformed("chunk size too large") }
            size = size * 16 + value
            index += 1
        }
        guard digits > 0 else { throw .malformed("chunk size is not hexadecimal") }
        try parseChunkExtensions(line[index...])
        return size
    }

    /// `*( ";" token [ "=" ( token / quoted-string ) ] )`, with no whitespace, as llhttp reads them strictly.
    private static func parseChunkExtensions(_ text: ArraySlice<UInt8>) throws(HTTPResponseError) {
        var index = text.startIndex
        func token() -> Bool {
            let start = index
            while index < text.endIndex, isTokenByte(text[index]) { index += 1 }
            return index > start
        }
        while index < text.endIndex {
            guard text[index] == UInt8(ascii: ";") else { throw .malformed("invalid character after the chunk size") }
            index += 1
            guard token() else { throw .malformed("invalid chunk extension name") }
            guard index < text.endIndex, text[index] == UInt8(ascii: "=") else { continue }
            index += 1
            if index < text.endIndex, text[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < text.endIndex {
                    let b = text[index]
                    index += 1
                    if b == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    if b == UInt8(ascii: "\\") {
                        guard index < text.endIndex, isTextByte(text[index]) else { throw .malformed("invalid quoted chunk extension") }
                        index += 1
                    } else if !isTextByte(b) {
                        throw .malformed("control character in a chunk extension")
                    }
                }
                guard closed else { throw .malformed("unterminated quoted chunk extension") }
            } else if !token() {
                throw .malformed("invalid chunk extension value")
            }
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
