// `directord -t` puts every script of the configuration through the host's script policy, as start does.
import DirectorConfig
import Testing

@testable import VRRPHost

struct ScriptAuditTests {
    static let config = """
        global_defs {
            enable_script_security
        }
        vrrp_script chk_web {
            script "/usr/bin/true"
        }
        vrrp_script chk_own {
            script "/usr/bin/true"
            user op
        }
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            priority 100
            virtual_ipaddress {
                192.0.2.10
            }
            track_script {
                chk_web
                chk_own
            }
            notify_master "/usr/bin/true master"
        }
        virtual_server 192.0.2.10 80 {
            quorum_down "/usr/bin/true quorum"
            real_server 10.0.0.1 80 {
                notify_up "/usr/bin/true up" ghost
                MISC_CHECK {
                    misc_path "/usr/bin/true"
                }
            }
        }
        """

    @Test("every script is named by its role and place, and only the ones this host would not run as written")
    func everyRefusalIsNamed() throws {
        let result = ConfigurationLoader.parse(Self.config, name: "k.conf")
        let configuration = try #require(result.configuration, "\(result.diagnostics)")
        #expect(configuration.scriptUses.map(\.role) == [
            "vrrp_script chk_web", "vrrp_script chk_own", "vrrp_instance VI_1 notify_master",
            "virtual_server 192.0.2.10 80 UDP quorum_down",
            "real_server 10.0.0.1:80 of virtual_server 192.0.2.10 80 UDP notify_up",
            "real_server 10.0.0.1:80 of virtual_server 192.0.2.10 80 UDP MISC_CHECK",
        ])
        let lines = ScriptPolicy.audit(configuration, files: FakeFiles(users: ["op"]))
        // chk_own names a user that exists; every other one names none (no default under enable_script_security)
        // or one that does not exist (ghost).
        #expect(lines.count == 5, "\(lines)")
        #expect(lines.first?.hasPrefix("k.conf:4:13: warning: vrrp_script chk_web: script '/usr/bin/true' is not run: it names no user") == true,
                "\(lines)")
        #expect(lines.contains { $0.contains("notify_up: script '/usr/bin/true up' is not run: its user ghost does not exist") }, "\(lines)")
        #expect(!lines.contains { $0.contains("chk_own") })
        // With a default user every script runs, except the one whose own user is missing.
        let withDefault = ScriptPolicy.audit(configuration, files: FakeFiles(users: ["op", "keepalived_script"]))
        #expect(withDefault.count == 1 && withDefault.first?.contains("ghost") == true, "\(withDefault)")
        // An unusable script_user is reported once, and each script that would have needed it.
        var ghostly = configuration
        ghostly.globals.scriptUser = ScriptUser(user: "ghost")
        let ghostLines = ScriptPolicy.audit(ghostly, files: FakeFiles(users: ["op"]))
        #expect(ghostLines.first == "warning: global_defs script_user: its user ghost does not exist: no script that names no user will run")
        #expect(ghostLines.count == 6 && ghostLines[1].contains("script_user's user ghost does not exist"), "\(ghostLines)")
    }
}
