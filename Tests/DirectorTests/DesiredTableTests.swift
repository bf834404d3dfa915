import DirectorConfig
import IPVS
import Testing

@testable import Director

@Suite struct DesiredTableTests {
    func configuration(_ text: String) throws -> Configuration {
        let result = ConfigurationLoader.parse(text)
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.configuration)
    }

    @Test func persistenceSchedulerFlagsAndGranularity() throws {
        let config = try configuration("""
            virtual_server 192.0.2.10 443 {
                lb_algo sh
                sh-port
                sh-fallback
                lb_kind DR
                persistence_timeout 600
                persistence_granularity 255.255.255.0
                protocol TCP
                real_server 192.0.2.21 443 {
                    weight 1
                }
            }
            """)
        let rules = DesiredTable.rules(for: config) { $0.realServers.map(DesiredDestination.init(real:)) }
        let service = try #require(rules.first?.service)
        #expect(service.scheduler == "sh")
        #expect(service.flags == [.persistent, .shFallback, .shPort])
        #expect(service.timeout == 600)
        #expect(service.netmask == 0xFFFF_FF00)
        #expect(rules.first?.destinations.first?.forwarding == .route)
    }

    @Test func persistenceEngineTravelsWithPersistenceOnly() throws {
        let config = try configuration("""
            virtual_server 192.0.2.10 5060 {
                lb_algo rr
                protocol UDP
                persistence_timeout 30
                persistence_engine sip
                real_server 192.0.2.21 5060 {
                    weight 1
                }
            }
            """)
        let rules = DesiredTable.rules(for: config) { $0.realServers.map(DesiredDestination.init(real:)) }
        let service = try #require(rules.first?.service)
        #expect(service.persistenceEngine == "sip" && service.flags == [.persistent] && service.timeout == 30)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)

        // keepalived sends the engine only with persistence: without it the engine is ignored, with a warning.
        let loose = ConfigurationLoader.parse("""
            virtual_server 192.0.2.10 5060 {
                protocol UDP
                persistence_engine sip
                lb_kind DR
                real_server 192.0.2.21 5060 {
                }
            }
            """)
        #expect(loose.errors.isEmpty && loose.warnings.map { "\($0.location.line):\($0.location.column)" } == ["3:24"], "\(loose.diagnostics)")
        #expect(loose.configuration?.virtualServers.first?.persistenceEngine == nil)
        let long = ConfigurationLoader.parse("virtual_server 192.0.2.10 5060 {\n protocol UDP\n persistence_timeout\n persistence_engine abcdefghijklmnop\n real_server 192.0.2.21 5060 {\n }\n}\n")
        #expect(long.errors.map { "\($0.location.line):\($0.location.column)" } == ["4:21"], "a name longer than IP_VS_PENAME_MAXLEN is refused")
    }

    @Test func rawSchedulerFlagsAreSetForAnyScheduler() throws {
        let config = try configuration("""
            virtual_server 192.0.2.10 80 {
                lb_algo rr
                flag-1
                flag-3
                protocol TCP
                real_server 192.0.2.21 80 {
                }
            }
            virtual_server 192.0.2.11 80 {
                lb_algo sh
                flag-2
                protocol TCP
                real_server 192.0.2.21 80 {
                }
            }
            """)
        let rules = DesiredTable.rules(for: config) { $0.realServers.map(DesiredDestination.init(real:)) }
        #expect(rules.map(\.service.flags) == [[.scheduler1, .scheduler3], [.shPort]])
        #expect(config.virtualServers[0].schedulerFlags == SchedulerFlags(flag1: true, flag3: true))
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func aGroupExpandsToOneServicePerMember() throws {
        let config = try configuration("""
            virtual_server_group WEB {
                192.0.2.1-3 80
                fwmark 9
            }
            virtual_server group WEB {
                lb_algo rr
                lb_kind NAT
                protocol TCP
                real_server 10.0.0.5 80 {
                    weight 2
                }
            }
            """)
        let keys = DesiredTable.rules(for: config) { $0.realServers.map(DesiredDestination.init(real:)) }.map(\.key)
        #expect(keys == [
            .address(.tcp, .ipv4(192, 0, 2, 1), port: 80), .address(.tcp, .ipv4(192, 0, 2, 2), port: 80),
            .address(.tcp, .ipv4(192, 0, 2, 3), port: 80), .firewallMark(9, family: .ipv4),
        ])
    }

    @Test func ipv6ServicesKeepTheirFamily() throws {
        let config = try configuration("""
            virtual_server 2001:db8::10 53 {
                lb_algo lc
                lb_kind NAT
                protocol UDP
                ops
                real_server 2001:db8:1::53 53 {
                    weight 1
                }
            }
            """)
        let rules = DesiredTable.rules(for: config) { $0.realServers.map(DesiredDestination.init(real:)) }
        #expect(rules.first?.key == .address(.udp, IPAddress("2001:db8::10") ?? .zero(.ipv6), port: 53))
        #expect(rules.first?.service.flags == [.onePacket])
        #expect(rules.first?.service.netmask == 128)
        #expect(rules.first?.destinations.first?.address == IPAddress("2001:db8:1::53"))
    }
}
