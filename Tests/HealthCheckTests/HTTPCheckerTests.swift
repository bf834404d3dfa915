// HTTP_GET against scripted loopback servers: every hostile case ends "down" with its reason, within its timeouts.
import NIOCore
import NIOPosix
import Platform
import Reactor
import Testing
@testable import HealthCheck

// The seed's pages: md5sum of "Just test for WEB1\n" and "...WEB2\n" as printed in the blog post's config.
let web1Page = "Just test for WEB1\n"
let web1Digest = "60f16b089b6c69717ffdd41fc0896652"
let web2Digest = "b75859919db38e0501fa02de82026078"

func ok(_ body: String, extraHeaders: String = "") -> [ServerStep] {
    [.send("HTTP/1.0 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\(extraHeaders)\r\n\(body)"), .close]
}

func makeCheck(
    port: Int, paths: [String] = ["/test.html"], digest: String? = nil, status: StatusCodeSet = .success,
    timeout: Duration = .seconds(2), fetchTimeout: Duration? = nil, version: HTTPRequestVersion = .http10,
    maxBody: Int = HTTPCheck.defaultMaxBodyBytes, tls: TLSOptions? = nil, virtualhost: String? = nil
) throws -> HTTPCheck {
    try HTTPCheck(
        urls: paths.map { try HTTPURLCheck(path: $0, digest: digest, statusCodes: status) },
        connect: Endpoint(host: "127.0.0.1", port: port),
        connectTimeout: timeout, fetchTimeout: fetchTimeout, protocolVersion: version, tls: tls,
        virtualhost: virtualhost, maxBodyBytes: maxBody
    )
}

/// Runs the check and asserts it took no longer than `within`.
func run(_ check: HTTPCheck, within: Duration = .seconds(5)) async throws -> CheckResult {
    let clock = ContinuousClock()
    let start = clock.now
    let result = await HTTPChecker.check(check, on: testCheckerThread)
    #expect(clock.now - start < within, "check took \(clock.now - start)")
    return result
}

