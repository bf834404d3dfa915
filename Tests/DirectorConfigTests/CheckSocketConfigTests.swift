// fwmark and bind_if in every connecting checker, as keepalived 2.2.7 reads them, and back through the dump.
import DirectorConfig
import Testing

struct CheckSocketConfigTests {
    @Test func everyConnectingCheckerTakesThem() throws {
        let text = """
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind DR
                real_server 10.0.0.1 80 {
                    HTTP_GET {
                        url {
                            path /
                        }
                        fwmark 4294967295
                        bind_if eth1
                    }
                    TCP_CHECK {
                        fwmark 7
                    }
                    SMTP_CHECK {
                        connect_port 25
                        bind_if eth1
                    }
                    PING_CHECK {
                        fwmark 0
                    }
                    TCP_CHECK {
                        connect_ip fe80::1
                        bind_if eth1
                    }
                }
            }
            """
        let result = ConfigurationLoader.parse(text)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.short))")
        let config = try #require(result.configuration)
        let checks = try #require(config.virtualServers.first?.realServers.first?.checks)
        #expect(checks.map(\.fwmark) == [UInt32.max, 7, nil, nil, nil], "fwmark 0 is no mark, as in keepalived")
        #expect(checks.map(\.bindInterface) == ["eth1", nil, "eth1", nil, "eth1"])
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func aLinkLocalAddressNeedsAnInterface() {
        let result = ConfigurationLoader.parse("""
            virtual_server 192.0.2.1 80 {
                protocol TCP
                lb_kind DR
                real_server 10.0.0.1 80 {
                    TCP_CHECK {
                        connect_ip fe80::1
                    }
                    TCP_CHECK {
                        connect_ip 2001:db8::1
                        bindto fe80::2
                    }
                }
            }
            """)
        #expect(result.errors.map(\.place) == ["5:9"], "keepalived's check_conn_opts refuses it too")
        #expect(result.errors.first?.message.contains("needs 'bind_if'") == true)
        #expect(result.warnings.map(\.place) == ["8:9"], "a link-local source without an interface: every check fails")
    }

    @Test func badValuesAreRefused() {
        for bad in ["fwmark -1", "fwmark 4294967296", "bind_if abcdefghijklmnop", "bind_if a/b"] {
            let result = ConfigurationLoader.parse("virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_kind DR\n real_server 10.0.0.1 80 {\n  TCP_CHECK {\n   \(bad)\n  }\n }\n}\n")
            #expect(result.errors.map(\.place) == ["6:\(bad.hasPrefix("fwmark") ? 11 : 12)"], "\(bad)")
        }
    }
}
