// SMTP_CHECK, DNS_CHECK, UDP_CHECK and PING_CHECK against servers on loopback that each test starts on port 0
// (the servers on NIO, the checks on the checker's reactor).
import Glibc
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import HealthCheck

private let loop = MultiThreadedEventLoopGroup.singleton

private func timed(_ within: Duration = .seconds(5), _ body: () async throws -> CheckResult) async throws -> CheckResult {
    let clock = ContinuousClock()
    let start = clock.now
    let result = try await body()
    #expect(clock.now - start < within, "check took \(clock.now - start)")
    return result
}

/// A scripted SMTP server: a banner (after a pause), then an answer per command word; QUIT closes after its answer.
final class FakeSMTPServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let lines = Mutex<[String]>([])
    var received: [String] { lines.withLock { $0 } }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(banner: String?, bannerDelay: TimeAmount = .zero, answers: [String: String] = ["HELO": "250 mx\r\n", "QUIT": "221 bye\r\n"],
                      closeAfterBanner: Bool = false) async throws -> FakeSMTPServer {
        let log = Mutex<FakeSMTPServer?>(nil)
        let channel = try await ServerBootstrap(group: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(Handler(
                        banner: banner, delay: bannerDelay, answers: answers, closeAfterBanner: closeAfterBanner,
                        record: { line in log.withLock { server in server?.lines.withLock { $0.append(line) } } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSetupError("no port") }
        let server = FakeSMTPServer(port: port, channel: channel)
        log.withLock { $0 = server }
        return server
    }

    func stop() async { try? await channel.close() }

    private struct LineDecoder: ByteToMessageDecoder {
        typealias InboundOut = String
        mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
            guard let newline = buffer.readableBytesView.firstIndex(of: 0x0A) else { return .needMoreData }
            let length = newline - buffer.readerIndex + 1
            guard let line = buffer.readString(length: length) else { return .needMoreData }
            context.fireChannelRead(wrapInboundOut(line))
            return .continue
        }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = String
        typealias OutboundOut = ByteBuffer
        let banner: String?
        let delay: TimeAmount
        let answers: [String: String]
        let closeAfterBanner: Bool
        let record: @Sendable (String) -> Void

        init(banner: String?, delay: TimeAmount, answers: [String: String], closeAfterBanner: Bool, record: @escaping @Sendable (String) -> Void) {
            self.banner = banner
            self.delay = delay
            self.answers = answers
            self.closeAfterBanner = closeAfterBanner
            self.record = record
        }

        func channelActive(context: ChannelHandlerContext) {
            guard let banner else { return }
            let channel = context.channel
            let close = closeAfterBanner
            channel.eventLoop.scheduleTask(in: delay) {
                let sent = channel.writeAndFlush(channel.allocator.buffer(string: banner))
                if close { sent.whenComplete { _ in channel.close(promise: nil) } }
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let line = unwrapInboundIn(data)
            record(line)
            let word = String(String.UnicodeScalarView(line.unicodeScalars.prefix { $0 != " " && $0 != "\r" && $0 != "\n" })).uppercased()
            guard let answer = answers[word] else { return }
            let channel = context.channel
            let sent = channel.writeAndFlush(channel.allocator.buffer(string: answer))
            if word == "QUIT" { sent.whenComplete { _ in channel.close(promise: nil) } }
        }
    }
}

@Suite("SMTP_CHECK", .serialized)
struct SMTPCheckerTests {
    private func check(_ server: FakeSMTPServer, timeout: Duration = .seconds(1)) throws -> SMTPCheck {
        try SMTPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), connectTimeout: timeout, heloName: "lb1.example.test")
    }

    @Test func bannerHeloQuitIsUp() async throws {
        let server = try await FakeSMTPServer.start(banner: "220 mx.example.test ESMTP\r\n")
        defer { Task { await server.stop() } }
        let result = try await timed { await SMTPChecker.check(try check(server), on: testCheckerThread) }
        #expect(result == .up, "server saw \(server.received)")
        #expect(server.received == ["HELO lb1.example.test\r\n", "QUIT\r\n"])
    }

    @Test func multiLineBannerAndHeloReplies() async throws {
        let server = try await FakeSMTPServer.start(
            banner: "220-mx.example.test\r\n220-no UCE\r\n220 ready\r\n",
            answers: ["HELO": "250-mx.example.test\r\n250-SIZE 1000\r\n250 OK\r\n", "QUIT": "221 bye\r\n"])
        defer { Task { await server.stop() } }
        #expect(await SMTPChecker.check(try check(server), on: testCheckerThread) == .up)
    }

    @Test func a554GreetingIsDown() async throws {
        let server = try await FakeSMTPServer.start(banner: "554 mx.example.test no service\r\n")
        defer { Task { await server.stop() } }
        let result = await SMTPChecker.check(try check(server), on: testCheckerThread)
        #expect(result.failure == .badReply(.smtpBanner, "greeting 554 mx.example.test no service, expected 220"))
        #expect(server.received.isEmpty)
    }

    @Test func garbageIsDown() async throws {
        let server = try await FakeSMTPServer.start(banner: "\u{1}\u{2}garbage\r\n")
        defer { Task { await server.stop() } }
        let result = await SMTPChecker.check(try check(server), on: testCheckerThread)
        #expect(result.failure == .badReply(.smtpBanner, "not an SMTP reply line: ??garbage"))
    }

    @Test func aTruncatedBannerIsDown() async throws {
        let server = try await FakeSMTPServer.start(banner: "22", closeAfterBanner: true)
        defer { Task { await server.stop() } }
        let result = await SMTPChecker.check(try check(server), on: testCheckerThread)
        #expect(result.failure == .closedEarly(.smtpBanner))
    }

    @Test func aSlowBannerTimesOut() async throws {
        let server = try await FakeSMTPServer.start(banner: "220 late\r\n", bannerDelay: .seconds(3))
        defer { Task { await server.stop() } }
        let result = try await timed(.seconds(2.5)) { await SMTPChecker.check(try check(server, timeout: .milliseconds(500)), on: testCheckerThread) }
        #expect(result.failure == .timeout(.smtpBanner))
    }

    @Test func aRefusedHeloIsDown() async throws {
        let server = try await FakeSMTPServer.start(banner: "220 ok\r\n", answers: ["HELO": "501 syntax\r\n"])
        defer { Task { await server.stop() } }
        let result = await SMTPChecker.check(try check(server), on: testCheckerThread)
        #expect(result.failure == .badReply(.smtpHelo, "HELO answered 501 syntax, expected 250"))
    }

    @Test func aClosedPortIsRefused() async throws {
        let port = try closedPort(SOCK_STREAM)
        let result = await SMTPChecker.check(try SMTPCheck(connect: Endpoint(host: "127.0.0.1", port: port)), on: testCheckerThread)
        #expect(result.failure == .connectionRefused)
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound once by the kernel's choice, then closed).
func closedPort(_ type: __socket_type) throws -> Int {
    let fd = socket(AF_INET, CInt(type.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError("socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 && getsockname(fd, $0, &size) == 0 }
    }
    guard bound else { throw TestSetupError("bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A UDP server on 127.0.0.1: each datagram in is answered with what `answer` makes of it (any number of datagrams).
final class FakeUDPServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let count = Mutex(0)
    var datagrams: Int { count.withLock { $0 } }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(_ answer: @escaping @Sendable ([UInt8]) -> [[UInt8]]) async throws -> FakeUDPServer {
        let counter = Mutex<FakeUDPServer?>(nil)
        let channel = try await DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Handler(answer: answer, seen: { counter.withLock { $0?.count.withLock { $0 += 1 } } }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else { throw TestSetupError("no port") }
        let server = FakeUDPServer(port: port, channel: channel)
        counter.withLock { $0 = server }
        return server
    }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let answer: @Sendable ([UInt8]) -> [[UInt8]]
        let seen: @Sendable () -> Void

        init(answer: @escaping @Sendable ([UInt8]) -> [[UInt8]], seen: @escaping @Sendable () -> Void) {
            self.answer = answer
            self.seen = seen
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            seen()
            for reply in answer(Array(envelope.data.readableBytesView)) {
                let out = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: reply))
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
        }
    }
}

/// An answer to `query` bytes: the same ID and question, `flags`, and `records` of (type, data) for the question's name.
func dnsAnswer(to query: [UInt8], flags: UInt16 = 0x8180, id: UInt16? = nil, records: [(UInt16, [UInt8])]) -> [UInt8] {
    var bytes = query
    if let id {
        bytes[0] = UInt8(id >> 8)
        bytes[1] = UInt8(id & 0xFF)
    }
    bytes[2] = UInt8(flags >> 8)
    bytes[3] = UInt8(flags & 0xFF)
    bytes[6] = UInt8(records.count >> 8)
    bytes[7] = UInt8(records.count & 0xFF)
    for (type, data) in records {
        bytes += [0xC0, 12, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 60, UInt8(data.count >> 8), UInt8(data.count & 0xFF)]
        bytes += data
    }
    return bytes
}

@Suite("DNS_CHECK", .serialized)
struct DNSCheckerTests {
    private func run(_ server: FakeUDPServer, type: DNSRecordType = .a, timeout: Duration = .seconds(1)) async throws -> CheckResult {
        let check = try DNSCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), timeout: timeout, type: type, name: "www.example.test")
        return try await timed { await DatagramChecker.check(dns: check, on: testCheckerThread) }
    }

    @Test func anAnswerWithTheTypeIsUp() async throws {
        let server = try await FakeUDPServer.start { [dnsAnswer(to: $0, records: [(1, [192, 0, 2, 1])])] }
        defer { Task { await server.stop() } }
        #expect(try await run(server) == .up)
    }

    @Test func strayDatagramsBeforeTheAnswerAreIgnored() async throws {
        let server = try await FakeUDPServer.start { query in
            [[1, 2, 3], dnsAnswer(to: query, id: 0x0001 ^ (UInt16(query[0]) << 8 | UInt16(query[1])), records: [(1, [192, 0, 2, 1])]),
             dnsAnswer(to: query, records: [(1, [192, 0, 2, 1])])]
        }
        defer { Task { await server.stop() } }
        #expect(try await run(server) == .up)
    }

    @Test func onlyWrongIDsTimeOut() async throws {
        let server = try await FakeUDPServer.start { query in
            [dnsAnswer(to: query, id: ~(UInt16(query[0]) << 8 | UInt16(query[1])), records: [(1, [192, 0, 2, 1])])]
        }
        defer { Task { await server.stop() } }
        #expect(try await run(server, timeout: .milliseconds(400)).failure == .timeout(.dnsAnswer))
        // The query was sent again at half the timeout.
        #expect(server.datagrams == 2)
    }

    @Test func nxdomainAndEmptyAnswersAreDown() async throws {
        let nx = try await FakeUDPServer.start { [dnsAnswer(to: $0, flags: 0x8183, records: [])] }
        defer { Task { await nx.stop() } }
        #expect(try await run(nx).failure == .badReply(.dnsAnswer, "rcode 3 (NXDOMAIN)"))
        let empty = try await FakeUDPServer.start { [dnsAnswer(to: $0, records: [(28, [UInt8](repeating: 0, count: 16))])] }
        defer { Task { await empty.stop() } }
        #expect(try await run(empty).failure == .badReply(.dnsAnswer, "no A record in the answer"))
    }

    @Test func truncatedAndHugeAnswers() async throws {
        let truncated = try await FakeUDPServer.start { Array([dnsAnswer(to: $0, records: [(1, [192, 0, 2, 1])])].map { Array($0.dropLast(3)) }) }
        defer { Task { await truncated.stop() } }
        guard case .badReply(.dnsAnswer, let reason) = try await run(truncated).failure else { Issue.record("truncated answer not down"); return }
        #expect(reason.hasPrefix("malformed answer"))
        let huge = try await FakeUDPServer.start { [dnsAnswer(to: $0, records: Array(repeating: (16, [UInt8](repeating: 0x41, count: 250)), count: 200) + [(1, [192, 0, 2, 1])])] }
        defer { Task { await huge.stop() } }
        #expect(try await run(huge) == .up)
    }

    @Test func aClosedPortIsUnreachable() async throws {
        let check = try DNSCheck(connect: Endpoint(host: "127.0.0.1", port: try closedPort(SOCK_DGRAM)), timeout: .seconds(2), type: .a, name: "x.test")
        let result = try await timed(.seconds(1.5)) { await DatagramChecker.check(dns: check, on: testCheckerThread) }
        #expect(result.failure == .unreachable("ICMP port unreachable"))
    }
}

@Suite("UDP_CHECK", .serialized)
struct UDPCheckerTests {
    private func run(_ check: UDPCheck) async throws -> CheckResult {
        try await timed { await DatagramChecker.check(udp: check, on: testCheckerThread) }
    }

    @Test func aClosedPortIsDownBeforeTheTimeout() async throws {
        let check = try UDPCheck(connect: Endpoint(host: "127.0.0.1", port: try closedPort(SOCK_DGRAM)), timeout: .seconds(3))
        let result = try await timed(.seconds(1.5)) { await DatagramChecker.check(udp: check, on: testCheckerThread) }
        #expect(result.failure == .unreachable("ICMP port unreachable"))
    }

    @Test func silenceIsUpWithoutRequireReplyAndDownWithIt() async throws {
        let silent = try await FakeUDPServer.start { _ in [] }
        defer { Task { await silent.stop() } }
        let endpoint = try Endpoint(host: "127.0.0.1", port: silent.port)
        #expect(try await run(try UDPCheck(connect: endpoint, timeout: .milliseconds(300))) == .up)
        #expect(silent.datagrams == 1)
        let strict = try UDPCheck(connect: endpoint, timeout: .milliseconds(300), requireReply: true)
        #expect(try await run(strict).failure == .timeout(.udpReply))
    }

    @Test func theReplyIsMatchedAsKeepalivedDoes() async throws {
        let echo = try await FakeUDPServer.start { [[0xAB, 0x12, 0x3F] + $0] }
        defer { Task { await echo.stop() } }
        let endpoint = try Endpoint(host: "127.0.0.1", port: echo.port)
        // The payload goes out as given; the reply agrees over the pattern's length, X nibbles free.
        let pass = try UDPCheck(connect: endpoint, payload: [0x01, 0x02], requireReply: true, replyBytes: [0xAB, 0x12, 0x30], replyIgnoredBits: [0, 0, 0x0F])
        #expect(try await run(pass) == .up)
        let differ = try UDPCheck(connect: endpoint, payload: [0x01], requireReply: true, replyBytes: [0xAB, 0x13])
        #expect(try await run(differ).failure == .badReply(.udpReply, "reply differs from require_reply at byte 1 (0x12)"))
        let tooLong = try UDPCheck(connect: endpoint, payload: [UInt8](repeating: 7, count: 10), requireReply: true, maxReplyLength: 8)
        #expect(try await run(tooLong).failure == .badReply(.udpReply, "reply of 13 bytes, expected 0 to 8"))
        // Without a payload keepalived sends 32 random bytes.
        let random = try UDPCheck(connect: endpoint, requireReply: true, minReplyLength: 35, maxReplyLength: 35)
        #expect(try await run(random) == .up)
    }
}

@Suite("PING_CHECK", .serialized)
struct PingCheckerTests {
    @Test func loopbackAnswers() async throws {
        let check = try PingCheck(connect: Endpoint(host: "127.0.0.1", port: 0), timeout: .seconds(2))
        let result = try await timed { await PingChecker.check(check, on: testCheckerThread) }
        #expect(result == .up)
    }

    @Test func ipv6LoopbackAnswersWhereItExists() async throws {
        guard FileManagerLite.exists("/proc/net/if_inet6") else { return }
        let check = try PingCheck(connect: Endpoint(host: "::1", port: 0), timeout: .seconds(2))
        let result = await PingChecker.check(check, on: testCheckerThread)
        #expect(result == .up)
    }

    @Test func manyAtOnceEachSeeTheirOwnReply() async throws {
        let check = try PingCheck(connect: Endpoint(host: "127.0.0.1", port: 0), timeout: .seconds(3))
        let results = await withTaskGroup(of: CheckResult.self) { group in
            for _ in 0..<20 {
                group.addTask { await PingChecker.check(check, on: testCheckerThread) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.isUp })
    }
}

enum FileManagerLite {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
