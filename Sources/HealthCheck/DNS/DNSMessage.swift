// DNS_CHECK's wire format (RFC 1035 section 4): the query it sends and a decoder for answers that trusts nothing —
// every count, length and compression pointer is checked against the datagram. Pure: no sockets here.

/// A record type by its wire value; DNS_CHECK asks for the ones keepalived 2.2.7 knows.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)

    private static let names: [UInt16: String] = [1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 15: "MX", 16: "TXT", 28: "AAAA"]
    public var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }
}

/// A domain name as labels; compared without regard to ASCII case (RFC 4343).
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    public let labels: [[UInt8]]

    static let maxWireLength = 255

    init(labels: [[UInt8]]) { self.labels = labels }

    /// "." is the root; a trailing dot is allowed. Nil for an empty label, a label over 63 bytes or a name over 255.
    public init?(_ text: String) {
        if text == "." {
            labels = []
            return
        }
        let trimmed = text.hasSuffix(".") ? Substring(text.dropLast()) : Substring(text)
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        guard !parts.isEmpty, parts.allSatisfy({ (1...63).contains($0.count) }) else { return nil }
        labels = parts
        guard wireLength <= Self.maxWireLength else { return nil }
    }

    var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    func sameName(as other: DNSName) -> Bool {
        guard labels.count == other.labels.count else { return false }
        return zip(labels, other.labels).allSatisfy { a, b in
            a.count == b.count && zip(a, b).allSatisfy { Self.lower($0) == Self.lower($1) }
        }
    }

    private static func lower(_ c: UInt8) -> UInt8 { (65...90).contains(c) ? c + 32 : c }

    public var description: String {
        labels.isEmpty ? "." : labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
    }
}

/// The one question DNS_CHECK asks: class IN, recursion desired (as keepalived sends it).
public struct DNSQuery: Sendable, Hashable {
    public var id: UInt16
    public var name: DNSName
    public var type: DNSRecordType

    public init(id: UInt16, name: DNSName, type: DNSRecordType) {
        self.id = id
        self.name = name
        self.type = type
    }

    static let classIN: UInt16 = 1

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + name.wireLength + 4)
        bytes.appendBigEndian(id)
        bytes.appendBigEndian(0x0100)  // QR=0, opcode QUERY, RD=1
        bytes.appendBigEndian(1)  // QDCOUNT
        bytes.appendBigEndian(0)
        bytes.appendBigEndian(0)
        bytes.appendBigEndian(0)
        for label in name.labels {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        bytes.appendBigEndian(type.rawValue)
        bytes.appendBigEndian(Self.classIN)
        return bytes
    }

    /// What a datagram that arrived on the query's socket means for the check.
    public enum Verdict: Sendable, Hashable {
        /// An answer to this query with a record of the type asked.
        case up
        /// An answer to this query that says the real cannot serve it.
        case down(String)
        /// Not an answer to this query (another ID, not a response, another question): keep waiting.
        case stray(String)
    }

    public func judge(_ datagram: [UInt8]) -> Verdict {
        let response: DNSResponse
        do {
            response = try DNSResponse(decoding: datagram)
        } catch {
            // Without a whole header there is no ID to tie it to this query.
            if datagram.count < 12 { return .stray("a \(datagram.count)-byte datagram") }
            let id = UInt16(datagram[0]) << 8 | UInt16(datagram[1])
            guard id == self.id, datagram[2] & 0x80 != 0 else { return .stray("undecodable datagram (\(error))") }
            return .down("malformed answer: \(error)")
        }
        guard response.id == id else { return .stray("answer with ID \(response.id), expected \(id)") }
        guard response.isResponse else { return .stray("a query, not an answer") }
        guard response.questions.count == 1, let q = response.questions.first, q.name.sameName(as: name), q.type == type,
              q.class == Self.classIN
        else { return .stray("answer to another question") }
        guard response.rcode == 0 else { return .down("rcode \(DNSResponse.rcodeName(response.rcode))") }
        guard response.answers.contains(where: { $0.type == type && $0.class == Self.classIN }) else {
            return .down(response.truncated ? "truncated answer (TC) without a \(type) record" : "no \(type) record in the answer")
        }
        return .up
    }
}

