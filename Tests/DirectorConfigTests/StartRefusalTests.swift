// What the daemon would refuse at start is refused by `-t` too, with file:line:col (issue #13's first defect).
import DirectorConfig
import Testing

@Suite struct StartRefusalTests {
    @Test func authTypeAHIsRefusedWhereItIsWritten() {
        let result = ConfigurationLoader.parse("""
            vrrp_instance VI_1 {
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
        #expect(result.configuration == nil)
        #expect(result.errors.map(\.description) == ["directord.conf:6:19: error: auth_type AH (IPsec) is not supported; use PASS, or VRRP version 3 without authentication"])
    }

    @Test func haSuspendWarnsThatItIsNotImplemented() {
        let result = ConfigurationLoader.parse("virtual_server 192.0.2.1 80 {\n    protocol TCP\n    ha_suspend\n    real_server 10.0.0.1 80 { }\n}")
        #expect(result.errors.isEmpty)
        #expect(result.warnings.contains { $0.description.hasPrefix("directord.conf:3:5: warning: 'ha_suspend' is not implemented") })
    }
}
