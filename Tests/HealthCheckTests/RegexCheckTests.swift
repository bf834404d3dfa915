// HTTP_GET's regex against loopback servers: the decoded body must (or must not) match, the match starting between
// regex_min_offset and regex_max_offset, as keepalived 2.2.7 counts them.
import NIOCore
import NIOPosix
import Testing
@testable import HealthCheck

@Suite("HTTP_GET regex")
struct RegexCheckTests {
    func url(_ pattern: String, options: UInt32 = 0, noMatch: Bool = false, min: Int = 0, max: Int? = nil) throws -> HTTPURLCheck {
        var url = try HTTPURLCheck(path: "/test.html")
        url.regex = URLRegexCheck(regex: try BodyRegex(pattern: pattern, options: options), noMatch: noMatch, minOffset: min, maxOffset: max)
        return url
    }

    func check(_ port: Int, _ url: HTTPURLCheck) throws -> HTTPCheck {
        try HTTPCheck(urls: [url], connect: Endpoint(host: "127.0.0.1", port: port), connectTimeout: .seconds(2))
    }

    @Test func theBodyMustMatch() async throws {
        let server = try await LoopbackServer.start(ok("<html>status: HEALTHY since 3 days</html>"))
        defer { Task { await server.stop() } }
        #expect(try await run(try check(server.port, try url("status: [A-Z]+"))) == .up)
        let down = try await run(try check(server.port, try url("status: SICK")))
        #expect(down.failure == .regexMismatch("body does not match /status: SICK/"))
        #expect(try await run(try check(server.port, try url("status: SICK", noMatch: true))) == .up)
        #expect(try await run(try check(server.port, try url("healthy", noMatch: true))) == .up, "case matters by default")
        let caseless = try url("healthy", options: 0x0000_0008 /* PCRE2_CASELESS */, noMatch: true)
        #expect(try await run(try check(server.port, caseless)).failure == .regexMismatch("body matches /healthy/ (regex_no_match)"))
    }

    @Test func headersAreNotPartOfTheSubject() async throws {
        let server = try await LoopbackServer.start(ok("fine", extraHeaders: "X-State: broken\r\n"))
        defer { Task { await server.stop() } }
        #expect(try await run(try check(server.port, try url("broken"))).failure == .regexMismatch("body does not match /broken/"))
        #expect(try await run(try check(server.port, try url("^fine$"))) == .up)
    }

    @Test func offsetsBoundWhereTheMatchStarts() throws {
        let body = Array("aaaOKbbbOK".utf8)
        let ok = try BodyRegex(pattern: "OK")
        #expect(URLRegexCheck(regex: ok).matches(body))
        #expect(URLRegexCheck(regex: ok, minOffset: 4).matches(body), "the second OK starts at 8")
        #expect(!URLRegexCheck(regex: ok, minOffset: 9).matches(body))
        #expect(URLRegexCheck(regex: ok, maxOffset: 3).matches(body), "a match starting at the max offset counts")
        #expect(!URLRegexCheck(regex: ok, maxOffset: 2).matches(body))
        // keepalived takes the first match after min_offset and does not look for a later one inside max_offset.
        #expect(!URLRegexCheck(regex: ok, minOffset: 4, maxOffset: 7).matches(body))
        // A lookbehind may look before min_offset, as pcre2_match's start offset allows.
        #expect(URLRegexCheck(regex: try BodyRegex(pattern: "(?<=bbb)OK"), minOffset: 8).matches(body))
        #expect(!URLRegexCheck(regex: ok, minOffset: 100).matches(body))
        #expect(URLRegexCheck(regex: try BodyRegex(pattern: "^$")).matches([]))
    }

    @Test func aBadPatternIsADefinitionError() {
        #expect(throws: CheckDefinitionError.self) { try BodyRegex(pattern: "(unclosed") }
    }
}
