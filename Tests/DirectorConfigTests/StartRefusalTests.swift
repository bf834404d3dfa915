// What the daemon would refuse at start is refused by `-t` too, with file:line:col (issue #13's first defect).
import DirectorConfig
import Testing

@Suite struct StartRefusalTests {
    @Test func authTypeAHIsReadAndAnInitialMasterStartsAsBackup() throws {
        let result = ConfigurationLoader.parse("""
            vrrp_instance VI_1 {
                state MASTER
                interface eth0
                virtual_router_id 51
                priority 100
                authentication {
                    auth_type AH
                    auth_pass secret
                }
                virtual_ipaddress {
                    192.0.2.10
                }
            }
            """)
        #expect(result.errors.isEmpty)
        let instance = try #require(result.configuration?.vrrpInstances.first)
        #expect(instance.authentication?.type == .ah && instance.initialState == .backup)
        #expect(result.warnings.map(\.description).contains { $0.hasPrefix("directord.conf:1:15: warning: instance 'VI_1': initial state MASTER is incompatible with auth_type AH") })
    }

    @Test func haSuspendIsKeptOnAnAddressAndIgnoredWithAWarningOnAFwmark() throws {
        let result = ConfigurationLoader.parse("""
            virtual_server_group MARKS {
                fwmark 7
            }
            virtual_server 192.0.2.1 80 {
                protocol TCP
                ha_suspend
                real_server 10.0.0.1 80 { }
            }
            virtual_server fwmark 5 {
                ha_suspend
                real_server 10.0.0.1 80 { }
            }
            virtual_server group MARKS {
                ha_suspend
                real_server 10.0.0.1 80 { }
            }
            virtual_server_group WEB {
                10.0.1.1-9 80
            }
            virtual_server group WEB {
                protocol TCP
                ha_suspend
                real_server 10.0.0.1 80 { }
            }
            """)
        #expect(result.errors.isEmpty)
        let servers = try #require(result.configuration?.virtualServers)
        #expect(servers.map(\.haSuspend) == [true, false, false, true])
        #expect(result.warnings.map(\.description).filter { $0.contains("ha_suspend") } == [
            "directord.conf:10:5: warning: 'ha_suspend' is ignored on a fwmark virtual server (a mark has no address to follow): its checks always run, as keepalived clears it",
            "directord.conf:14:5: warning: 'ha_suspend' is ignored on a fwmark virtual server (a mark has no address to follow): its checks always run, as keepalived clears it",
            "directord.conf:22:5: warning: 'ha_suspend' on a group's virtual server: directord runs its checks while any of the group's addresses is on this director (keepalived 2.2.7 never matches a group's address, so there they never run)",
        ])
    }
}