public enum DNSDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    case truncated(at: Int)
    case badLabel(at: Int)
    case pointerLoop(at: Int)
    case nameTooLong(at: Int)

    public var description: String {
        switch self {
        case .truncated(let at): "ends early at byte \(at)"
        case .badLabel(let at): "bad label type at byte \(at)"
        case .pointerLoop(let at): "compression pointer at byte \(at) does not point backwards"
        case .nameTooLong(let at): "name at byte \(at) longer than 255 bytes"
        }
    }
}

/// The parts of a response that DNS_CHECK judges. Decoding stops at the answer section: authority and additional
/// records are not needed, so a lie in their counts costs nothing.
public struct DNSResponse: Sendable, Hashable {
    public struct Question: Sendable, Hashable {
        public var name: DNSName
        public var type: DNSRecordType
        public var `class`: UInt16
    }

    public struct Record: Sendable, Hashable {
        public var name: DNSName
        public var type: DNSRecordType
        public var `class`: UInt16
        public var data: ArraySlice<UInt8>
    }

    public var id: UInt16
    public var flags: UInt16
    public var questions: [Question]
    public var answers: [Record]

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var truncated: Bool { flags & 0x0200 != 0 }
    public var rcode: UInt16 { flags & 0x000F }

    static func rcodeName(_ rcode: UInt16) -> String {
        let names: [UInt16: String] = [1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"]
        return names[rcode].map { "\(rcode) (\($0))" } ?? "\(rcode)"
    }

    public init(decoding bytes: [UInt8]) throws(DNSDecodeError) {
        var reader = DNSReader(bytes: bytes)
        id = try reader.u16()
        flags = try reader.u16()
        let qdcount = Int(try reader.u16())
        let ancount = Int(try reader.u16())
        _ = try reader.u16()
        _ = try reader.u16()
        // Counts come from the peer: each entry takes at least 5 (question) or 11 (record) bytes, so a count the
        // datagram cannot hold fails as truncated after at most bytes/5 steps, never allocating by the count.
        questions = []
        for _ in 0..<qdcount {
            let name = try reader.name()
            questions.append(Question(name: name, type: DNSRecordType(rawValue: try reader.u16()), class: try reader.u16()))
        }
        answers = []
        for _ in 0..<ancount {
            let name = try reader.name()
            let type = DNSRecordType(rawValue: try reader.u16())
            let cls = try reader.u16()
            _ = try reader.u32()
            let length = Int(try reader.u16())
            answers.append(Record(name: name, type: type, class: cls, data: try reader.take(length)))
        }
    }
}

struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func take(_ count: Int) throws(DNSDecodeError) -> ArraySlice<UInt8> {
        guard count <= bytes.count - offset else { throw .truncated(at: bytes.count) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u16() throws(DNSDecodeError) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }

    mutating func u32() throws(DNSDecodeError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    /// A name at the current offset, following compression pointers (RFC 1035 4.1.4). Each pointer must point
    /// strictly before the one that led to it, so the walk ends; the name's length is bounded at 255.
    mutating func name() throws(DNSDecodeError) -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1
        var position = offset
        var limit = offset  // a pointer must point below this
        var jumped = false
        while true {
            guard position < bytes.count else { throw .truncated(at: bytes.count) }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                if byte == 0 {
                    if !jumped { offset = position + 1 }
                    return DNSName(labels: labels)
                }
                let count = Int(byte)
                guard position + 1 + count <= bytes.count else { throw .truncated(at: bytes.count) }
                length += 1 + count
                guard length <= DNSName.maxWireLength else { throw .nameTooLong(at: offset) }
                labels.append(Array(bytes[position + 1...position + count]))
                position += 1 + count
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated(at: bytes.count) }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < limit, target < position else { throw .pointerLoop(at: position) }
                if !jumped {
                    offset = position + 2
                    jumped = true
                }
                limit = target
                position = target
            default:
                throw .badLabel(at: position)
            }
        }
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
