// SSL_GET against `openssl s_server` with a certificate made at test time, and TCP_CHECK against loopback.
import NIOCore
import NIOPosix
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
        let check = try TCPCheck(connect: CheckEndpoint(host: "127.0.0.1", port: server.port), connectTimeout: .seconds(1))
        #expect(try await TCPChecker.check(check, on: MultiThreadedEventLoopGroup.singleton.next()).get() == .up)
    }

    @Test func refusedWhenNothingListens() async throws {
        let server = try await LoopbackServer.start([])
        let port = server.port
        await server.stop()
        let check = try TCPCheck(connect: CheckEndpoint(host: "127.0.0.1", port: port), connectTimeout: .seconds(1))
        #expect(try await TCPChecker.check(check, on: MultiThreadedEventLoopGroup.singleton.next()).get() == .down(.connectionRefused))
    }

    @Test func bindsToTheGivenSourceAddress() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        let good = try TCPCheck(connect: CheckEndpoint(host: "127.0.0.1", port: server.port), bindAddress: "127.0.0.1")
        #expect(try await TCPChecker.check(good, on: MultiThreadedEventLoopGroup.singleton.next()).get() == .up)
        // 192.0.2.1 (TEST-NET-1) is not ours, so bind() fails and the check says so.
        let bad = try TCPCheck(connect: CheckEndpoint(host: "127.0.0.1", port: server.port), bindAddress: "192.0.2.1")
        let failure = try await TCPChecker.check(bad, on: MultiThreadedEventLoopGroup.singleton.next()).get().failure
        guard case .bindFailed = failure else {
            Issue.record("expected bindFailed, got \(String(describing: failure))")
            return
        }
    }
}