@Suite("HTTP_GET checker")
struct HTTPCheckerTests {
    @Test func passesWithMatchingDigestAndSendsHTTP10Request() async throws {
        let server = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, digest: web1Digest))
        #expect(result == .up)
        let request = try #require(server.requests.first)
        let lines = request.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "GET /test.html HTTP/1.0")
        #expect(lines.contains("Host: 127.0.0.1:\(server.port)"))
        #expect(!lines.contains { $0.lowercased().hasPrefix("connection:") })
        #expect(!lines.contains { $0.lowercased().hasPrefix("transfer-encoding:") })
    }

    @Test func http11SendsConnectionCloseAndVirtualhost() async throws {
        let server = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, digest: web1Digest, version: .http11, virtualhost: "www.example.test"))
        #expect(result == .up)
        let lines = try #require(server.requests.first).split(separator: "\r\n").map(String.init)
        #expect(lines.first == "GET /test.html HTTP/1.1")
        #expect(lines.contains("Host: www.example.test"))
        #expect(lines.contains("Connection: close"))
    }

    @Test func chunkedBodyIsHashedDecoded() async throws {
        let server = try await LoopbackServer.start([
            .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            .send("9\r\nJust test\r\n"), .pause(.milliseconds(20)),
            .send("a\r\n for WEB1\n\r\n0\r\n\r\n"), .close,
        ])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, digest: web1Digest, version: .http11)) == .up)
    }

    @Test func bodyUntilCloseWithoutContentLength() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\n\r\nJust test "), .pause(.milliseconds(30)), .send("for WEB1\n"), .close])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, digest: web1Digest)) == .up)
    }

    @Test func wrongDigest() async throws {
        let server = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, digest: web2Digest))
        #expect(result == .down(.digestMismatch(got: web1Digest, expected: web2Digest), path: "/test.html"))
    }

    @Test func wrongStatus() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"), .close])
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port))
        #expect(result.failure == .statusCode(got: 503, expected: .success))
    }

    @Test func redirectIsJustAStatus() async throws {
        let redirect: [ServerStep] = [.send("HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1/elsewhere\r\nContent-Length: 0\r\n\r\n"), .close]
        let server = try await LoopbackServer.start(redirect)
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port)).failure == .statusCode(got: 302, expected: .success))
        #expect(server.requests.count == 1, "a redirect must not be followed")
        let accepting = try StatusCodeSet(words: ["200-299", "302"])
        #expect(try await run(try makeCheck(port: server.port, status: accepting)) == .up)
    }

    @Test func garbageStatusLine() async throws {
        let server = try await LoopbackServer.start([.send("SSH-2.0-OpenSSH_9.2\r\n\r\n"), .close])
        defer { Task { await server.stop() } }
        let failure = try await run(try makeCheck(port: server.port)).failure
        guard case .malformedResponse = failure else {
            Issue.record("expected malformedResponse, got \(String(describing: failure))")
            return
        }
    }

    @Test func resetMidBody() async throws {
        let server = try await LoopbackServer.start([
            .send("HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nJust test"), .pause(.milliseconds(50)), .reset,
        ])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, digest: web1Digest)).failure == .connectionReset(.responseBody))
    }

    @Test func closedMidBodyWithContentLength() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nJust test"), .close])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, digest: web1Digest)).failure == .closedEarly(.responseBody))
    }

    @Test func truncatedChunkedBody() async throws {
        let server = try await LoopbackServer.start([
            .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nJust test"), .close,
        ])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, version: .http11)).failure == .closedEarly(.responseBody))
    }

    @Test func hugeHeaders() async throws {
        let junk = String(repeating: "X-Junk: \(String(repeating: "a", count: 1000))\r\n", count: 200)
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\n\(junk)\r\n"), .close])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port)).failure == .headersTooLarge(limit: HTTPCheck.defaultMaxHeaderBytes))
    }

    @Test func endlessStatusLine() async throws {
        let server = try await LoopbackServer.start([
            .send("HTTP/1.0 200 " + String(repeating: "O", count: 300_000)), .hang,
        ])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port)).failure == .headersTooLarge(limit: HTTPCheck.defaultMaxHeaderBytes))
    }

    @Test func bodyLargerThanCap() async throws {
        let body = String(repeating: "z", count: 5000)
        let server = try await LoopbackServer.start(ok(body))
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, maxBody: 4096)).failure == .bodyTooLarge(limit: 4096))
    }

    @Test func endlessBodyHitsDefaultCap() async throws {
        let megabyte = [UInt8](repeating: 0x41, count: 1 << 20)
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\n\r\n"), .send(megabyte), .send(megabyte), .hang])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port)).failure == .bodyTooLarge(limit: HTTPCheck.defaultMaxBodyBytes))
    }

    @Test func slowLorisHeadersFailTheFetchBound() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\n"), .dribble(Array("X-Slow: yes\r\n".utf8), every: .milliseconds(20))])
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, timeout: .milliseconds(500), fetchTimeout: .milliseconds(900)), within: .seconds(3))
        // As below: under load a stall can trip the per-read bound first; both mean a head that never completes.
        #expect(([.fetchTimeout(.responseHead), .timeout(.responseHead)] as [CheckFailure?]).contains(result.failure),
                "\(String(describing: result.failure))")
    }

    @Test func slowLorisBodyFailsWithDefaultBound() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n"), .dribble(Array("a".utf8), every: .milliseconds(20))])
        defer { Task { await server.stop() } }
        // Default bound: three times connect_timeout.
        let result = try await run(try makeCheck(port: server.port, timeout: .milliseconds(500)), within: .seconds(3))
        // The whole-fetch bound ends it; on a loaded machine a 500 ms stall between two dribbled bytes can trip the
        // per-read bound first. Either way the verdict is down, timed out reading the body.
        #expect(([.fetchTimeout(.responseBody), .timeout(.responseBody)] as [CheckFailure?]).contains(result.failure),
                "\(String(describing: result.failure))")
    }

    @Test func silentServerTimesOutWaitingForHead() async throws {
        let server = try await LoopbackServer.start([.hang])
        defer { Task { await server.stop() } }
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await run(try makeCheck(port: server.port, timeout: .milliseconds(300)))
        #expect(result.failure == .timeout(.responseHead))
        #expect(clock.now - start >= .milliseconds(290))
    }

    @Test func stallMidBodyTimesOut() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nabc"), .hang])
        defer { Task { await server.stop() } }
        #expect(try await run(try makeCheck(port: server.port, timeout: .seconds(1))).failure == .timeout(.responseBody))
    }

    /// The checker's event loop is busy (another task blocks it) from before the answer arrives until after the read
    /// deadline: the kernel holds the whole response, but the loop reaches the deadline before the readable event.
    /// The real answered in time, so the check passes.
    @Test func aLateLoopDoesNotBlameTheRealForItsLateness() async throws {
        let server = try await LoopbackServer.start([.pause(.milliseconds(100))] + ok(web1Page))
        defer { Task { await server.stop() } }
        let check = try makeCheck(port: server.port, digest: web1Digest, timeout: .milliseconds(300))
        let result = try await onBusyLoop(blockAfter: .milliseconds(50), blockFor: .milliseconds(700)) { HTTPChecker.check(check, on: $0, done: $1) }
        #expect(result == .up, "\(String(describing: result.failure))")
    }

    /// The same while connecting: the handshake completes in the kernel while the loop is blocked past connect_timeout.
    @Test func aLateLoopDoesNotFailAConnectThatWasMadeInTime() async throws {
        let server = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await server.stop() } }
        let check = try makeCheck(port: server.port, digest: web1Digest, timeout: .milliseconds(300))
        let result = try await onBusyLoop(blockFor: .milliseconds(700)) { HTTPChecker.check(check, on: $0, done: $1) }
        #expect(result == .up, "\(String(describing: result.failure))")
    }

    /// A silent server still times out when the loop is late: the kernel heard nothing from it either.
    @Test func aLateLoopStillTimesOutASilentServer() async throws {
        let server = try await LoopbackServer.start([.hang])
        defer { Task { await server.stop() } }
        let check = try makeCheck(port: server.port, timeout: .milliseconds(300))
        let result = try await onBusyLoop(blockAfter: .milliseconds(50), blockFor: .milliseconds(700)) { HTTPChecker.check(check, on: $0, done: $1) }
        #expect(result.failure == .timeout(.responseHead))
    }

    @Test func connectionRefused() async throws {
        let server = try await LoopbackServer.start([])
        let port = server.port
        await server.stop()
        #expect(try await run(try makeCheck(port: port)).failure == .connectionRefused)
    }

    @Test func everyURLMustPass() async throws {
        let server = try await LoopbackServer.start(routes: ["/a": ok(web1Page), "/b": ok("other\n")])
        defer { Task { await server.stop() } }
        let result = try await run(try makeCheck(port: server.port, paths: ["/a", "/b"], digest: web1Digest))
        #expect(result.path == "/b")
        #expect(result.failure == .digestMismatch(got: try md5Hex("other\n"), expected: web1Digest))
        #expect(server.requests.count == 2)
        let both = try await run(try makeCheck(port: server.port, paths: ["/a", "/a"], digest: web1Digest))
        #expect(both == .up)
    }

    @Test func hostHeaderAndSNIDerivation() throws {
        let v6 = try HTTPCheck(urls: [HTTPURLCheck(path: "/")], connect: Endpoint(host: "[2001:db8::1]", port: 8080))
        #expect(HTTPFetchRequest(check: v6, url: v6.urls[0]).hostHeader == "[2001:db8::1]:8080")
        let v4default = try HTTPCheck(urls: [HTTPURLCheck(path: "/")], connect: Endpoint(host: "192.0.2.1", port: 80))
        #expect(HTTPFetchRequest(check: v4default, url: v4default.urls[0]).hostHeader == "192.0.2.1")
        let tls = try HTTPCheck(urls: [HTTPURLCheck(path: "/", virtualhost: "shop.example.test")],
                                connect: Endpoint(host: "192.0.2.1", port: 443), tls: TLSOptions(enableSNI: true))
        let tlsRequest = HTTPFetchRequest(check: tls, url: tls.urls[0])
        #expect(tlsRequest.hostHeader == "shop.example.test")
        #expect(tlsRequest.serverName == "shop.example.test")
        let literal = try HTTPCheck(urls: [HTTPURLCheck(path: "/")], connect: Endpoint(host: "192.0.2.1", port: 443),
                                    tls: TLSOptions(enableSNI: true), virtualhost: "192.0.2.1")
        #expect(HTTPFetchRequest(check: literal, url: literal.urls[0]).serverName == nil, "SNI never carries an address")
    }

    @Test func requestTextPerProtocolVersion() throws {
        func text(_ version: HTTPRequestVersion) throws -> String {
            let check = try HTTPCheck(urls: [HTTPURLCheck(path: "/h")], connect: Endpoint(host: "192.0.2.1", port: 80),
                                      protocolVersion: version)
            return String(decoding: HTTPFetchRequest(check: check, url: check.urls[0]).requestBytes, as: UTF8.self)
        }
        let agent = "User-Agent: directord-healthcheck\r\n"
        #expect(try text(.http10) == "GET /h HTTP/1.0\r\nHost: 192.0.2.1\r\n\(agent)\r\n")
        #expect(try text(.http10Close) == "GET /h HTTP/1.0\r\nHost: 192.0.2.1\r\n\(agent)Connection: close\r\n\r\n")
        #expect(try text(.http11) == "GET /h HTTP/1.1\r\nHost: 192.0.2.1\r\n\(agent)Connection: close\r\n\r\n")
    }

    /// The request writes its Host line byte by byte; `hostHeader` (also used for SNI decisions) is the reference.
    @Test func requestHostLineIsTheHostHeader() throws {
        let cases: [(String, Int, TLSOptions?, String?)] = [
            ("192.0.2.1", 80, nil, nil), ("192.0.2.1", 8080, nil, nil), ("192.0.2.1", 443, TLSOptions(), nil),
            ("192.0.2.1", 80, TLSOptions(), nil), ("2001:db8::1", 0, nil, nil), ("2001:db8::1", 65535, nil, nil),
            ("10.0.0.7", 9, nil, "shop.example.test:8443"),
        ]
        for (host, port, tls, virtualhost) in cases {
            let check = try HTTPCheck(urls: [HTTPURLCheck(path: "/h")], connect: Endpoint(host: host, port: port), tls: tls,
                                      virtualhost: virtualhost)
            let request = HTTPFetchRequest(check: check, url: check.urls[0])
            let text = String(decoding: request.requestBytes, as: UTF8.self)
            #expect(text.contains("\r\nHost: \(request.hostHeader)\r\n"), "\(host) \(port): \(text)")
        }
    }

    @Test func definitionErrors() {
        #expect(throws: CheckDefinitionError.notAnIPLiteral("www.example.com")) { try Endpoint(host: "www.example.com", port: 80) }
        #expect(throws: CheckDefinitionError.invalidDigest("xyz")) { try HTTPURLCheck(path: "/", digest: "xyz") }
        #expect(throws: CheckDefinitionError.invalidPath("no-slash")) { try HTTPURLCheck(path: "no-slash") }
        #expect(throws: CheckDefinitionError.invalidStatusCode("300-200")) { try StatusCodeSet(words: ["300-200"]) }
        // The configuration's bounds (keepalived's 100-599), not up to 999 as before.
        #expect(throws: CheckDefinitionError.invalidStatusCode("500-600")) { try StatusCodeSet(words: ["500-600"]) }
        #expect((try? StatusCodeSet(words: ["100", "599"]))?.ranges == [100...100, 599...599])
        #expect(throws: CheckDefinitionError.invalidPort(70000)) { try Endpoint(host: "::1", port: 70000) }
    }
}

