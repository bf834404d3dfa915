import Addresses
import ControlProtocol
import FoundationEssentials
import Glibc
import Logging
import Platform
import Reactor
import Testing

@testable import Director

/// The serving loop's two protocols over real sockets: the control socket with directorctl's own client, /metrics
/// with a plain TCP client on loopback port 0. Timeouts run on the manual clock.
@Suite("Control socket and /metrics on the serving loop", .serialized)
struct RequestServerTests {
    let logger = Logger(label: "test")

    func socketPath() -> String {
        let dir = "/tmp/directord-serve-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return dir + "/control.sock"
    }

    /// A started loop with a control server answering `status` with a fixed line and echoing the peer's uid.
    func control(_ path: String, loop: ServingLoop) throws -> ControlServer {
        try ControlServer.start(path: path, on: loop, logger: logger) { request, peer in
            switch request {
            case .status: ControlResponse(ok: true, message: "uid \(peer.map { String($0.uid) } ?? "none")")
            default: ControlResponse(ok: false, message: "not in this test")
            }
        }
    }

    /// A running loop with a control server on a fresh path.
    func runningControl() throws -> (loop: ServingLoop, server: ControlServer, path: String) {
        let loop = try ServingLoop(logger: logger)
        try loop.start()
        let path = socketPath()
        return (loop, try control(path, loop: loop), path)
    }

