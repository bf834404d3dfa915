import DirectorConfig
import HealthCheck
import Testing

@testable import Director

/// The SSL block reaches every SSL_GET, and its files are loaded before the checks start (only when an SSL_GET uses it).
@Suite struct SSLIdentityTests {
    func configuration(ssl: String, check: String) throws -> Configuration {
        let result = ConfigurationLoader.parse("""
            SSL {
                \(ssl)
            }
            virtual_server 192.0.2.1 443 {
                protocol TCP
                lb_kind DR
                real_server 10.0.0.1 443 {
                    \(check) {
                        url {
                            path /
                        }
                    }
                }
            }
            """)
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.configuration)
    }

    @Test func sslGetCarriesTheIdentityAndHttpGetDoesNot() throws {
        let config = try configuration(ssl: "certificate /nonexistent/client.pem\n key /nonexistent/client.key\n password pw", check: "SSL_GET")
        let spec = try HealthPlans.spec(for: try #require(config.virtualServers.first?.realServers.first?.checks.first), ssl: config.ssl)
        guard case .http(let http) = spec.probe else {
            Issue.record("not an HTTP probe")
            return
        }
        #expect(http.tls?.identity == TLSClientIdentity(certificateFile: "/nonexistent/client.pem", keyFile: "/nonexistent/client.key", password: "pw"))
        #expect(HealthPlans.requiredIdentity(try configuration(ssl: "key /k", check: "HTTP_GET")) == nil, "no SSL_GET, no file read (keepalived's ssl_required)")
    }

    @Test func anUnreadableFileStopsTheStartAndNamesTheBlock() throws {
        let config = try configuration(ssl: "certificate /nonexistent/client.pem", check: "SSL_GET")
        #expect(throws: TLSIdentityUnusable.self) { try Supervisor.prepareTLS(config) }
        #expect(throws: Never.self) { try Supervisor.prepareTLS(try configuration(ssl: "certificate /nonexistent/client.pem", check: "HTTP_GET")) }
        do {
            try Supervisor.prepareTLS(config)
        } catch {
            #expect(error.description.hasPrefix("directord.conf:1:1: SSL block: "), "\(error)")
            #expect(error.description.contains("/nonexistent/client.pem"))
        }
    }
}
