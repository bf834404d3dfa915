// fwmark (SO_MARK) and bind_if (the socket bound to an interface) on every connecting checker's socket. SO_MARK needs
// CAP_NET_ADMIN: those tests run as root only (the development machines and CI are).
import Glibc
import NIOCore
import NIOPosix
import Reactor
import Testing
@testable import HealthCheck

@Suite("fwmark and bind_if")
struct CheckSocketOptionsTests {
    static let isRoot = getuid() == 0
    static let loopbackIndex = CInt(bitPattern: if_nametoindex("lo"))

    /// The value of a SOL_SOCKET option on a descriptor.
    static func option(_ fd: CInt, _ name: CInt) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1
    }

    @Test(.enabled(if: isRoot)) func aTCPConnectionCarriesTheMarkAndTheInterface() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        // A mark above Int32.max goes through as its bit pattern.
        let options = CheckSocketOptions(mark: 0xF000_0007, interface: "lo")
        let reactor = try Reactor()
        let socket = try CheckSocket(reactor: reactor, connect: Endpoint(host: "127.0.0.1", port: server.port), bindAddress: nil,
                                     bindPort: 0, options: options)
        defer { socket.close() }
        let mark = Self.option(socket.fd, CheckSocketOptions.soMark)
        let index = Self.option(socket.fd, CheckSocketOptions.soBindToIfindex)
        #expect(CInt(truncatingIfNeeded: mark) == CInt(bitPattern: 0xF000_0007))
        #expect(CInt(truncatingIfNeeded: index) == Self.loopbackIndex)
    }

    @Test(.enabled(if: isRoot)) func checksWithTheOptionsStillWorkOnLoopback() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        var tcp = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), connectTimeout: .seconds(2))
        tcp.socket = CheckSocketOptions(mark: 7, interface: "lo")
        #expect(await TCPChecker.check(tcp, on: testCheckerThread) == .up)
        let web = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await web.stop() } }
        var fetch = try makeCheck(port: web.port, digest: web1Digest)
        fetch.socket = CheckSocketOptions(mark: 7, interface: "lo")
        #expect(try await run(fetch) == .up)
    }

    @Test func aMissingInterfaceFailsTheCheckAndSaysWhich() async throws {
        let server = try await LoopbackServer.start([.hang], readRequest: false)
        defer { Task { await server.stop() } }
        var tcp = try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: server.port), connectTimeout: .seconds(1))
        tcp.socket = CheckSocketOptions(interface: "nosuch0")
        let result = await TCPChecker.check(tcp, on: testCheckerThread)
        #expect(result == .down(.bindFailed("interface nosuch0: No such device")))
        var udp = try UDPCheck(connect: Endpoint(host: "127.0.0.1", port: 9), timeout: .milliseconds(200))
        udp.socket = CheckSocketOptions(interface: "nosuch0")
        #expect(await DatagramChecker.check(udp: udp, on: testCheckerThread)
            == .down(.bindFailed("interface nosuch0: No such device")))
    }

    @Test(.enabled(if: isRoot)) func thePingSocketCarriesThemToo() throws {
        let socket = try PingSocket.open(ipv6: false, bindAddress: nil, options: CheckSocketOptions(mark: 42, interface: "lo"))
        defer { close(socket.descriptor) }
        #expect(Self.option(socket.descriptor, CheckSocketOptions.soMark) == 42)
        #expect(Self.option(socket.descriptor, CheckSocketOptions.soBindToIfindex) == Self.loopbackIndex)
    }

    @Test func noOptionsSetsNothing() throws {
        #expect(try CheckSocketOptions().resolved().isEmpty)
        #expect(CheckSocketOptions().isEmpty && !CheckSocketOptions(mark: 1).isEmpty)
    }
}