func md5Hex(_ text: String) throws -> String {
    let digest = try MD5Digest()
    try Array(text.utf8).withUnsafeBytes { try digest.update($0) }
    return try digest.finish()
}

@Suite("MD5 via libcrypto")
struct MD5Tests {
    // RFC 1321 appendix A.5 test suite.
    @Test(arguments: [
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (web1Page, web1Digest),
    ])
    func vectors(input: String, expected: String) throws {
        #expect(try md5Hex(input) == expected)
    }
}

@Suite("Connect failure reasons")
struct ConnectFailureTests {
    @Test func mapsErrnoToReasons() {
        func failure(_ code: Int32) -> CheckFailure { CheckSocket.connectFailure(errno: code, SystemError(call: "connect", errno: code)) }
        #expect(failure(ETIMEDOUT) == .timeout(.connect))
        #expect(failure(ECONNREFUSED) == .connectionRefused)
        guard case .bindFailed = failure(EADDRNOTAVAIL) else {
            Issue.record("EADDRNOTAVAIL is a bind failure")
            return
        }
        guard case .connectFailed(let text) = failure(EHOSTUNREACH), text.contains("No route to host") else {
            Issue.record("other errors keep their text")
            return
        }
    }

    @Test func aRefusedConnectIsReportedSo() async throws {
        // A port nothing listens on: the kernel refuses, and the check says so rather than timing out.
        let server = try await LoopbackServer.start([.close])
        let port = server.port
        await server.stop()
        let check = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: port), connectTimeout: .seconds(2))
        #expect(await TCPChecker.check(check, on: testCheckerThread) == .down(.connectionRefused))
    }
}
