import Testing
@testable import IPVS

@Suite struct CodecTests {
    @Test func addServiceRequestBytes() {
        let key = IPVSServiceKey.address(.tcp, .ipv4(10, 0, 0, 1), port: 80)
        let bytes = IPVSCodec.request(.addService(IPVSService(key: key, scheduler: "rr")), family: 0x1c, seq: 7)
        let expected: [UInt8] = [
            // nlmsghdr: len 104, type 0x1c, flags REQUEST|ACK, seq 7, pid 0
            104, 0, 0, 0, 0x1c, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0,
            // genlmsghdr: NEW_SERVICE, version 1
            1, 1, 0, 0,
            // IPVS_CMD_ATTR_SERVICE, nested, 84 bytes
            84, 0, 1, 0x80,
            6, 0, 1, 0, 2, 0, 0, 0,  // AF_INET
            6, 0, 2, 0, 6, 0, 0, 0,  // TCP
            20, 0, 3, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // addr, 16 bytes
            6, 0, 4, 0, 0, 80, 0, 0,  // port, network order
            7, 0, 6, 0, 0x72, 0x72, 0, 0,  // "rr\0"
            12, 0, 7, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,  // flags {0, ~0}
            8, 0, 8, 0, 0, 0, 0, 0,  // timeout
            8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff,  // netmask
        ]
        #expect(bytes == expected)
    }
}

/// Byte-level helpers for building kernel replies in tests.
enum Bytes {
    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { (i: UInt32) -> UInt8 in UInt8((v >> (8 * i)) & 0xFF) } }
    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { (i: UInt64) -> UInt8 in UInt8((v >> (8 * i)) & 0xFF) } }
    static func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let len = 4 + payload.count
        let padding = [UInt8](repeating: 0, count: (4 - len % 4) % 4)
        var out: [UInt8] = u16(UInt16(len))
        out += u16(type)
        out += payload
        out += padding
        return out
    }
    static func nested(_ type: UInt16, _ children: [[UInt8]]) -> [UInt8] {
        let body: [UInt8] = children.reduce(into: []) { $0 += $1 }
        return attr(type | 0x8000, body)
    }
    static func message(type: UInt16, flags: UInt16, seq: UInt32, command: UInt8, _ attrs: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = [command, 1, 0, 0]
        for a in attrs { body += a }
        var out: [UInt8] = u32(UInt32(16 + body.count))
        out += u16(type)
        out += u16(flags)
        out += u32(seq)
        out += u32(0)
        out += body
        return out
    }
    static func header(length: Int, type: UInt16, flags: UInt16, seq: UInt32) -> [UInt8] {
        var out: [UInt8] = u32(UInt32(length))
        out += u16(type)
        out += u16(flags)
        out += u32(seq)
        out += u32(0)
        return out
    }
    static func ack(seq: UInt32, errno: Int32 = 0) -> [UInt8] {
        var out = header(length: 36, type: 2, flags: 0x100, seq: seq)
        out += u32(UInt32(bitPattern: -errno))
        out += header(length: 20, type: 0x1c, flags: 5, seq: seq)
        return out
    }
    static func done(seq: UInt32, error: Int32 = 0) -> [UInt8] {
        header(length: 20, type: 3, flags: 2, seq: seq) + u32(UInt32(bitPattern: error))
    }
}

