/// Netlink message framing: struct nlmsghdr (16 bytes, host order), then for generic netlink a genlmsghdr
/// {cmd, version, reserved}, then attributes. Messages in one buffer are each padded to 4 bytes.
enum NLM {
    static let headerLength = 16
    static let genlHeaderLength = 4

    static let request: UInt16 = 0x1
    static let multi: UInt16 = 0x2
    static let ack: UInt16 = 0x4
    static let dump: UInt16 = 0x300
    /// On NLMSG_ERROR: the original request was not echoed in full (NETLINK_CAP_ACK).
    static let capped: UInt16 = 0x100
    /// On NLMSG_ERROR: extended-ack attributes follow.
    static let ackTLVs: UInt16 = 0x200

    static let noop: UInt16 = 1
    static let error: UInt16 = 2
    static let done: UInt16 = 3
    static let overrun: UInt16 = 4

    /// struct nlmsgerr attribute carrying the kernel's human-readable reason.
    static let extackMessage: UInt16 = 1
}

/// One parsed message from the kernel.
enum NetlinkReply: Equatable {
    /// A generic netlink data message (a dump entry or a GET answer).
    case data(seq: UInt32, command: UInt8, attributes: ArraySlice<UInt8>)
    /// End of a dump; a nonzero `error` is a negative errno the dump ended with.
    case done(seq: UInt32, error: Int32)
    /// NLMSG_ERROR with 0: the positive acknowledgement of a request with NLM_F_ACK.
    case ack(seq: UInt32)
    /// NLMSG_ERROR with a negative errno (stored positive here) and the extended-ack text if any.
    case failure(seq: UInt32, errno: Int32, message: String?)

    var seq: UInt32 {
        switch self {
        case .data(let seq, _, _), .done(let seq, _), .ack(let seq), .failure(let seq, _, _): seq
        }
    }
}

enum NetlinkCodec {
    /// A complete generic netlink request.
    static func request(
        family: UInt16, command: UInt8, version: UInt8 = 1, flags: UInt16, seq: UInt32, portID: UInt32 = 0,
        attributes: [UInt8]
    ) -> [UInt8] {
        let length = NLM.headerLength + NLM.genlHeaderLength + attributes.count
        var out: [UInt8] = []
        out.reserveCapacity(length)
        out += hostBytes(UInt32(length))
        out += hostBytes(family)
        out += hostBytes(flags)
        out += hostBytes(seq)
        out += hostBytes(portID)
        out += [command, version, 0, 0]
        out += attributes
        return out
    }

    /// Appends a complete generic netlink request to `buffer` (a datagram being filled), its attributes written in
    /// place by `build`.
    static func appendRequest(
        to buffer: inout [UInt8], family: UInt16, command: UInt8, version: UInt8 = 1, flags: UInt16, seq: UInt32,
        portID: UInt32 = 0, attributes build: (inout NetlinkAttributeWriter) -> Void
    ) {
        var w = NetlinkAttributeWriter()
        swap(&w.bytes, &buffer)
        defer { swap(&w.bytes, &buffer) }
        let start = w.bytes.count
        w.appendHost(UInt32(0))
        w.appendHost(family)
        w.appendHost(flags)
        w.appendHost(seq)
        w.appendHost(portID)
        w.bytes.append(command)
        w.bytes.append(version)
        w.bytes.append(0)
        w.bytes.append(0)
        build(&w)
        w.setHost(UInt32(w.bytes.count - start), at: start)
    }

    /// Splits a datagram into messages. Generic netlink messages of other types carry `genlmsghdr`.
    static func parse(_ buffer: ArraySlice<UInt8>) throws -> [NetlinkReply] {
        var replies: [NetlinkReply] = []
        var offset = buffer.startIndex
        while offset + NLM.headerLength <= buffer.endIndex {
            let rest = buffer[offset...]
            guard let length32 = readHost(UInt32.self, rest, at: 0),
                let type = readHost(UInt16.self, rest, at: 4),
                let flags = readHost(UInt16.self, rest, at: 6),
                let seq = readHost(UInt32.self, rest, at: 8)
            else { throw IPVSError.malformed("truncated netlink header") }
            let length = Int(length32)
            guard length >= NLM.headerLength, offset + length <= buffer.endIndex else {
                throw IPVSError.malformed("netlink message of \(length) bytes in a buffer of \(buffer.endIndex - offset)")
            }
            let payload = buffer[(offset + NLM.headerLength)..<(offset + length)]
            switch type {
            case NLM.noop:
                break
            case NLM.overrun:
                throw IPVSError.malformed("netlink overrun")
            case NLM.done:
                // The payload is an int: 0, or the negative errno a dump stopped with.
                let code = readHost(Int32.self, payload, at: 0) ?? 0
                replies.append(.done(seq: seq, error: code < 0 ? -code : code))
            case NLM.error:
                guard let code = readHost(Int32.self, payload, at: 0) else {
                    throw IPVSError.malformed("NLMSG_ERROR without an error code")
                }
                if code == 0 {
                    replies.append(.ack(seq: seq))
                } else {
                    replies.append(.failure(seq: seq, errno: -code, message: extackMessage(payload, flags: flags)))
                }
            default:
                guard payload.count >= NLM.genlHeaderLength else {
                    throw IPVSError.malformed("generic netlink message without a genl header")
                }
                let command = payload[payload.startIndex]
                replies.append(.data(seq: seq, command: command, attributes: payload.dropFirst(NLM.genlHeaderLength)))
            }
            offset += NLA.align(length)
        }
        return replies
    }

    /// The NLMSGERR_ATTR_MSG text after the echoed request (full or capped to its header).
    private static func extackMessage(_ payload: ArraySlice<UInt8>, flags: UInt16) -> String? {
        guard flags & NLM.ackTLVs != 0 else { return nil }
        var skip = 4 + NLM.headerLength
        if flags & NLM.capped == 0, let echoed = readHost(UInt32.self, payload, at: 4) {
            skip = 4 + NLA.align(Int(echoed))
        }
        guard payload.count > skip,
            let attrs = try? NetlinkAttributes(parsing: payload.dropFirst(skip), context: "extended ack")
        else { return nil }
        return attrs.string(NLM.extackMessage)
    }
}
