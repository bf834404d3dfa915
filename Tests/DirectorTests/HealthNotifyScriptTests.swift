// Health notify scripts (notify_up, notify_down, quorum_up, quorum_down) follow the script rules VRRP scripts
// follow: the user as keepalived picks it, and enable_script_security refusing what others could change.
import DirectorConfig
import Platform
import Testing
import VRRPHost

@testable import Director

struct HealthNotifyScriptTests {
    struct Paths: ScriptPathInspecting {
        var files: [String: FileStatus]
        var users: Set<String> = []
        var searchPath: [String] { ["/usr/bin"] }
        func status(of path: String) -> FileStatus? { files[path] }
        func canonicalPath(_ path: String) -> String? { files[path] == nil ? nil : path }
        func userExists(_ name: String) -> Bool { users.contains(name) }
        func groupExists(_ name: String) -> Bool { false }
    }

    static let dir = FileStatus(uid: 0, gid: 0, mode: 0o040755)
    static let safe = Paths(files: ["/": dir, "/etc": dir, "/etc/directord": dir,
                                    "/etc/directord/up.sh": FileStatus(uid: 0, gid: 0, mode: 0o100755)],
                            users: ["root", "nobody", "op"])
    static let writable = Paths(files: ["/": dir, "/etc": dir, "/etc/directord": dir,
                                        "/etc/directord/up.sh": FileStatus(uid: 0, gid: 0, mode: 0o100777)],
                                users: ["root"])

    @Test func theUserIsKeepalivedsChoice() {
        let notify = NotifyScript(command: "/etc/directord/up.sh")
        #expect(Supervisor.prepare(notify, globals: GlobalSettings(), files: Self.safe).script?.user == nil)
        var withDefault = Self.safe
        withDefault.users = ["keepalived_script"]
        #expect(Supervisor.prepare(notify, globals: GlobalSettings(), files: withDefault).script?.user == "keepalived_script")
        let globals = GlobalSettings(scriptUser: ScriptUser(user: "nobody"))
        #expect(Supervisor.prepare(notify, globals: globals, files: Self.safe).script?.user == "nobody")
        let own = NotifyScript(command: "/etc/directord/up.sh", user: ScriptUser(user: "op"))
        #expect(Supervisor.prepare(own, globals: globals, files: Self.safe).script?.user == "op")
    }

    @Test func enableScriptSecurityRefusesAScriptOthersCanChange() {
        let notify = NotifyScript(command: "/etc/directord/up.sh")
        let strict = GlobalSettings(scriptUser: ScriptUser(user: "root"), enableScriptSecurity: true)
        let refused = Supervisor.prepare(notify, globals: strict, files: Self.writable)
        #expect(refused.script == nil)
        #expect(refused.problem?.contains("is not run") == true)
        let lax = Supervisor.prepare(notify, globals: GlobalSettings(), files: Self.writable)
        #expect(lax.script != nil && lax.problem?.contains("runs as root although") == true)
        #expect(Supervisor.prepare(notify, globals: strict, files: Self.safe).problem == nil)
    }
}