@Suite struct CodecRequestTests {
    @Test func destinationRequestsCarryServiceKeyAndDestination() {
        let key = IPVSServiceKey.firewallMark(9, family: .ipv6)
        let d = IPVSDestination(address: IPAddress("2001:db8::5")!, port: 443, forwarding: .masquerade, weight: 7,
                                upperThreshold: 1000, lowerThreshold: 10)
        let bytes = IPVSCodec.request(.addDestination(key, d), family: 0x20, seq: 0x01020304)
        var expected: [UInt8] = Bytes.header(length: 16 + 4 + 20 + 72, type: 0x20, flags: 5, seq: 0x01020304)
        expected += [5, 1, 0, 0]
        expected += Bytes.nested(1, [Bytes.attr(1, Bytes.u16(10)), Bytes.attr(5, Bytes.u32(9))])
        expected += Bytes.nested(2, [
                Bytes.attr(1, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]),
                Bytes.attr(2, [0x01, 0xbb]),  // 443, network order
                Bytes.attr(11, Bytes.u16(10)),
                Bytes.attr(3, Bytes.u32(0)),
                Bytes.attr(4, Bytes.u32(7)),
                Bytes.attr(5, Bytes.u32(1000)),
                Bytes.attr(6, Bytes.u32(10)),
            ])
        #expect(bytes == expected)
    }

    @Test func deleteDestinationSendsOnlyTheEndpoint() {
        let key = IPVSServiceKey.address(.udp, .ipv4(10, 0, 0, 1), port: 53)
        let bytes = IPVSCodec.request(.deleteDestination(key, Endpoint(address: .ipv4(10, 0, 1, 1), port: 53)), family: 0x20, seq: 1)
        #expect(bytes[16] == 7)  // DEL_DEST
        let attrs = Array(bytes[20...])
        let zeros = [UInt8](repeating: 0, count: 12)
        var expected = Bytes.nested(1, [Bytes.attr(1, Bytes.u16(2)), Bytes.attr(2, Bytes.u16(17)),
                                        Bytes.attr(3, [10, 0, 0, 1] + zeros), Bytes.attr(4, [0, 53])])
        expected += Bytes.nested(2, [Bytes.attr(1, [10, 0, 1, 1] + zeros), Bytes.attr(2, [0, 53]), Bytes.attr(11, Bytes.u16(2))])
        #expect(attrs == expected)
    }

    @Test func serviceEncodingStripsHashedAndKeepsIPv6PrefixInHostOrder() throws {
        let s = IPVSService(key: .address(.sctp, IPAddress("::1")!, port: 1), scheduler: "mh",
                            flags: [.hashed, .persistent, .mhPort], timeout: 60, netmask: 64, persistenceEngine: "sip")
        var w = NetlinkAttributeWriter()
        IPVSCodec.putService(s, into: &w)
        let a = try NetlinkAttributes(parsing: w.bytes[...], context: "test")
        #expect(Array(a[IPVSAttr.svcFlags] ?? []) == Bytes.u32(0x11) + Bytes.u32(0xFFFF_FFFF))
        #expect(Array(a[IPVSAttr.svcNetmask] ?? []) == Bytes.u32(64))
        #expect(a.string(IPVSAttr.svcPEName) == "sip")
        #expect(Array(a[IPVSAttr.svcPEName] ?? []) == Array("sip".utf8) + [0])
        // And IPv4 masks travel in network order.
        #expect(IPVSCodec.netmaskBytes(0xFFFF_FF00, family: .ipv4) == [0xFF, 0xFF, 0xFF, 0x00])
    }

    @Test func requestFlagsAndCommands() {
        let dump = IPVSCodec.dumpServices(family: 0x30, seq: 2)
        #expect(Array(dump[4..<8]) == [0x30, 0, 0x01, 0x03])  // REQUEST | DUMP
        #expect(dump[16] == 4 && dump[17] == 1)
        #expect(IPVSCodec.getInfo(family: 0x30, seq: 2)[16] == 15)
        #expect(Array(IPVSCodec.flush(family: 0x30, seq: 2)[6..<8]) == [5, 0])
        let config = IPVSCodec.setConfig(IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300), family: 0x30, seq: 3)
        #expect(Array(config[16...]) == [12, 1, 0, 0] + Bytes.attr(4, Bytes.u32(900)) + Bytes.attr(5, Bytes.u32(120)) + Bytes.attr(6, Bytes.u32(300)))
        let zeroAll = IPVSCodec.zero(nil, family: 0x30, seq: 3)
        #expect(zeroAll.count == 20 && zeroAll[16] == 16)
    }

    @Test func daemonRequests() {
        let d = IPVSSyncDaemon(state: .backup, interface: "eth0", syncID: 3, maxLength: 1400, group: .ipv4(239, 1, 1, 1), port: 9000, ttl: 2)
        let start = IPVSCodec.startDaemon(d, family: 0x30, seq: 1)
        #expect(start[16] == 9)
        #expect(Array(start[20...]) == Bytes.nested(3, [
            Bytes.attr(1, Bytes.u32(2)), Bytes.attr(2, Array("eth0".utf8) + [0]), Bytes.attr(3, Bytes.u32(3)),
            Bytes.attr(4, Bytes.u16(1400)), Bytes.attr(5, [239, 1, 1, 1]), Bytes.attr(7, Bytes.u16(9000)), Bytes.attr(8, [2]),
        ]))
        let minimal = IPVSCodec.startDaemon(IPVSSyncDaemon(state: .master, interface: "lo"), family: 0x30, seq: 1)
        #expect(Array(minimal[20...]) == Bytes.nested(3, [Bytes.attr(1, Bytes.u32(1)), Bytes.attr(2, Array("lo".utf8) + [0]), Bytes.attr(3, Bytes.u32(0))]))
        let stop = IPVSCodec.stopDaemon(.master, family: 0x30, seq: 1)
        #expect(stop[16] == 10 && Array(stop[20...]) == Bytes.nested(3, [Bytes.attr(1, Bytes.u32(1))]))
    }
}

