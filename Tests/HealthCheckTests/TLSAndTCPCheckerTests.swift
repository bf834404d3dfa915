// SSL_GET against `openssl s_server` with a certificate made at test time, and TCP_CHECK against loopback.
import Glibc
import NIOCore
import NIOPosix
import Reactor
import Testing
@testable import HealthCheck

@Suite("SSL_GET checker", .serialized)
struct SSLCheckerTests {
    @Test func fetchesOverTLSWithoutVerifyingTheCertificate() async throws {
        let server = try TLSTestServer(files: ["test.html": web1Page])
        defer { server.stop() }
        let result = try await run(try makeCheck(port: server.port, digest: web1Digest, tls: TLSOptions()))
        #expect(result == .up)
    }

    @Test func wrongDigestOverTLS() async throws {
        let server = try TLSTestServer(files: ["test.html": web1Page])
        defer { server.stop() }
        let result = try await run(try makeCheck(port: server.port, digest: web2Digest, tls: TLSOptions()))
        #expect(result.failure == .digestMismatch(got: web1Digest, expected: web2Digest))
    }

    @Test func sniNameReachesTheServer() async throws {
        // The server aborts the handshake when a client names another host, so a pass proves the right name was sent.
        let server = try TLSTestServer(files: ["test.html": web1Page], serverName: "shop.example.test")
        defer { server.stop() }
        let right = try await run(try makeCheck(port: server.port, digest: web1Digest,
                                                tls: TLSOptions(enableSNI: true), virtualhost: "shop.example.test"))
        #expect(right == .up)
        let wrong = try await run(try makeCheck(port: server.port, digest: web1Digest,
                                                tls: TLSOptions(enableSNI: true, sniName: "other.example.test")))
        guard case .tlsHandshakeFailed = wrong.failure else {
            Issue.record("expected a handshake failure for the wrong SNI name, got \(wrong)")
            return
        }
        // Without enable_sni nothing is sent, so the server's name check cannot reject it.
        let none = try await run(try makeCheck(port: server.port, digest: web1Digest,
                                               tls: TLSOptions(enableSNI: false, sniName: "other.example.test")))
        #expect(none == .up)
    }

    @Test func plainHTTPServerIsAHandshakeFailure() async throws {
        let server = try await LoopbackServer.start(ok(web1Page), readRequest: false)
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, tls: TLSOptions()))
        guard case .tlsHandshakeFailed = result.failure else {
            Issue.record("expected a handshake failure, got \(result)")
            return
        }
    }

    @Test func silentServerTimesOutInTheHandshake() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, timeout: .milliseconds(300), tls: TLSOptions()))
        #expect(result.failure == .timeout(.tlsHandshake))
    }

    @Test func resetDuringHandshake() async throws {
        let server = try await LoopbackServer.start([.pause(.milliseconds(50)), .reset], readRequest: false)
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, tls: TLSOptions()))
        #expect(result.failure == .connectionReset(.tlsHandshake))
    }
}

@Suite("TCP_CHECK")
struct TCPCheckerTests {
    @Test func upWhenTheConnectSucceeds() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        let check = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), connectTimeout: .seconds(1))
        #expect(await TCPChecker.check(check, on: testCheckerThread) == .up)
    }

    @Test func refusedWhenNothingListens() async throws {
        let server = try await LoopbackServer.start([])
        let port = server.port
        await server.stop()
        let check = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: port), connectTimeout: .seconds(1))
        #expect(await TCPChecker.check(check, on: testCheckerThread) == .down(.connectionRefused))
    }

    /// The kernel completes the handshake while the checker's loop is blocked past connect_timeout: still up.
    @Test func aLateLoopDoesNotFailAConnectMadeInTime() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        let check = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), connectTimeout: .milliseconds(300))
        #expect(try await onBusyLoop(blockFor: .milliseconds(700)) { TCPChecker.check(check, on: $0, done: $1) } == .up)
    }

    /// A SYN nobody answers: down after connect_timeout, on an idle loop and on a late one alike.
    @Test func unansweredConnectTimesOut() async throws {
        let listener = try FullListener()
        defer { listener.close() }
        let check = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: listener.port), connectTimeout: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await TCPChecker.check(check, on: testCheckerThread) == .down(.timeout(.connect)))
        #expect(clock.now - start >= .milliseconds(290))
        #expect(try await onBusyLoop(blockFor: .milliseconds(700)) { TCPChecker.check(check, on: $0, done: $1) } == .down(.timeout(.connect)))
        let http = try makeCheck(port: listener.port, timeout: .milliseconds(300))
        #expect(try await run(http).failure == .timeout(.connect))
    }

    @Test func bindsToTheGivenSourceAddress() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        let good = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), bindAddress: .ipv4(127, 0, 0, 1))
        #expect(await TCPChecker.check(good, on: testCheckerThread) == .up)
        // 192.0.2.1 (TEST-NET-1) is not ours, so bind() fails and the check says so.
        let bad = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), bindAddress: .ipv4(192, 0, 2, 1))
        let failure = await TCPChecker.check(bad, on: testCheckerThread).failure
        guard case .bindFailed = failure else {
            Issue.record("expected bindFailed, got \(String(describing: failure))")
            return
        }
    }
}

/// A listener that never accepts, its queue already full: the kernel drops any further SYN, so a connect to it stays
/// unanswered (a black hole on loopback).
struct FullListener {
    let fd: Int32
    let port: Int
    private let fillers: [Int32]

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 0) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound else { throw TestSetupError("listener: \(String(cString: strerror(errno)))") }
        port = Int(UInt16(bigEndian: address.sin_port))
        // Backlog 0 holds one connection; two more in flight keep it full.
        var fillers: [Int32] = []
        for _ in 0..<3 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fillers.append(filler)
        }
        self.fillers = fillers
        usleep(50_000)
    }

    func close() {
        for descriptor in fillers + [fd] { _ = Glibc.close(descriptor) }
    }
}
