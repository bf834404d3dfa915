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

    @Test func haSuspendWarnsThatItIsNotImplemented() {
        let result = ConfigurationLoader.parse("virtual_server 192.0.2.1 80 {\n    protocol TCP\n    ha_suspend\n    real_server 10.0.0.1 80 { }\n}")
        #expect(result.errors.isEmpty)
        #expect(result.warnings.contains { $0.description.hasPrefix("directord.conf:3:5: warning: 'ha_suspend' is not implemented") })
    }
}
