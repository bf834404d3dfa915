/// Netlink attributes (struct nlattr): a 4-byte header {len, type} in host order, payload padded to 4 bytes.
enum NLA {
    static let headerLength = 4
    static let nested: UInt16 = 0x8000
    static let netByteOrder: UInt16 = 0x4000
    static let typeMask: UInt16 = 0x3FFF

    static func align(_ n: Int) -> Int { (n + 3) & ~3 }
}

/// Appends attributes to a byte buffer. Integers are host order unless the name says `BE` (IPVS ports, IPv4 masks).
struct NetlinkAttributeWriter {
    var bytes: [UInt8] = []

    mutating func put(_ type: UInt16, _ payload: [UInt8]) {
        let length = NLA.headerLength + payload.count
        appendHost(UInt16(length))
        appendHost(type)
        bytes.append(contentsOf: payload)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: NLA.align(length) - length))
    }

    mutating func putU8(_ type: UInt16, _ value: UInt8) { put(type, [value]) }
    mutating func putU16(_ type: UInt16, _ value: UInt16) { put(type, hostBytes(value)) }
    mutating func putU32(_ type: UInt16, _ value: UInt32) { put(type, hostBytes(value)) }
    mutating func putU64(_ type: UInt16, _ value: UInt64) { put(type, hostBytes(value)) }
    mutating func putBE16(_ type: UInt16, _ value: UInt16) { put(type, hostBytes(value.bigEndian)) }
    mutating func putBE32(_ type: UInt16, _ value: UInt32) { put(type, hostBytes(value.bigEndian)) }

    /// NUL-terminated string (the kernel's NLA_NUL_STRING / NLA_STRING both accept it).
    mutating func putString(_ type: UInt16, _ value: String) { put(type, Array(value.utf8) + [0]) }

    mutating func putNested(_ type: UInt16, _ build: (inout NetlinkAttributeWriter) -> Void) {
        var inner = NetlinkAttributeWriter()
        build(&inner)
        put(type | NLA.nested, inner.bytes)
    }

    private mutating func appendHost<T: FixedWidthInteger>(_ value: T) { bytes.append(contentsOf: hostBytes(value)) }
}

func hostBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value) { Array($0) }
}

/// Reads a host-order integer at an offset of a byte collection; nil when the bytes are short.
func readHost<T: FixedWidthInteger>(_ type: T.Type, _ bytes: ArraySlice<UInt8>, at offset: Int) -> T? {
    let start = bytes.startIndex + offset
    let size = MemoryLayout<T>.size
    guard offset >= 0, start + size <= bytes.endIndex else { return nil }
    var value: T = 0
    withUnsafeMutableBytes(of: &value) { raw in
        for i in 0..<size { raw[i] = bytes[start + i] }
    }
    return value
}

/// The attributes of one nesting level, indexed by type (the last one wins, as in the kernel's nla_parse).
struct NetlinkAttributes {
    private(set) var payloads: [UInt16: ArraySlice<UInt8>] = [:]

    /// `context` names what is being parsed, for error messages.
    init(parsing bytes: ArraySlice<UInt8>, context: String) throws {
        var offset = bytes.startIndex
        while offset + NLA.headerLength <= bytes.endIndex {
            let slice = bytes[offset...]
            guard let length = readHost(UInt16.self, slice, at: 0), let type = readHost(UInt16.self, slice, at: 2) else {
                throw IPVSError.malformed("\(context): truncated attribute header")
            }
            let len = Int(length)
            guard len >= NLA.headerLength, offset + len <= bytes.endIndex else {
                throw IPVSError.malformed("\(context): attribute \(type & NLA.typeMask) claims \(len) bytes")
            }
            payloads[type & NLA.typeMask] = bytes[(offset + NLA.headerLength)..<(offset + len)]
            offset += NLA.align(len)
        }
    }

    subscript(_ type: UInt16) -> ArraySlice<UInt8>? { payloads[type] }

    func u8(_ type: UInt16, _ context: String) throws -> UInt8? { try integer(UInt8.self, type, context) }
    func u16(_ type: UInt16, _ context: String) throws -> UInt16? { try integer(UInt16.self, type, context) }
    func u32(_ type: UInt16, _ context: String) throws -> UInt32? { try integer(UInt32.self, type, context) }
    func u64(_ type: UInt16, _ context: String) throws -> UInt64? { try integer(UInt64.self, type, context) }
    func be16(_ type: UInt16, _ context: String) throws -> UInt16? { try integer(UInt16.self, type, context).map { UInt16(bigEndian: $0) } }

    /// Up to the first NUL; the kernel pads names to fixed buffers.
    func string(_ type: UInt16) -> String? {
        guard let payload = payloads[type] else { return nil }
        let end = payload.firstIndex(of: 0) ?? payload.endIndex
        return String(decoding: payload[payload.startIndex..<end], as: UTF8.self)
    }

    func nested(_ type: UInt16, _ context: String) throws -> NetlinkAttributes? {
        guard let payload = payloads[type] else { return nil }
        return try NetlinkAttributes(parsing: payload, context: context)
    }

    private func integer<T: FixedWidthInteger>(_ t: T.Type, _ type: UInt16, _ context: String) throws -> T? {
        guard let payload = payloads[type] else { return nil }
        guard payload.count >= MemoryLayout<T>.size, let value = readHost(T.self, payload, at: 0) else {
            throw IPVSError.malformed("\(context): attribute \(type) has \(payload.count) bytes, expected \(MemoryLayout<T>.size)")
        }
        return value
    }
}
