/// Netlink attributes (struct nlattr): a 4-byte header {len, type} in host order, payload padded to 4 bytes.
enum NLA {
    static let headerLength = 4
    static let nested: UInt16 = 0x8000
    static let netByteOrder: UInt16 = 0x4000
    static let typeMask: UInt16 = 0x3FFF

    static func align(_ n: Int) -> Int { (n + 3) & ~3 }
}

/// Appends attributes to a byte buffer. Integers are host order unless the name says `BE` (IPVS ports, IPv4 masks).
/// Everything is written straight into `bytes`: a start programs tens of thousands of messages, and temporary
/// arrays per attribute were most of the encoding cost.
struct NetlinkAttributeWriter {
    var bytes: [UInt8] = []

    mutating func put(_ type: UInt16, _ payload: [UInt8]) {
        let length = NLA.headerLength + payload.count
        appendHost(UInt16(length))
        appendHost(type)
        bytes.append(contentsOf: payload)
        pad(length)
    }

    mutating func putU8(_ type: UInt16, _ value: UInt8) { putInteger(type, value) }
    mutating func putU16(_ type: UInt16, _ value: UInt16) { putInteger(type, value) }
    mutating func putU32(_ type: UInt16, _ value: UInt32) { putInteger(type, value) }
    mutating func putU64(_ type: UInt16, _ value: UInt64) { putInteger(type, value) }
    mutating func putBE16(_ type: UInt16, _ value: UInt16) { putInteger(type, value.bigEndian) }
    mutating func putBE32(_ type: UInt16, _ value: UInt32) { putInteger(type, value.bigEndian) }

    /// NUL-terminated string (the kernel's NLA_NUL_STRING / NLA_STRING both accept it).
    mutating func putString(_ type: UInt16, _ value: String) {
        let utf8 = value.utf8
        let length = NLA.headerLength + utf8.count + 1
        appendHost(UInt16(length))
        appendHost(type)
        bytes.append(contentsOf: utf8)
        bytes.append(0)
        pad(length)
    }

    /// `payload` followed by zeros up to `size` bytes (fixed-size unions such as nf_inet_addr).
    mutating func putZeroExtended(_ type: UInt16, _ payload: [UInt8], size: Int) {
        let length = NLA.headerLength + max(size, payload.count)
        appendHost(UInt16(length))
        appendHost(type)
        bytes.append(contentsOf: payload)
        for _ in payload.count..<max(size, payload.count) { bytes.append(0) }
        pad(length)
    }

    mutating func putNested(_ type: UInt16, _ build: (inout NetlinkAttributeWriter) -> Void) {
        let start = bytes.count
        appendHost(UInt16(0))
        appendHost(type | NLA.nested)
        build(&self)
        // Inner attributes are padded, so the nest needs none; its length is known only now.
        setHost(UInt16(bytes.count - start), at: start)
    }

    mutating func putInteger<T: FixedWidthInteger>(_ type: UInt16, _ value: T) {
        let length = NLA.headerLength + MemoryLayout<T>.size
        appendHost(UInt16(length))
        appendHost(type)
        appendHost(value)
        pad(length)
    }

    mutating func appendHost<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites bytes already written (a length known only after the contents).
    mutating func setHost<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value) { raw in
            for (i, b) in raw.enumerated() { bytes[offset + i] = b }
        }
    }

    private mutating func pad(_ length: Int) {
        for _ in length..<NLA.align(length) { bytes.append(0) }
    }
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
/// A table read decodes three levels per destination; a flat array indexed by type (types are small) instead of a
/// dictionary keeps that to one allocation per level.
struct NetlinkAttributes {
    private let bytes: ArraySlice<UInt8>
    private var slots: [Range<Int>?] = []

    /// `context` names what is being parsed, for error messages.
    init(parsing bytes: ArraySlice<UInt8>, context: String) throws {
        self.bytes = bytes
        // Two walks: the first validates and finds the highest type, the second fills the slots.
        var highest = -1
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
            highest = max(highest, Int(type & NLA.typeMask))
            offset += NLA.align(len)
        }
        guard highest >= 0 else { return }
        slots = [Range<Int>?](repeating: nil, count: highest + 1)
        offset = bytes.startIndex
        while offset + NLA.headerLength <= bytes.endIndex {
            let at = offset - bytes.startIndex
            guard let length = readHost(UInt16.self, bytes, at: at), let type = readHost(UInt16.self, bytes, at: at + 2) else { break }
            slots[Int(type & NLA.typeMask)] = (offset + NLA.headerLength)..<(offset + Int(length))
            offset += NLA.align(Int(length))
        }
    }

    subscript(_ type: UInt16) -> ArraySlice<UInt8>? {
        let t = Int(type & NLA.typeMask)
        guard t < slots.count, let range = slots[t] else { return nil }
        return bytes[range]
    }

    func u8(_ type: UInt16, _ context: String) throws -> UInt8? { try integer(UInt8.self, type, context) }
    func u16(_ type: UInt16, _ context: String) throws -> UInt16? { try integer(UInt16.self, type, context) }
    func u32(_ type: UInt16, _ context: String) throws -> UInt32? { try integer(UInt32.self, type, context) }
    func u64(_ type: UInt16, _ context: String) throws -> UInt64? { try integer(UInt64.self, type, context) }
    func be16(_ type: UInt16, _ context: String) throws -> UInt16? { try integer(UInt16.self, type, context).map { UInt16(bigEndian: $0) } }

    /// Up to the first NUL; the kernel pads names to fixed buffers.
    func string(_ type: UInt16) -> String? {
        guard let payload = self[type] else { return nil }
        let end = payload.firstIndex(of: 0) ?? payload.endIndex
        return String(decoding: payload[payload.startIndex..<end], as: UTF8.self)
    }

    func nested(_ type: UInt16, _ context: String) throws -> NetlinkAttributes? {
        guard let payload = self[type] else { return nil }
        return try NetlinkAttributes(parsing: payload, context: context)
    }

    private func integer<T: FixedWidthInteger>(_ t: T.Type, _ type: UInt16, _ context: String) throws -> T? {
        guard let payload = self[type] else { return nil }
        guard payload.count >= MemoryLayout<T>.size, let value = readHost(T.self, payload, at: 0) else {
            throw IPVSError.malformed("\(context): attribute \(type) has \(payload.count) bytes, expected \(MemoryLayout<T>.size)")
        }
        return value
    }
}
