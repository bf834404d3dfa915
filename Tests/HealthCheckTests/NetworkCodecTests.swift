// The pure halves of SMTP_CHECK, DNS_CHECK and PING_CHECK on fixed bytes, hostile ones included; no sockets.
import Testing
@testable import HealthCheck

@Suite("DNS message codec")
struct DNSMessageTests {
    private let query = DNSQuery(id: 0xBEEF, name: DNSName("www.example.test")!, type: .a)

    @Test func queryBytesAreRFC1035() {
        #expect(query.encoded() == [
            0xBE, 0xEF, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 4, 0x74, 0x65, 0x73, 0x74, 0,
            0x00, 0x01, 0x00, 0x01,
        ])
        let root = DNSQuery(id: 1, name: DNSName(".")!, type: .soa).encoded()
        #expect(root.suffix(5) == [0, 0x00, 0x06, 0x00, 0x01])
    }

    @Test func namesAreBoundedAsTheWireFormatIs() {
        #expect(DNSName("example.test.")?.description == "example.test")
        #expect(DNSName("a..b") == nil)
        #expect(DNSName("") == nil)
        #expect(DNSName(String(repeating: "a", count: 64)) == nil)
        #expect(DNSName(Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")) == nil)
    }

    /// An answer to `query` (same question, a compression pointer to it) with the given flags and records.
    private func answer(id: UInt16 = 0xBEEF, flags: UInt16 = 0x8180, ancount: UInt16? = nil, records: [(type: UInt16, data: [UInt8])]) -> [UInt8] {
        var bytes = Array(query.encoded())
        bytes[0] = UInt8(id >> 8)
        bytes[1] = UInt8(id & 0xFF)
        bytes[2] = UInt8(flags >> 8)
        bytes[3] = UInt8(flags & 0xFF)
        let count = ancount ?? UInt16(records.count)
        bytes[6] = UInt8(count >> 8)
        bytes[7] = UInt8(count & 0xFF)
        for record in records {
            bytes += [0xC0, 12]  // the question's name
            bytes.appendBigEndian(record.type)
            bytes += [0, 1, 0, 0, 0x0E, 0x10]
            bytes.appendBigEndian(UInt16(record.data.count))
            bytes += record.data
        }
        return bytes
    }

    @Test func anAnswerWithARecordOfTheTypeIsUp() {
        #expect(query.judge(answer(records: [(1, [192, 0, 2, 7])])) == .up)
        // A CNAME chain ending in the A record counts; the CNAME alone does not.
        #expect(query.judge(answer(records: [(5, [0xC0, 12]), (1, [192, 0, 2, 7])])) == .up)
        #expect(query.judge(answer(records: [(5, [0xC0, 12])])) == .down("no A record in the answer"))
    }

    @Test func rcodesAndEmptyAnswersAreDown() {
        #expect(query.judge(answer(flags: 0x8183, records: [])) == .down("rcode 3 (NXDOMAIN)"))
        #expect(query.judge(answer(flags: 0x8182, records: [])) == .down("rcode 2 (SERVFAIL)"))
        #expect(query.judge(answer(records: [])) == .down("no A record in the answer"))
        #expect(query.judge(answer(flags: 0x8380, records: [])) == .down("truncated answer (TC) without a A record"))
    }

    @Test func strayDatagramsAreIgnored() {
        #expect(query.judge(answer(id: 0x1234, records: [(1, [192, 0, 2, 7])])) == .stray("answer with ID 4660, expected 48879"))
        #expect(query.judge(answer(flags: 0x0100, records: [(1, [192, 0, 2, 7])])) == .stray("a query, not an answer"))
        #expect(query.judge([0xBE, 0xEF, 0x81]) == .stray("a 3-byte datagram"))
        let other = DNSQuery(id: 0xBEEF, name: DNSName("mail.example.test")!, type: .a)
        #expect(other.judge(answer(records: [(1, [192, 0, 2, 7])])) == .stray("answer to another question"))
        // Case does not make another question (RFC 4343).
        let upper = DNSQuery(id: 0xBEEF, name: DNSName("WWW.Example.TEST")!, type: .a)
        #expect(upper.judge(answer(records: [(1, [192, 0, 2, 7])])) == .up)
    }

    @Test func countsThatLieAndTruncationAreMalformed() {
        let lying = answer(ancount: 40_000, records: [(1, [192, 0, 2, 7])])
        guard case .down(let reason) = query.judge(lying) else { Issue.record("lying count accepted"); return }
        #expect(reason.hasPrefix("malformed answer: ends early"))
        let full = answer(records: [(1, [192, 0, 2, 7])])
        for cut in 13..<full.count {
            let verdict = query.judge(Array(full.prefix(cut)))
            guard case .down = verdict else {
                Issue.record("a \(cut)-byte prefix gave \(verdict)")
                continue
            }
        }
        // An rdlength past the end.
        var long = full
        long[long.count - 5] = 0xFF
        guard case .down = query.judge(long) else { Issue.record("rdlength past the end accepted"); return }
    }

    @Test func compressionLoopsEnd() throws {
        var header = query.encoded().prefix(12)
        header[7] = 1
        // The question's name is a pointer to itself.
        let selfLoop = Array(header) + [0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSDecodeError.pointerLoop(at: 12)) { try DNSResponse(decoding: selfLoop) }
        // Two pointers at each other: the second points forward.
        var pair = Array(query.encoded())
        pair[7] = 1
        pair += [0xC0, UInt8(pair.count + 2), 0xC0, UInt8(pair.count)]
        #expect(throws: DNSDecodeError.self) { try DNSResponse(decoding: pair) }
        // A reserved label type (0x40).
        var reserved = Array(header)
        reserved += [0x40, 0, 0, 1, 0, 1]
        #expect(throws: DNSDecodeError.badLabel(at: 12)) { try DNSResponse(decoding: reserved) }
    }

    @Test func longNamesAndHugeAnswersAreBounded() throws {
        // A name built of chained pointers to 63-byte labels, past 255 bytes.
        var bytes = Array(query.encoded().prefix(12))
        bytes[5] = 0
        bytes[7] = 1
        var previous: Int?
        for _ in 0..<6 {
            let start = bytes.count
            bytes.append(63)
            bytes += [UInt8](repeating: 0x61, count: 63)
            if let previous { bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)] } else { bytes.append(0) }
            previous = start
        }
        bytes += [0xC0 | UInt8(previous! >> 8), UInt8(previous! & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
        #expect(throws: DNSDecodeError.self) { try DNSResponse(decoding: bytes) }
        // A 65000-byte answer of many records decodes (within the datagram's bound) and is judged.
        let many = answer(records: Array(repeating: (16, [UInt8](repeating: 0x41, count: 200)), count: 300) + [(1, [192, 0, 2, 7])])
        #expect(many.count > 60_000)
        #expect(query.judge(many) == .up)
    }
}

