// HTTP_GET url regex keywords as keepalived 2.2.7 reads them, checked with PCRE2 at load, and back through the dump.
import DirectorConfig
import Testing

struct RegexConfigTests {
    func config(_ url: String) -> String {
        """
        virtual_server 192.0.2.1 80 {
            protocol TCP
            lb_kind DR
            real_server 10.0.0.1 80 {
                HTTP_GET {
                    url {
                        path /health
        \(url)
                    }
                }
            }
        }
        """
    }

    @Test func everyKeywordIsReadAndRoundTrips() throws {
        let result = parse(config("""
                        regex "status: (OK|WARN)"
                        regex_no_match
                        regex_options caseless multiline
                        regex_min_offset 10
                        regex_max_offset 200
                        regex_stack 32768 65536
            """))
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.short))")
        let c = try #require(result.configuration)
        let regex = try #require(c.virtualServers.first?.realServers.first?.checks.first?.urls.first?.regex)
        #expect(regex.pattern == "status: (OK|WARN)" && regex.noMatch && regex.options == ["caseless", "multiline"])
        #expect(regex.minOffset == 10 && regex.maxOffset == 200 && regex.stack?.start == 32768 && regex.stack?.max == 65536)
        #expect(regex.compileFlags == 0x8 | 0x400, "PCRE2_CASELESS | PCRE2_MULTILINE")
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(c)).configuration == c)
    }

    @Test func aPatternThatDoesNotCompileIsAnErrorAtItsPlace() {
        let result = parse(config("                regex \"(unclosed\""))
        #expect(result.errors.map(\.place) == ["8:23"])
        #expect(result.errors.first?.message.contains("does not compile at offset 9") == true, "\(result.errors.map(\.short))")
    }

    @Test func unknownOptionsAndModifiersWithoutARegexWarn() {
        let result = parse(config("""
                        regex_options caseless bogus
                        regex_no_match
            """))
        #expect(result.errors.isEmpty)
        #expect(result.warnings.map(\.place) == ["8:13", "8:36", "9:13"], "\(result.warnings.map(\.short))")
    }

    @Test func insideQuotesABackslashEscapesAsInKeepalived() throws {
        let c = try #require(valid(config(#"                regex "^\\d+ \w\tOK$""#)))
        #expect(c.virtualServers.first?.realServers.first?.checks.first?.urls.first?.regex?.pattern == "^\\d+ w\tOK$")
    }

    @Test func badNumbersAreRefused() {
        for bad in ["regex_min_offset -1", "regex_max_offset x", "regex_stack 10 5", "regex_stack 10"] {
            #expect(!parse(config("                \(bad)")).errors.isEmpty, "\(bad)")
        }
    }
}
