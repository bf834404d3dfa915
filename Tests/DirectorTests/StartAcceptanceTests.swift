// What `directord -t` accepts, the engine and the health monitor start: every configuration the loader accepts
// gives health plans with no problem and a desired table with every service.
import DirectorConfig
import Foundation
import Testing

@testable import Director

@Suite struct EngineStartAcceptanceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static func shipped() -> [(String, String)] {
        var texts: [(String, String)] = []
        for directory in [root + "/conf.d", root + "/Tests/DirectorConfigTests/Fixtures"] {
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() where name.hasSuffix(".conf") {
                if let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) { texts.append((name, text)) }
            }
        }
        return texts
    }

    /// Checkers at the edges of what their keywords take.
    static let edges: [(String, String)] = [
        ("HTTP_GET status_code edges", "HTTP_GET {\n url {\n path /\n status_code 100 599 200-299\n digest 0123456789abcdef0123456789abcdef\n }\n connect_timeout 1\n }"),
        ("HTTP_GET IPv6 connect_ip", "HTTP_GET {\n connect_ip 2001:db8::5\n connect_port 8080\n url {\n path /\n }\n }"),
        ("TCP_CHECK bindto and bind_port", "TCP_CHECK {\n bindto 192.0.2.1\n bind_port 1\n connect_port 65535\n }"),
        ("SSL_GET", "SSL_GET {\n url {\n path /health\n }\n }"),
        ("SMTP_CHECK", "SMTP_CHECK {\n helo_name x.example\n }"),
        ("DNS_CHECK", "DNS_CHECK {\n type AAAA\n name example.org\n }"),
        ("UDP_CHECK", "UDP_CHECK {\n connect_port 53\n }"),
        ("PING_CHECK", "PING_CHECK {\n }"),
        ("MISC_CHECK", "MISC_CHECK {\n misc_path \"/bin/true\"\n misc_timeout 3\n }"),
    ]

    @Test func everyConfigurationTheLoaderAcceptsGivesHealthPlansAndATable() {
        var texts = Self.shipped()
        for (name, check) in Self.edges { texts.append((name, "virtual_server 10.2.0.1 80 {\n    protocol TCP\n    real_server 10.2.1.1 80 {\n\(check)\n    }\n}\n")) }
        var accepted = 0
        for (name, text) in texts {
            let result = ConfigurationLoader.parse(text, name: name)
            if Self.edges.contains(where: { $0.0 == name }) { #expect(result.errors.isEmpty, "\(name): \(result.errors)") }
            guard let configuration = result.configuration else { continue }
            accepted += 1
            let (plans, problems) = HealthPlans.plans(for: configuration)
            #expect(problems.isEmpty, "\(name): -t accepts it, but the health monitor refuses: \(problems)")
            #expect(plans.count == configuration.virtualServers.count, "\(name)")
            let rules = DesiredTable.rules(for: configuration) { $0.realServers.map(DesiredDestination.init(real:)) }
            let groups = DesiredTable.groupsByName(configuration)
            let keys = configuration.virtualServers.flatMap { DesiredTable.serviceKeys(for: $0, groups: groups) }
            #expect(rules.count == keys.count, "\(name)")
        }
        #expect(accepted > 20)
    }
}
