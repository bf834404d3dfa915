import DirectorConfig
import HealthCheck
import Testing

@testable import Director

/// fwmark and bind_if travel from the configuration into each probe's socket options.
@Suite struct HealthPlansSocketTests {
    @Test func everyConnectingProbeCarriesThem() throws {
        let result = ConfigurationLoader.parse("""
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind DR
                real_server 10.0.0.1 80 {
                    TCP_CHECK {
                        fwmark 9
                        bind_if eth1
                    }
                    HTTP_GET {
                        url {
                            path /
                        }
                        fwmark 9
                        bind_if eth1
                    }
                    SMTP_CHECK {
                        fwmark 9
                        bind_if eth1
                    }
                    DNS_CHECK {
                        fwmark 9
                        bind_if eth1
                    }
                    UDP_CHECK {
                        fwmark 9
                        bind_if eth1
                    }
                    PING_CHECK {
                        fwmark 9
                        bind_if eth1
                    }
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        let checks = try #require(result.configuration?.virtualServers.first?.realServers.first?.checks)
        let wanted = CheckSocketOptions(mark: 9, interface: "eth1")
        for check in checks {
            let socket: CheckSocketOptions
            switch try HealthPlans.spec(for: check).probe {
            case .tcp(let c): socket = c.socket
            case .http(let c): socket = c.socket
            case .smtp(let c): socket = c.socket
            case .dns(let c): socket = c.socket
            case .udp(let c): socket = c.socket
            case .ping(let c): socket = c.socket
            default:
                Issue.record("unexpected probe for \(check.kind)")
                continue
            }
            #expect(socket == wanted, "\(check.kind)")
        }
        #expect(checks.count == 6)
    }
}
