// SMTP_CHECK, DNS_CHECK, UDP_CHECK and PING_CHECK as keepalived 2.2.7 reads them, and back through the dump.
import DirectorConfig
import Testing

struct NetworkCheckConfigTests {
    private func config(_ checks: String) -> String {
        """
        virtual_server 192.0.2.1 53 {
            protocol UDP
            real_server 10.0.0.1 53 {
        \(checks)
            }
        }
        """
    }

    @Test func keywordsAndDefaults() throws {
        let c = try #require(valid(config("""
            SMTP_CHECK {
                connect_port 25
                helo_name lb1.example.test
            }
            DNS_CHECK {
                type A
                name www.example.test.
            }
            UDP_CHECK {
                payload Ab12f 3
                require_reply AB 1x
                max_reply_length 64
            }
            PING_CHECK {
            }
        """)))
        let checks = try #require(c.virtualServers.first?.realServers.first?.checks)
        #expect(checks.map(\.kind) == [.smtp, .dns, .udp, .ping])
        #expect(checks[0].network.heloName == "lb1.example.test" && checks[0].connectPort == 25 && checks[0].delayBeforeRetry == .seconds(1))
        #expect(checks[1].network.dnsType == .a && checks[1].network.dnsName == "www.example.test")
        #expect(checks[1].retry == 3 && checks[1].delayBeforeRetry == checks[1].delayLoop)
        #expect(checks[2].network.payload == [0xAB, 0x12, 0x0F, 0x03])
        #expect(checks[2].network.replyPattern == HexPattern(bytes: [0xAB, 0x10], ignoredBits: [0, 0x0F]))
        #expect(checks[2].network.requireReply && checks[2].network.maxReplyLength == 64)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(c)).configuration == c)
    }

    @Test func smtpHostBlocksBecomeChecksWithAWarning() throws {
        let result = parse(config("""
            SMTP_CHECK {
                helo_name h
                host {
                    connect_ip 10.0.0.2
                    connect_port 2525
                }
                host {
                    connect_port 587
                }
            }
        """))
        #expect(result.errors.isEmpty)
        #expect(result.diagnostics.contains { $0.message.contains("deprecated") })
        let checks = try #require(result.configuration?.virtualServers.first?.realServers.first?.checks)
        #expect(checks.map { "\($0.connectIP):\($0.connectPort) \($0.network.heloName)" } == ["10.0.0.2:2525 h", "10.0.0.1:587 h"])
    }

    @Test func badValuesAreErrors() {
        #expect(!parse(config("DNS_CHECK {\n type PTR\n}")).errors.isEmpty)
        #expect(!parse(config("DNS_CHECK {\n name a..b\n}")).errors.isEmpty)
        #expect(!parse(config("UDP_CHECK {\n payload 12zz\n}")).errors.isEmpty)
        #expect(!parse(config("UDP_CHECK {\n payload 1x\n}")).errors.isEmpty)
    }
}
