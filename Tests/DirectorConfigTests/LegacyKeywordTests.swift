// Obsolete words that keepalived 2.2.7 still runs with: each is read with keepalived's meaning and a warning
// at its file:line:col that says what keepalived does with it.
import DirectorConfig
import Testing

struct LegacyKeywordTests {
    private static let legacy = """
        global_defs {
            lvs_id LVS_MAIN
        }
        virtual_server 192.0.2.1 80 {
            lb_kind DR
            nat_mask 255.255.255.0
            protocol TCP
            real_server 10.0.0.1 80 {
                TCP_CHECK {
                    connect_timeout 3
                    nb_get_retry 3
                }
            }
            real_server 10.0.0.2 80 {
                HTTP_GET {
                    url {
                        path /
                    }
                    nb_get_retry 4
                }
            }
        }
        """

    @Test func eachObsoleteWordWarnsWhereItIsWritten() {
        let result = parse(Self.legacy)
        #expect(result.errors.isEmpty, "\(result.errors.map(\.short))")
        #expect(result.warnings.map(\.short) == [
            "2:5: warning: 'lvs_id' is ignored: obsolete: keepalived 2.2.7 reports it as an unknown keyword and ignores it (router_id names the director)",
            "6:5: warning: 'nat_mask' is ignored: obsolete (Linux 2.2 masquerading): keepalived 2.2.7 reports it as an unknown keyword and ignores it",
            "11:13: warning: 'nb_get_retry' is ignored: keepalived 2.2.7 reads it only in HTTP_GET and SSL_GET, and ignores it here as an unknown keyword; write 'retry'",
            "19:13: warning: 'nb_get_retry' is deprecated: read as 'retry', as keepalived does; write 'retry'",
        ])
    }

    @Test func nbGetRetryIsRetryInHTTPGetOnly() throws {
        let config = try #require(parse(Self.legacy).configuration)
        let reals = try #require(config.virtualServers.first?.realServers)
        #expect(reals.map { $0.checks.map(\.retry) } == [[HealthCheck.defaultRetry], [4]])
    }

    @Test func stateSlaveIsBackup() throws {
        let result = parse(instance(extra: "    state SLAVE\n"))
        #expect(result.warnings.map(\.short) == ["7:11: warning: state 'SLAVE' is obsolete: read as BACKUP, as keepalived does; write BACKUP"])
        #expect(result.configuration?.vrrpInstance(named: "VI_1")?.initialState == .backup)
        #expect(parse(instance(extra: "    state MASTR\n")).errors.count == 1, "a typo is still refused")
    }
}
