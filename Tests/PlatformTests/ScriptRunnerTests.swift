import Foundation
import Testing

@testable import Platform

@Suite struct ScriptRunnerTests {
    let runner = ProcessScriptRunner()

    @Test func exitStatusAndOutputAreReported() async {
        let result = await runner.run(Script(command: "echo hello; echo oops >&2; exit 3"), timeout: .seconds(10))
        #expect(result.outcome == .exited(3))
        #expect(result.output == "hello\noops")
    }

    @Test func argumentsReachTheScriptUntouchedByTheShell() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("args").path
        let script = Script(command: "printf '%s|' > \(out)", arguments: ["INSTANCE", "VI 1", "$HOME", "MASTER", "100"])
        let result = await runner.run(script, timeout: .seconds(10))
        #expect(result.outcome == .exited(0))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "INSTANCE|VI 1|$HOME|MASTER|100|")
    }

    @Test func aScriptInheritsNoDescriptorButItsOutput() async throws {
        // A descriptor without close-on-exec, as SwiftNIO opens its sockets.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        let result = await runner.run(Script(command: "[ -e /proc/self/fd/\(fd) ] && echo inherited || echo clean"),
                                      timeout: .seconds(10))
        #expect(result.outcome == .exited(0))
        #expect(result.output == "clean")
    }

    @Test func aHungScriptIsKilledWithItsChildren() async throws {
        let start = ContinuousClock.now
        // The background sleep keeps the output pipe open: the runner must not wait for it.
        let result = await runner.run(Script(command: "sleep 30 & sleep 30"), timeout: .milliseconds(300))
        #expect(result.outcome == .timedOut)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func aScriptThatLeavesAChildBehindDoesNotBlock() async {
        let start = ContinuousClock.now
        // The orphan keeps the output pipe open for 60 s; the runner returns when the script itself exits.
        let result = await runner.run(Script(command: "(sleep 60 &) ; exit 0"), timeout: .seconds(90))
        #expect(result.outcome == .exited(0))
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func signalledAndMissingCommandsAreDistinct() async {
        #expect(await runner.run(Script(command: "kill -TERM $$"), timeout: .seconds(10)).outcome == .signalled(SIGTERM))
        #expect(await runner.run(Script(command: "/nonexistent/notify.sh"), timeout: .seconds(10)).outcome == .exited(127))
    }

    @Test func anUnknownUserIsAnErrorNotARootRun() async {
        let result = await runner.run(Script(command: "true", user: "no-such-user-directord"), timeout: .seconds(5))
        #expect(result.outcome == .failedToStart("no such user no-such-user-directord"))
    }

    @Test("a script runs with keepalived's identity: the user, the named group (else the user's), and no other group")
    func theUserAndGroupAreKeepalivedsIdentity() async throws {
        // Needs root to drop to another user; the unit tests run as root in CI and on the lab host.
        guard getuid() == 0, getpwnam("nobody") != nil, getgrnam("daemon") != nil else { return }
        let gid = try #require(getgrnam("daemon")).pointee.gr_gid
        let named = await runner.run(Script(command: "id -u; id -g; id -G", user: "nobody", group: "daemon"), timeout: .seconds(5))
        #expect(named.outcome == .exited(0))
        #expect(named.output == "65534\n\(gid)\n\(gid)", "\(named)")
        let own = try #require(getpwnam("nobody")).pointee.pw_gid
        let primary = await runner.run(Script(command: "id -g; id -G", user: "nobody"), timeout: .seconds(5))
        #expect(primary.output == "\(own)\n\(own)", "\(primary)")
        let groupOnly = await runner.run(Script(command: "id -u; id -G", group: "daemon"), timeout: .seconds(5))
        #expect(groupOnly.output == "0\n\(gid)", "\(groupOnly)")
        let unknown = await runner.run(Script(command: "true", user: "nobody", group: "no-such-group-directord"), timeout: .seconds(5))
        #expect(unknown.outcome == .failedToStart("no such group no-such-group-directord"))
    }

    @Test func killallStyleChecksWork() async {
        // The seeds' vrrp_script: `killall -0 nginx` style commands run through /bin/sh -c.
        #expect(await runner.run(Script(command: "kill -0 $$"), timeout: .seconds(5)).outcome.succeeded)
    }
}

@Suite struct SysctlTests {
    final class FakeSysctl: SysctlAccess, @unchecked Sendable {
        var values: [String: String]
        var writes: [(String, String)] = []
        init(_ values: [String: String]) { self.values = values }
        func read(_ key: String) throws(SystemError) -> String {
            guard let v = values[key] else { throw SystemError(call: "open", errno: ENOENT, detail: key) }
            return v
        }
        func write(_ key: String, _ value: String) throws(SystemError) {
            writes.append((key, value))
            values[key] = value
        }
    }

    @Test func forwardingIsEnabledOnlyWhereOff() throws {
        let fake = FakeSysctl([Forwarding.ipv4Key: "0", Forwarding.ipv6Key: "1"])
        #expect(try Forwarding.enable(ipv4: true, ipv6: true, sysctl: fake) == [Forwarding.ipv4Key])
        #expect(fake.writes.map(\.0) == [Forwarding.ipv4Key])
        #expect(try Forwarding.enable(ipv4: true, ipv6: true, sysctl: fake) == [])
    }

    @Test func procSysctlReadsAndWritesFilesUnderItsRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sysctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("net/ipv4"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "0\n".write(to: root.appendingPathComponent("net/ipv4/ip_forward"), atomically: true, encoding: .utf8)
        let sysctl = ProcSysctl(root: root.path)
        #expect(try sysctl.read("net.ipv4.ip_forward") == "0")
        try sysctl.write("net.ipv4.ip_forward", "1")
        #expect(try sysctl.read("net/ipv4/ip_forward") == "1")
        #expect(throws: SystemError.self) { try sysctl.read("net.ipv4.nope") }
    }
}