@Suite struct CodecReplyTests {
    static func serviceDumpEntry(seq: UInt32) -> [UInt8] {
        Bytes.message(type: 0x1c, flags: 2, seq: seq, command: 1, [
            Bytes.nested(1, [
                Bytes.attr(1, Bytes.u16(2)), Bytes.attr(2, Bytes.u16(6)),
                Bytes.attr(3, [10, 0, 0, 1] + [UInt8](repeating: 0, count: 12)), Bytes.attr(4, [0x1f, 0x90]),
                Bytes.attr(6, Array("wrr".utf8) + [0]), Bytes.attr(7, Bytes.u32(3) + Bytes.u32(0xFFFF_FFFF)),
                Bytes.attr(8, Bytes.u32(300)), Bytes.attr(9, [255, 255, 0, 0]),
                Bytes.nested(10, [Bytes.attr(1, Bytes.u32(1)), Bytes.attr(4, Bytes.u64(5))]),
                // STATS64 with the kernel's PAD attribute before a 64-bit value
                Bytes.nested(12, [Bytes.attr(11, []), Bytes.attr(1, Bytes.u64(0x1_0000_0002)), Bytes.attr(11, []),
                                  Bytes.attr(4, Bytes.u64(77)), Bytes.attr(10, Bytes.u64(9))]),
            ]),
        ])
    }

    @Test func decodesServiceDumpEntryPreferringStats64() throws {
        let replies = try NetlinkCodec.parse(Self.serviceDumpEntry(seq: 9)[...])
        guard case .data(let seq, let command, let attrs) = replies.first else {
            Issue.record("no data message")
            return
        }
        #expect(seq == 9 && command == 1)
        let e = try IPVSCodec.decodeServiceMessage(attrs)
        #expect(e.service.key == .address(.tcp, .ipv4(10, 0, 0, 1), port: 8080))
        #expect(e.service.scheduler == "wrr")
        #expect(e.service.flags == [.persistent, .hashed])
        #expect(e.service.timeout == 300 && e.service.netmask == 0xFFFF_0000 && e.service.persistenceEngine == nil)
        #expect(e.stats.connections == 0x1_0000_0002 && e.stats.inBytes == 77 && e.stats.outByteRate == 9)
    }

    @Test func decodesDestinationWith32BitStatsAndDaemonAndInfo() throws {
        let dest = Bytes.message(type: 0x1c, flags: 2, seq: 4, command: 5, [
            Bytes.nested(2, [
                Bytes.attr(1, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]), Bytes.attr(2, [0, 80]),
                Bytes.attr(3, Bytes.u32(0x103)), Bytes.attr(4, Bytes.u32(UInt32(bitPattern: -2))),
                Bytes.attr(5, Bytes.u32(10)), Bytes.attr(6, Bytes.u32(5)), Bytes.attr(7, Bytes.u32(3)),
                Bytes.attr(8, Bytes.u32(4)), Bytes.attr(9, Bytes.u32(6)),
                Bytes.nested(10, [Bytes.attr(1, Bytes.u32(11)), Bytes.attr(5, Bytes.u64(1 << 40)), Bytes.attr(6, Bytes.u32(2))]),
            ]),
        ])
        guard case .data(_, _, let attrs) = try NetlinkCodec.parse(dest[...]).first else {
            Issue.record("no data")
            return
        }
        let d = try IPVSCodec.decodeDestinationMessage(attrs, serviceFamily: .ipv6)
        #expect(d.destination.address == IPAddress("2001:db8::1"))
        #expect(d.destination.port == 80 && d.destination.forwarding == .route && d.destination.weight == -2)
        #expect(d.destination.upperThreshold == 10 && d.destination.lowerThreshold == 5)
        #expect(d.activeConnections == 3 && d.inactiveConnections == 4 && d.persistentConnections == 6)
        #expect(d.stats.connections == 11 && d.stats.outBytes == 1 << 40 && d.stats.connectionRate == 2)

