// `--dump` output: every default spelled out, and parsing it gives back an equal configuration.
import DirectorConfig
import Foundation
import Testing

struct WriterTests {
    static var validFixtures: [String] {
        SeedFixtureTests.cases.filter(\.valid).map(\.file)
    }

    @Test(arguments: validFixtures)
    func dumpRoundTrips(_ file: String) throws {
        let config = try #require(ConfigurationLoader().load(path: Paths.fixture(file)).configuration)
        let dumped = ConfigurationWriter.render(config)
        let reparsed = ConfigurationLoader.parse(dumped)
        #expect(reparsed.errors.isEmpty, "\(reparsed.errors)\n\(dumped)")
        #expect(reparsed.configuration == config, "\(dumped)")
        // A dump of the dump is the same text: the output is normalised.
        if let again = reparsed.configuration { #expect(ConfigurationWriter.render(again) == dumped) }
    }

    @Test func dumpSpellsOutDefaults() throws {
        let config = try #require(ConfigurationLoader().load(path: Paths.fixture("seed002-lvs-nat-master.conf")).configuration)
        let dumped = ConfigurationWriter.render(config)
        #expect(dumped.contains("""
                    HTTP_GET {
                        connect_ip 192.168.23.80
                        connect_port 80
                        connect_timeout 3
                        retry 3
                        delay_before_retry 3
                        delay_loop 6
                        warmup 6
                        alpha off
                        http_protocol 1.0
                        url {
                            path /test.html
                            digest 60f16b089b6c69717ffdd41fc0896652
                            status_code 200-299
                        }
                    }
            """))
        #expect(dumped.contains("    sorry_server 192.168.23.121 8080\n    sorry_server_lvs_method NAT\n"))
        #expect(dumped.contains("    vs_sync_daemon_inteface") == false)
        #expect(dumped.contains("    lvs_sync_daemon_interface eth1\n"))
    }

    @Test func quotingSurvivesTheRoundTrip() throws {
        let config = try #require(valid("""
            vrrp_script s {
                script "/bin/sh -c 'test -e /run/x' # \\"really\\" {"
            }
            """))
        let reparsed = ConfigurationLoader.parse(ConfigurationWriter.render(config))
        #expect(reparsed.configuration == config)
        #expect(reparsed.configuration?.vrrpScript(named: "s")?.command == "/bin/sh -c 'test -e /run/x' # \"really\" {")
    }

    @Test func equalityIgnoresLineNumbersButNotValues() throws {
        let a = try #require(valid(instance()))
        let b = try #require(valid("\n\n# moved down\n" + instance()))
        let c = try #require(valid(instance(extra: "    priority 99")))
        #expect(a == b)
        #expect(a != c)
        #expect(a.vrrpInstances[0].origin.location?.line != b.vrrpInstances[0].origin.location?.line)
    }
}
