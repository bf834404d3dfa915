import Timeline
import DirectorConfig
import Glibc
import Testing
import VRRP

@testable import VRRPHost

@Suite("VRRP host parts")
struct PartsTests {
    @Test("the timer heap pops in deadline order, first-in first-out on ties, only when due")
    func timerHeap() {
        let t0 = Moment.now
        var heap = TimerHeap()
        var rng = SystemRandomNumberGenerator()
        var expected: [(Int, Int)] = []
        for i in 0..<200 {
            let ms = Int.random(in: 0..<50, using: &rng)
            heap.insert(.script(name: "\(i)", generation: ms), at: t0 + .milliseconds(ms))
            expected.append((ms, i))
        }
        #expect(heap.popDue(by: t0 - .milliseconds(1)) == nil)
        var popped: [(Int, Int)] = []
        while let e = heap.popDue(by: t0 + .seconds(1)) {
            if case .script(let name, let ms) = e.value, let i = Int(name) { popped.append((ms, i)) }
        }
        let sorted = expected.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        #expect(popped.map(\.0) == sorted.map(\.0))
        #expect(popped.map(\.1) == sorted.map(\.1))
    }

    @Test("the VRID of an undecodable packet is read when it is there")
    func peekVRID() {
        #expect(HostCore.peekVirtualRouterID([0x45] + [UInt8](repeating: 0, count: 19) + [0x21, 51], family: AF_INET) == 51)
        #expect(HostCore.peekVirtualRouterID([0x45, 0, 0, 10], family: AF_INET) == nil)
        #expect(HostCore.peekVirtualRouterID([0x46] + [UInt8](repeating: 0, count: 20), family: AF_INET) == nil)
        #expect(HostCore.peekVirtualRouterID([0x31, 7], family: AF_INET6) == 7)
    }

    static let root = FileStatus(uid: 0, gid: 0, mode: UInt32(S_IFDIR) | 0o755)
    static let rootFile = FileStatus(uid: 0, gid: 0, mode: UInt32(S_IFREG) | 0o755)

    @Test("enable_script_security refuses a root script that a non-root user could replace, as keepalived does")
    func scriptSecurity() {
        var files = FakeFiles(files: ["/": Self.root, "/usr": Self.root, "/usr/bin": Self.root, "/usr/bin/killall": Self.rootFile])
        files.files["/home"] = Self.root
        files.files["/home/op"] = FileStatus(uid: 1000, gid: 1000, mode: UInt32(S_IFDIR) | 0o755)
        files.files["/home/op/check.sh"] = FileStatus(uid: 0, gid: 0, mode: UInt32(S_IFREG) | 0o755)
        files.files["/tmp"] = FileStatus(uid: 0, gid: 0, mode: UInt32(S_IFDIR) | 0o1777)
        files.files["/tmp/x.sh"] = FileStatus(uid: 0, gid: 0, mode: UInt32(S_IFREG) | 0o757)
        files.users = ["root", "op"]
        var globals = GlobalSettings(scriptUser: ScriptUser(user: "root"), enableScriptSecurity: true)
        let strict = ScriptPolicy(globals: globals, files: files)
        #expect(strict.prepare(command: "killall -0 nginx", user: nil).problem == nil, "found on PATH, all root-owned")
        let refused = strict.prepare(command: "/home/op/check.sh", user: nil)
        #expect(refused.script == nil)
        #expect(refused.problem?.contains("/home/op is owned by uid 1000") == true)
        #expect(strict.prepare(command: "/tmp/x.sh", user: nil).problem?.contains("/tmp/x.sh is writable by everyone") == true)
        let asUser = strict.prepare(command: "/home/op/check.sh", user: ScriptUser(user: "op"))
        #expect(asUser.script?.user == "op", "only scripts run as root are checked")
        globals.enableScriptSecurity = false
        let lax = ScriptPolicy(globals: globals, files: files).prepare(command: "/home/op/check.sh", user: nil)
        #expect(lax.script != nil && lax.problem != nil, "without enable_script_security it runs, with a warning")
    }

    @Test("script user: the script's, else script_user, else keepalived_script when it exists, else root")
    func scriptUser() {
        let files = FakeFiles(users: ["keepalived_script", "nobody", "root"])
        #expect(ScriptPolicy(globals: GlobalSettings(), files: files).prepare(command: "x", user: nil).script?.user == "keepalived_script")
        #expect(ScriptPolicy(globals: GlobalSettings(), files: FakeFiles()).prepare(command: "x", user: nil).script?.user == nil)
        let configured = ScriptPolicy(globals: GlobalSettings(scriptUser: ScriptUser(user: "nobody")), files: files)
        #expect(configured.prepare(command: "x", user: nil).script?.user == "nobody")
        #expect(configured.prepare(command: "x", user: ScriptUser(user: "root")).script?.user == nil)
        #expect(configured.defaultUserProblem == nil)
    }

    @Test("no script user to be had: keepalived 2.2.7 removes every script that names none, and one that names a missing user")
    func noScriptUser() {
        let files = FakeFiles(users: ["root", "op"], groups: ["wheel"])
        // script_user names a user (or group) this host does not have: no default, security or not.
        for globals in [GlobalSettings(scriptUser: ScriptUser(user: "ghost")),
                        GlobalSettings(scriptUser: ScriptUser(user: "op", group: "nogroup"))] {
            let policy = ScriptPolicy(globals: globals, files: files)
            let refused = policy.prepare(command: "/bin/true", user: nil)
            #expect(refused.script == nil)
            #expect(refused.problem?.contains("does not exist") == true, "\(refused)")
            #expect(policy.defaultUserProblem != nil)
            #expect(policy.prepare(command: "/bin/true", user: ScriptUser(user: "op", group: "wheel")).script?.group == "wheel",
                    "a script with its own user still runs")
        }
        // enable_script_security without script_user and without keepalived_script: not root by default.
        let strict = ScriptPolicy(globals: GlobalSettings(enableScriptSecurity: true), files: files)
        let refused = strict.prepare(command: "/bin/true", user: nil)
        #expect(refused.script == nil)
        #expect(refused.problem?.contains("no default script user") == true, "\(refused)")
        #expect(strict.prepare(command: "/bin/true", user: ScriptUser(user: "op")).script?.user == "op")
        // Without enable_script_security the same host runs it as root.
        #expect(ScriptPolicy(globals: GlobalSettings(), files: files).prepare(command: "/bin/true", user: nil).script != nil)
        // A script's own user or group that does not exist: that script is not run.
        let lax = ScriptPolicy(globals: GlobalSettings(), files: files)
        #expect(lax.prepare(command: "/bin/true", user: ScriptUser(user: "ghost")).problem?.contains("user ghost does not exist") == true)
        #expect(lax.prepare(command: "/bin/true", user: ScriptUser(user: "op", group: "ghosts")).problem?.contains("group ghosts does not exist") == true)
    }

    @Test("an instance that cannot run here is named with the reason")
    func specProblems() throws {
        let text = outside.replacingOccurrences(of: "interface eth0", with: "interface eth9")
        let configuration = try #require(ConfigurationLoader.parse(text).configuration)
        let spec = HostSpec.build(configuration, addresses: FakeAddresses(table: Harness.interfaces))
        #expect(spec.problems.count == 1)
        #expect(spec.problems.first?.hasPrefix("vrrp_instance VI_1: cannot read the addresses of eth9") == true)
    }
}