        let daemon = Bytes.message(type: 0x1c, flags: 2, seq: 4, command: 9, [
            Bytes.nested(3, [Bytes.attr(1, Bytes.u32(1)), Bytes.attr(2, Array("eth0".utf8) + [0, 0, 0]), Bytes.attr(3, Bytes.u32(5)),
                             Bytes.attr(4, Bytes.u16(1472)), Bytes.attr(7, Bytes.u16(8848)), Bytes.attr(8, [1]),
                             Bytes.attr(6, [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [0x81])]),
        ])
        guard case .data(_, _, let dattrs) = try NetlinkCodec.parse(daemon[...]).first else {
            Issue.record("no data")
            return
        }
        #expect(try IPVSCodec.decodeDaemonMessage(dattrs) == IPVSSyncDaemon(
            state: .master, interface: "eth0", syncID: 5, maxLength: 1472, group: IPAddress("ff02::81"), port: 8848, ttl: 1))

        let info = Bytes.message(type: 0x1c, flags: 0, seq: 4, command: 14, [Bytes.attr(1, Bytes.u32(0x010201)), Bytes.attr(2, Bytes.u32(4096))])
        guard case .data(_, _, let iattrs) = try NetlinkCodec.parse(info[...]).first else {
            Issue.record("no data")
            return
        }
        let decoded = try IPVSCodec.decodeInfo(iattrs)
        #expect(decoded.versionString == "1.2.1" && decoded.connectionTableSize == 4096)
    }

    @Test func parsesMultipartDatagramWithAcksErrorsAndDone() throws {
        // An error ack with NLM_F_ACK_TLVS | NLM_F_CAPPED and an extended-ack message.
        let echoed = Bytes.header(length: 20, type: 0x1c, flags: 5, seq: 8)
        let tlv = Bytes.attr(1, Array("no such scheduler".utf8) + [0])
        var err = Bytes.header(length: 16 + 4 + 16 + tlv.count, type: 2, flags: 0x300, seq: 8)
        err += Bytes.u32(UInt32(bitPattern: -2))
        err += echoed
        err += tlv
        var datagram = Self.serviceDumpEntry(seq: 7)
        datagram += Bytes.ack(seq: 6)
        datagram += err
        datagram += Bytes.done(seq: 7)
        datagram += Bytes.done(seq: 9, error: -1)
        let replies = try NetlinkCodec.parse(datagram[...])
        #expect(replies.count == 5)
        #expect(replies[1] == .ack(seq: 6))
        #expect(replies[2] == .failure(seq: 8, errno: 2, message: "no such scheduler"))
        #expect(replies[3] == .done(seq: 7, error: 0))
        #expect(replies[4] == .done(seq: 9, error: 1))
    }

    @Test func rejectsMalformedInput() {
        // A message claiming more bytes than the datagram has.
        #expect(throws: IPVSError.self) { try NetlinkCodec.parse((Bytes.u32(64) + [UInt8](repeating: 0, count: 20))[...]) }
        // An attribute claiming more bytes than its parent.
        #expect(throws: IPVSError.self) { try NetlinkAttributes(parsing: (Bytes.u16(40) + Bytes.u16(1) + [0, 0, 0, 0])[...], context: "t") }
        // A service without family, a u32 attribute of 2 bytes, an unknown protocol.
        #expect(throws: IPVSError.self) { try IPVSCodec.decodeService(try NetlinkAttributes(parsing: Bytes.attr(2, Bytes.u16(6))[...], context: "t")) }
        #expect(throws: IPVSError.self) {
            try IPVSCodec.decodeService(try NetlinkAttributes(parsing: (Bytes.attr(1, Bytes.u16(2)) + Bytes.attr(5, [1, 0]))[...], context: "t"))
        }
        #expect(throws: IPVSError.self) {
            try IPVSCodec.decodeService(try NetlinkAttributes(parsing: (Bytes.attr(1, Bytes.u16(2)) + Bytes.attr(2, Bytes.u16(99)))[...], context: "t"))
        }
        #expect(throws: IPVSError.self) { try IPVSCodec.decodeServiceMessage([][...]) }
    }

    @Test func requestAttributesDecodeBackToTheSameService() throws {
        let s = IPVSService(key: .address(.udp, IPAddress("fe80::1")!, port: 5353), scheduler: "sh",
                            flags: [.persistent, .shFallback], timeout: 120, netmask: 96, persistenceEngine: "sip")
        let bytes = IPVSCodec.request(.addService(s), family: 0x1c, seq: 1)
        guard case .data(_, _, let attrs) = try NetlinkCodec.parse(bytes[...]).first else {
            Issue.record("no data")
            return
        }
        #expect(try IPVSCodec.decodeServiceMessage(attrs).service == s)
    }

    @Test func commandNumbersMatchTheKernelHeader() {
        #expect(IPVSCommand.flush.rawValue == 17 && IPVSCommand.getInfo.rawValue == 15 && IPVSCommand.newDaemon.rawValue == 9)
        #expect(IPVSCommand.allCases.map(\.rawValue) == Array(1...17))
    }
}