    @Test func controlRequestsAreAnsweredWithThePeersCredentials() throws {
        let (loop, server, path) = try runningControl()
        defer { server.stop(); loop.stop() }
        let client = ControlClient(socketPath: path, timeout: .seconds(5))
        for _ in 0..<3 {
            let answer = try client.send(.status)
            #expect(answer.ok)
            #expect(answer.message == "uid \(getuid())")
        }
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat(Files.directory(of: path), &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    @Test func aStaleSocketIsReplacedAndAnotherFileIsNot() throws {
        let loop = try ServingLoop(logger: logger)
        try loop.start()
        defer { loop.stop() }
        let path = socketPath()
        let first = try control(path, loop: loop)
        // A crashed run leaves its socket behind: the next start binds over it.
        let second = try control(path, loop: loop)
        #expect(try ControlClient(socketPath: path, timeout: .seconds(5)).send(.status).ok)
        first.stop()
        second.stop()
        let plain = socketPath()
        try Files.makeDirectories(Files.directory(of: plain), mode: 0o700)
        #expect(FileManager.default.createFile(atPath: plain, contents: Data("keep me".utf8)))
        #expect(throws: SystemError.self) { try control(plain, loop: loop) }
        #expect(FileManager.default.contents(atPath: plain) == Data("keep me".utf8))
    }

    @Test func garbageAndOversizedRequestsGetAnAnswerNotASilentClose() throws {
        let (loop, server, path) = try runningControl()
        defer { server.stop(); loop.stop() }
        let garbage = try exchange(unix: path, Array("{not json\n".utf8))
        #expect(String(decoding: garbage, as: UTF8.self).contains("request not understood"))
        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: ControlFraming.maximumMessageBytes + 70_000)
        let refused = try exchange(unix: path, huge)
        #expect(String(decoding: refused, as: UTF8.self).contains("request longer than"))
    }

    /// A loop this test turns itself, on a manual clock, with a control server listening once the first turn ran.
    func drivenControl() throws -> (clock: ManualClock, loop: ServingLoop, server: ControlServer, path: String) {
        let clock = ManualClock()
        let loop = try ServingLoop(logger: logger, clock: clock)
        let path = socketPath()
        let server = try control(path, loop: loop)
        loop.reactor.turn(maxWait: .zero)
        return (clock, loop, server, path)
    }

    @Test func aSilentClientIsClosedAfterTheRequestTimeout() throws {
        let (clock, loop, server, path) = try drivenControl()
        defer { server.stop() }
        let client = try connect(unix: path)
        defer { close(client) }
        // Accepted, then nothing arrives.
        loop.reactor.turn(maxWait: .milliseconds(50))
        #expect(loop.reactor.watchCount == 2)
        clock.advance(by: RequestListener.requestTimeout - .milliseconds(1))
        loop.reactor.turn(maxWait: .zero)
        #expect(loop.reactor.watchCount == 2)
        clock.advance(by: .milliseconds(1))
        loop.reactor.turn(maxWait: .zero)
        #expect(loop.reactor.watchCount == 1)
        var byte: UInt8 = 0
        #expect(recv(client, &byte, 1, 0) == 0)
        loop.stop()
        loop.reactor.run()
    }

    @Test func connectionsBeyondTheCapAreClosedAtOnce() throws {
        let (_, loop, server, path) = try drivenControl()
        defer { server.stop() }
        var clients: [Int32] = []
        defer { for fd in clients { close(fd) } }
        for _ in 0...RequestListener.maximumConnections {
            clients.append(try connect(unix: path))
            loop.reactor.turn(maxWait: .milliseconds(20))
        }
        #expect(loop.reactor.watchCount == 1 + RequestListener.maximumConnections)
        var byte: UInt8 = 0
        let last = try #require(clients.last)
        #expect(recv(last, &byte, 1, 0) == 0)
        loop.stop()
        loop.reactor.run()
    }

    @Test func aRefusalLargerThanTheSocketBufferStillGoesOutWhole() throws {
        // A refusal that cannot be written at once must wait for writable, not stall with the connection watched
        // for a request it no longer reads.
        let clock = ManualClock()
        let loop = try ServingLoop(logger: logger, clock: clock)
        let refusal = [UInt8](repeating: UInt8(ascii: "r"), count: 4 << 20)
        let kind = RequestKind(name: "test", maximumBytes: 16, end: { _, _ in nil }, tooLarge: refusal,
                               answer: { _, _, send in send([]) })
        let path = socketPath()
        try Files.makeDirectories(Files.directory(of: path), mode: 0o700)
        _ = try RequestListener.unix(path: path, kind: kind, on: loop, logger: logger)
        defer { unlink(path) }
        loop.reactor.turn(maxWait: .zero)
        let client = try connect(unix: path)
        defer { close(client) }
        let request = [UInt8](repeating: UInt8(ascii: "q"), count: 64)
        #expect(send(client, request, request.count, Int32(MSG_NOSIGNAL)) == request.count)
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        var ended = false
        for _ in 0..<10_000 where !ended {
            loop.reactor.turn(maxWait: .milliseconds(1))
            while true {
                let n = recv(client, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n > 0 { received += n; continue }
                if n == 0 { ended = true }
                break
            }
        }
        #expect(received == refusal.count)
        #expect(ended)
        #expect(loop.reactor.watchCount == 1, "only the listener is left")
        loop.stop()
        loop.reactor.run()
    }

    @Test func metricsAnswersGetHeadAndRefusesTheRest() throws {
        let loop = try ServingLoop(logger: logger)
        try loop.start()
        defer { loop.stop() }
        let metrics = Metrics()
        metrics.reloads.increment()
        let listener = try MetricsServer.start(
            at: Endpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 0), on: loop, metrics: metrics, logger: logger)
        let port = listener.port
        #expect(port != 0)

        let ok = try text(exchange(tcp: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"))
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4\r\n"))
        #expect(ok.contains("directord_reloads_total 1"))
        let (head, body) = try #require(split(ok))
        #expect(head.contains("Content-Length: \(body.utf8.count)\r\n"))

        let query = try text(exchange(tcp: port, "GET /metrics?name=x HTTP/1.0\n\n"))
        #expect(query.hasPrefix("HTTP/1.1 200 OK\r\n"))
        let headOnly = try text(exchange(tcp: port, "HEAD /metrics HTTP/1.1\r\n\r\n"))
        #expect(headOnly.hasPrefix("HTTP/1.1 200 OK\r\n") && split(headOnly)?.body == "")
        #expect(try text(exchange(tcp: port, "GET / HTTP/1.1\r\n\r\n")).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        let post = try text(exchange(tcp: port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"))
        #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n") && post.contains("Allow: GET, HEAD\r\n"))
        #expect(try text(exchange(tcp: port, "hello\r\n\r\n")).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        let long = "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: MetricsServer.maximumHeadBytes) + "\r\n\r\n"
        #expect(try text(exchange(tcp: port, long)).hasPrefix("HTTP/1.1 431 "))
        // A request that arrives a byte at a time is still one request.
        let slow = try connect(tcp: port)
        defer { close(slow) }
        for byte in "GET /metrics HTTP/1.1\r\n\r\n".utf8 {
            var b = byte
            #expect(send(slow, &b, 1, Int32(MSG_NOSIGNAL)) == 1)
        }
        #expect(try text(readAll(slow)).hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func headEndFindsTheBlankLineAcrossReads() {
        let head = Array("GET / HTTP/1.1\r\nA: b\r\n\r\nrest".utf8)
        #expect(MetricsServer.headEnd(Array(head[..<22]), from: 0) == nil)
        // The blank line's first bytes came in the previous read.
        #expect(MetricsServer.headEnd(head, from: 22) == 24)
        #expect(MetricsServer.headEnd(Array("GET / HTTP/1.0\n\n".utf8), from: 15) == 16)
        #expect(MetricsServer.headEnd(Array("GET / HTTP/1.0\r\n".utf8), from: 0) == nil)
    }

    // MARK: Clients

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func split(_ response: String) -> (head: String, body: String)? {
        guard let range = response.range(of: "\r\n\r\n") else { return nil }
        return (String(response[..<range.upperBound]), String(response[range.upperBound...]))
    }

    func connect(unix path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw SystemError(call: "connect", errno: errno, detail: path) }
        return fd
    }

    func connect(tcp port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let result = Endpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: port).withSocketAddress { Glibc.connect(fd, $0, $1) }
        guard result == 0 else { throw SystemError(call: "connect", errno: errno, detail: "port \(port)") }
        return fd
    }

    func exchange(unix path: String, _ request: [UInt8]) throws -> [UInt8] {
        let fd = try connect(unix: path)
        defer { close(fd) }
        return try exchange(fd, request)
    }

    func exchange(tcp port: UInt16, _ request: String) throws -> [UInt8] {
        let fd = try connect(tcp: port)
        defer { close(fd) }
        return try exchange(fd, Array(request.utf8))
    }

    /// Sends what the server takes (it may stop reading and answer early), then reads to the end.
    func exchange(_ fd: Int32, _ request: [UInt8]) throws -> [UInt8] {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        request.withUnsafeBytes { raw in
            while sent < raw.count {
                let n = send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }
                sent += n
            }
        }
        return try readAll(fd)
    }

    func readAll(_ fd: Int32) throws -> [UInt8] {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == ECONNRESET { break }
            guard n >= 0 else { throw SystemError(call: "recv", errno: errno) }
            if n == 0 { break }
            answer += buffer[..<n]
        }
        return answer
    }
}
