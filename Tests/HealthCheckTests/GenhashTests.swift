// The core of `directorctl genhash`: url parsing, the digest the checker would compute, and non-zero exits.
import NIOCore
import NIOPosix
import Testing
@testable import HealthCheck

@Suite("genhash")
struct GenhashTests {
    @Test func parsesAddressURLs() throws {
        let plain = try GenhashURL("http://192.168.10.11/test.html")
        let expected = try Endpoint(host: "192.168.10.11", port: 80)
        #expect(!plain.tls && plain.endpoint == expected && plain.path == "/test.html")
        let v6 = try GenhashURL("https://[2001:db8::11]:8443/health?full=1#frag")
        #expect(v6.tls && v6.endpoint.address.description == "2001:db8::11" && v6.endpoint.port == 8443 && v6.path == "/health?full=1")
        #expect(try GenhashURL("HTTP://10.0.0.1:8080").path == "/")
        #expect(try GenhashURL("https://10.0.0.1").endpoint.port == 443)
    }

    @Test(arguments: [
        "ftp://10.0.0.1/", "http://www.example.com/", "http://2001:db8::1/", "http://[2001:db8::1/",
        "http://10.0.0.1:0/", "http://10.0.0.1:99999/", "http://10.0.0.1/a b", "http:///x", "http://user@10.0.0.1/",
    ])
    func rejectsWhatItCannotReach(url: String) {
        #expect(throws: GenhashError.self) { try GenhashURL(url) }
    }

    func options(_ port: Int, path: String = "/test.html", _ configure: (inout GenhashOptions) -> Void = { _ in }) throws -> GenhashOptions {
        var options = try GenhashOptions(url: GenhashURL("http://127.0.0.1:\(port)\(path)"), timeout: .seconds(2))
        configure(&options)
        return options
    }

    func fetch(_ options: GenhashOptions) async throws -> GenhashReport {
        await GenhashReport.fetch(options, on: testCheckerThread)
    }

    @Test func printsTheDigestTheSeedConfigExpects() async throws {
        let server = try await LoopbackServer.start(ok(web1Page, extraHeaders: "Content-Type: text/html\r\n"))
        defer { Task { await server.stop() } }
        let report = try await fetch(try options(server.port))
        #expect(report.exitStatus == 0)
        #expect(report.output == ["HTTP/1.0 200 OK", "MD5SUM = \(web1Digest)"])
        let verbose = try await fetch(try options(server.port) { $0.verbose = true })
        #expect(verbose.output.contains("Content-Type: text/html"))
        #expect(verbose.output.contains("body: 19 bytes, Content-Length 19"))
    }

    @Test func digestIsTheOneTheCheckerAccepts() async throws {
        // Chunked, split mid-word: the same decoded digest must satisfy the checker.
        let server = try await LoopbackServer.start([
            .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nJust\r\n"), .send("f\r\n test for WEB1\n\r\n0\r\n\r\n"), .close,
        ])
        defer { Task { await server.stop() } }
        let report = try await fetch(try options(server.port) { $0.protocolVersion = .http11 })
        let digest = try #require(report.response?.digest)
        #expect(report.response?.chunked == true)
        let check = try makeCheck(port: server.port, digest: digest, version: .http11)
        #expect(try await run(check) == .up)
    }

    @Test func nonSuccessStatusFailsUnlessAnyStatus() async throws {
        let server = try await LoopbackServer.start([.send("HTTP/1.0 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"), .close])
        defer { Task { await server.stop() } }
        let strict = try await fetch(try options(server.port))
        #expect(strict.exitStatus == 1)
        #expect(strict.output.last == "MD5SUM = \(try md5Hex("nope"))", "the digest is still shown")
        #expect(strict.problems.first?.contains("404") == true)
        #expect(try await fetch(try options(server.port) { $0.anyStatus = true }).exitStatus == 0)
    }

    @Test func expectExplainsAMismatch() async throws {
        let server = try await LoopbackServer.start([
            .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n13\r\n\(web1Page)\r\n0\r\n\r\n"), .close,
        ])
        defer { Task { await server.stop() } }
        let report = try await fetch(try options(server.port) {
            $0.protocolVersion = .http11
            $0.expectedDigest = web2Digest
            $0.compareWith = Array("Just test for WEB2\n".utf8)
        })
        #expect(report.exitStatus == 1)
        #expect(report.problems.contains("digest mismatch: expected \(web2Digest), got \(web1Digest)"))
        #expect(report.problems.contains { $0.hasPrefix("body: 19 bytes, chunked transfer-encoding") })
        #expect(report.output.contains("compare: first difference at byte 17: file has 0x32 '2', server sent 0x31 '1'"))
        let matching = try await fetch(try options(server.port) { $0.protocolVersion = .http11; $0.expectedDigest = web1Digest.uppercased() })
        #expect(matching.exitStatus == 0, "\(matching.problems)")
    }

    @Test func comparisonNamesLengthDifferences() {
        #expect(GenhashReport.comparison(local: Array("abc".utf8), served: Array("abc".utf8)) == "compare: the body is identical to the file (3 bytes)")
        #expect(GenhashReport.comparison(local: Array("abc".utf8), served: Array("abc\n".utf8))
                == "compare: the body has 1 more bytes than the file after its 3 (starting 0x0a (LF))")
        #expect(GenhashReport.comparison(local: Array("abc\r\n".utf8), served: Array("abc".utf8))
                == "compare: the body ends after 3 bytes; the file goes on for 2 more (starting 0x0d (CR))")
    }

    @Test func unreachableServerIsAFailure() async throws {
        let server = try await LoopbackServer.start([])
        let port = server.port
        await server.stop()
        let report = try await fetch(try options(port))
        #expect(report.exitStatus == 1)
        #expect(report.problems == ["127.0.0.1:\(port)/test.html: connection refused"])
        #expect(report.output.isEmpty)
    }

    @Test func timeoutIsAFailure() async throws {
        let server = try await LoopbackServer.start([.hang])
        defer { Task { await server.stop() } }
        let report = try await fetch(try options(server.port) { $0.timeout = .milliseconds(300) })
        #expect(report.problems == ["127.0.0.1:\(server.port)/test.html: timeout waiting for status line and headers"])
    }

    @Test func badOptionsAreRejectedUpFront() throws {
        let url = try GenhashURL("http://127.0.0.1/")
        #expect(throws: GenhashError.self) { try GenhashOptions(url: url, expectedDigest: "1234") }
        #expect(throws: GenhashError.self) { try GenhashOptions(url: url, bindAddress: "eth0") }
    }
}