@Suite("SMTP replies")
struct SMTPConversationTests {
    @Test func keepalivedsConversation() {
        var c = SMTPConversation(heloName: "checker.example.test")
        #expect(c.received(Array("220 mx.example.test ESMTP\r\n".utf8)) == [.send("HELO checker.example.test\r\n")])
        #expect(c.received(Array("250 mx.example.test\r\n".utf8)) == [.send("QUIT\r\n")])
        #expect(c.received(Array("221 bye\r\n".utf8)) == [.finish(.up)])
    }

    @Test func multiLineRepliesAndSplitReads() {
        var c = SMTPConversation(heloName: "h")
        #expect(c.received(Array("220-mx.example.test\r\n220-".utf8)) == [])
        #expect(c.received(Array("second\r\n220 ready\n".utf8)) == [.send("HELO h\r\n")])
        #expect(c.received(Array("250-mx\r\n250-PIPELINING\r\n250".utf8)) == [])
        #expect(c.received(Array("\r\n".utf8)) == [.send("QUIT\r\n")])
    }

    @Test func badRepliesAreDownWithTheStep() {
        var banner = SMTPConversation(heloName: "h")
        #expect(banner.received(Array("554 no service\r\n".utf8)) == [.finish(.down(.badReply(.smtpBanner, "greeting 554 no service, expected 220")))])
        var helo = SMTPConversation(heloName: "h")
        _ = helo.received(Array("220 ok\r\n".utf8))
        #expect(helo.received(Array("501 bad\r\n".utf8)) == [.finish(.down(.badReply(.smtpHelo, "HELO answered 501 bad, expected 250")))])
        var garbage = SMTPConversation(heloName: "h")
        #expect(garbage.received(Array("HTTP/1.0 200 OK\r\n".utf8)) == [.finish(.down(.badReply(.smtpBanner, "not an SMTP reply line: HTTP/1.0 200 OK")))])
        var mixed = SMTPConversation(heloName: "h")
        #expect(mixed.received(Array("220-a\r\n250 b\r\n".utf8)) == [.finish(.down(.badReply(.smtpBanner, "not an SMTP reply line: code 250 inside a 220 reply")))])
        var endless = SMTPConversation(heloName: "h", maxReplyBytes: 100)
        #expect(endless.received([UInt8](repeating: 0x32, count: 150)) == [.finish(.down(.badReply(.smtpBanner, "reply longer than 100 bytes")))])
        // Nothing more after the verdict.
        #expect(endless.received(Array("220 ok\r\n".utf8)) == [])
    }
}

@Suite("ICMP echo")
struct ICMPEchoTests {
    @Test func requestAndReply() {
        let echo = ICMPEcho(ipv6: false, identifier: 0x1234, sequence: 7, token: [1, 2, 3, 4])
        let request = echo.request()
        #expect(request == [8, 0, 0xE1, 0xBE, 0x12, 0x34, 0x00, 0x07, 1, 2, 3, 4])
        #expect(ICMPEcho.checksum(request) == 0)
        var reply = request
        reply[0] = 0
        #expect(echo.isReply(reply, hasIPHeader: false, checkIdentifier: true))
        let ipHeader: [UInt8] = [0x45] + [UInt8](repeating: 0, count: 19)
        #expect(echo.isReply(ipHeader + reply, hasIPHeader: true, checkIdentifier: true))
        #expect(!echo.isReply(request, hasIPHeader: false, checkIdentifier: true))  // our own request, looped back
        var otherID = reply
        otherID[5] = 0x35
        #expect(!echo.isReply(otherID, hasIPHeader: false, checkIdentifier: true))
        #expect(echo.isReply(otherID, hasIPHeader: false, checkIdentifier: false))
        var otherToken = reply
        otherToken[11] = 9
        #expect(!echo.isReply(otherToken, hasIPHeader: false, checkIdentifier: false))
        #expect(!echo.isReply(Array(reply.prefix(9)), hasIPHeader: false, checkIdentifier: false))
        #expect(!echo.isReply([0x4F], hasIPHeader: true, checkIdentifier: false))
    }
}
