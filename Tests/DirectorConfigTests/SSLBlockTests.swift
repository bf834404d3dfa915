// keepalived's top-level SSL block: read, written back, and its repeats handled as keepalived does.
import DirectorConfig
import Testing

struct SSLBlockTests {
    @Test func theBlockIsReadAndRoundTrips() throws {
        let result = parse("""
            SSL {
                password "pass phrase"
                ca /etc/directord/ca.pem
                certificate /etc/directord/client.pem
                key /etc/directord/client.key
            }
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.short))")
        let config = try #require(result.configuration)
        #expect(config.ssl == SSLSettings(password: "pass phrase", ca: "/etc/directord/ca.pem",
                                          certificate: "/etc/directord/client.pem", key: "/etc/directord/client.key"))
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
        #expect(valid("")?.ssl == nil)
    }

    @Test func repeatsReplaceWithAWarning() throws {
        let result = parse("""
            SSL {
                key /a.key
                key /b.key
            }
            SSL {
                certificate /c.pem
            }
            """)
        #expect(result.errors.isEmpty)
        #expect(result.warnings.map(\.place) == ["3:5", "5:1"])
        #expect(result.configuration?.ssl == SSLSettings(certificate: "/c.pem"), "the second block replaces the first, as in keepalived")
    }

    @Test func unknownKeywordsAreErrors() {
        let result = parse("SSL {\n    cert /a.pem\n}\n")
        #expect(result.errors.map(\.place) == ["2:5"])
    }
}
