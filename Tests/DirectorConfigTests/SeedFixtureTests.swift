// Every keepalived config from the seed blog posts: accepted with exactly the expected warnings, or rejected
// at exactly the expected places.
import DirectorConfig
import Testing

struct SeedFixtureTests {
    struct Expectation: Sendable, CustomStringConvertible {
        var file: String
        /// `line:col: severity` plus a fragment of the message, in order.
        var diagnostics: [(String, String)]
        var valid: Bool { !diagnostics.contains { $0.0.hasSuffix("error") } }
        var description: String { file }
    }

    static let cases: [Expectation] = [
        Expectation(file: "seed000-nginx-master.conf", diagnostics: []),
        Expectation(file: "seed000-nginx-slave.conf", diagnostics: []),
        Expectation(file: "seed000-nginx-track-script.conf", diagnostics: []),
        Expectation(file: "seed001-nginx-public-vip-addresses.conf", diagnostics: [
            ("3:4: warning", "'notification_email' is ignored"),
            ("9:4: warning", "'notification_email_from' is ignored"),
            ("11:4: warning", "'smtp_server' is ignored"),
            ("13:4: warning", "'smtp_connect_timeout' is ignored"),
            ("41:5: warning", "'smtp_alert' is ignored"),
        ]),
        Expectation(file: "seed001-nginx-public-vip.conf", diagnostics: [
            ("3:4: warning", "'notification_email' is ignored"),
            ("9:4: warning", "'notification_email_from' is ignored"),
            ("11:4: warning", "'smtp_server' is ignored"),
            ("13:4: warning", "'smtp_connect_timeout' is ignored"),
            ("41:5: warning", "'smtp_alert' is ignored"),
            ("59:9: error", "virtual address 'x.x.x.x/24' is not an address"),
            ("65:13: error", "route gateway 'x.x.x.x' is not an IP address"),
        ]),
        Expectation(file: "seed002-proxy-ha1-master.conf", diagnostics: []),
        Expectation(file: "seed002-proxy-ha2-backup.conf", diagnostics: []),
        Expectation(file: "seed002-proxy-ha2-notify.conf", diagnostics: []),
        Expectation(file: "seed002-proxy-ha1-chk-nginx.conf", diagnostics: []),
        Expectation(file: "seed002-proxy-ha2-chk-nginx.conf", diagnostics: []),
        Expectation(file: "seed002-lvs-nat-master.conf", diagnostics: [
            ("14:1: warning", "'vs_sync_daemon_inteface' is a misspelling of 'lvs_sync_daemon_interface'"),
            ("26:15: warning", "sync daemon interface of vrrp_instance 'VI_LVS_HA' is ignored"),
            ("29:1: warning", "'vs_sync_daemon_inteface' is a misspelling"),
            ("56:1: warning", "'nb_get_retry' is deprecated: read as 'retry'"),
            ("68:1: warning", "'nb_get_retry' is deprecated: read as 'retry'"),
        ]),
        Expectation(file: "seed002-lvs-nat-backup.conf", diagnostics: [
            ("14:1: warning", "'lvs_sync_daemon_inteface' is a misspelling of 'lvs_sync_daemon_interface'"),
            ("26:15: warning", "sync daemon interface of vrrp_instance 'VI_LVS_HA' is ignored"),
            ("29:1: warning", "'lvs_sync_daemon_inteface' is a misspelling"),
            ("56:1: warning", "'nb_get_retry' is deprecated: read as 'retry'"),
            ("68:1: warning", "'nb_get_retry' is deprecated: read as 'retry'"),
        ]),
        Expectation(file: "seed003-keepalived-master-truncated.conf", diagnostics: [
            ("8:20: error", "'vrrp_instance' block opened here is never closed: '}' missing before the end of"),
            ("25:22: error", "'virtual_ipaddress' block opened here is never closed"),
        ]),
        Expectation(file: "seed003-keepalived-backup-truncated.conf", diagnostics: [
            ("7:20: error", "'vrrp_instance' block opened here is never closed"),
        ]),
        Expectation(file: "seed003-vrrp-script.conf", diagnostics: []),
        Expectation(file: "seed003-ocr-garbled.conf", diagnostics: [
            ("1:1: error", "unknown keyword 'I' at the top level"),
            ("2:1: error", "unknown keyword 'global' at the top level; did you mean 'global_defs'?"),
            ("7:1: error", "unknown keyword 'Vrrp_script' at the top level; did you mean 'vrrp_script'?"),
            ("7:31: error", "'Vrrp_script' block opened here is never closed"),
        ]),
        Expectation(file: "seed004-haproxy-lb1.conf", diagnostics: [
            ("2:8: warning", "typographic quotes"),
            ("8:7: warning", "state 'Master' read as MASTER"),
        ]),
        Expectation(file: "seed004-haproxy-lb2.conf", diagnostics: [
            ("2:8: warning", "typographic quotes"),
            ("8:7: warning", "state 'Master' read as MASTER"),
        ]),
    ]

    @Test(arguments: cases)
    func seedFixture(_ expectation: Expectation) {
        let path = Paths.fixture(expectation.file)
        let result = ConfigurationLoader().load(path: path)
        let got = result.diagnostics.map { "\($0.place): \($0.severity.rawValue)" }
        #expect(got == expectation.diagnostics.map(\.0), "\(result.diagnostics.map(\.short))")
        for (diagnostic, (_, fragment)) in zip(result.diagnostics, expectation.diagnostics) {
            #expect(diagnostic.message.contains(fragment), "\(diagnostic.short) should mention \(fragment)")
            #expect(diagnostic.location.file == path)
        }
        #expect((result.configuration != nil) == expectation.valid)
    }

    @Test func everySeedFixtureIsCovered() throws {
        let names = try FileList.names(in: Paths.fixtures).filter { $0.hasPrefix("seed") }
        #expect(Set(names) == Set(Self.cases.map(\.file)))
    }

    @Test func lvsNatMasterModel() throws {
        let config = try #require(ConfigurationLoader().load(path: Paths.fixture("seed002-lvs-nat-master.conf")).configuration)
        #expect(config.globals.routerID == "PROXY_HA1")
        #expect(config.syncGroups.map(\.name) == ["VGM"])
        #expect(config.syncGroups[0].members.map(\.name) == ["VI_LVS_HA", "VI_LOCAL_ADDR"])
        let local = try #require(config.vrrpInstance(named: "VI_LOCAL_ADDR"))
        #expect(local.interface == "eth1")
        #expect(local.virtualRouterID == 11)
        #expect(local.virtualAddresses.map(\.prefix.description) == ["192.168.23.105/32"])
        #expect(local.authentication == VRRPAuthentication(type: .pass, password: "168pass"))
        #expect(config.effectiveSyncDaemon == LVSSyncDaemon(interface: "eth1", instance: "VI_LOCAL_ADDR", syncID: 11))

        #expect(config.virtualServers.count == 1)
        let vs = config.virtualServers[0]
        #expect(vs.key == .endpoint(Endpoint(address: .v4(IPv4Address(172, 16, 23, 80)), port: 80)))
        #expect(vs.scheduler == .rr)
        #expect(vs.forwarding == .nat)
        #expect(vs.protocolType == .tcp)
        #expect(vs.persistenceTimeout == 5)
        #expect(vs.sorryServer?.endpoint == Endpoint(address: .v4(IPv4Address(192, 168, 23, 121)), port: 8080))
        #expect(vs.sorryServer?.forwarding == .nat)
        #expect(vs.realServers.map(\.endpoint.description) == ["192.168.23.80:80", "192.168.23.81:8080"])
        let check = try #require(vs.realServers[1].checks.first)
        #expect(check.kind == .httpGet)
        #expect(check.connectIP == .v4(IPv4Address(192, 168, 23, 81)))
        #expect(check.connectPort == 8080)
        #expect(check.connectTimeout == .seconds(3))
        #expect(check.retry == 3)
        #expect(check.delayBeforeRetry == .seconds(3))
        #expect(check.delayLoop == .seconds(6))
        #expect(check.warmup == .seconds(6))
        #expect(check.urls == [URLCheck(path: "/test.html", digest: "b75859919db38e0501fa02de82026078")])
    }

    @Test func proxyWithScriptAndNotifyModel() throws {
        let config = try #require(ConfigurationLoader().load(path: Paths.fixture("seed002-proxy-ha1-chk-nginx.conf")).configuration)
        let script = try #require(config.vrrpScript(named: "chk_nginx"))
        #expect(script.command == "killall -0 nginx")
        #expect(script.weight == -5)
        #expect(script.fall == 2)
        #expect(script.rise == 1)
        #expect(script.timeout == .seconds(1))
        let instance = try #require(config.vrrpInstance(named: "VI_PROXY_HA"))
        #expect(instance.trackScripts.map(\.name) == ["chk_nginx"])
        #expect(instance.notify.master == NotifyScript(command: "/etc/rc.d/init.d/nginx start"))
        #expect(instance.notify.backup == NotifyScript(command: "/etc/rc.d/init.d/nginx restart"))
        #expect(instance.notify.fault == NotifyScript(command: "/etc/rc.d/init.d/nginx stop"))
    }

    @Test func publicVipWithRoutesAndNotifyModel() throws {
        let config = try #require(ConfigurationLoader().load(path: Paths.fixture("seed001-nginx-public-vip-addresses.conf")).configuration)
        let instance = try #require(config.vrrpInstance(named: "TanChuang_1"))
        #expect(instance.virtualAddresses == [VirtualAddress(prefix: IPPrefix(address: .v4(IPv4Address(203, 0, 113, 10)), length: 24), device: "eth1")])
        #expect(instance.virtualRoutes == [VirtualRoute(destination: IPPrefix(address: .v4(IPv4Address(0)), length: 0), gateway: .v4(IPv4Address(203, 0, 113, 1)), device: "eth1")])
        #expect(instance.notify.any == NotifyScript(command: "/opt/scripts/keepalived/send_msg.sh"))
        #expect(instance.initialState == .backup)
        #expect(instance.priority == 80)
    }

    @Test func haproxyTypographicQuotesAndMixedCaseState() throws {
        let config = try #require(ConfigurationLoader().load(path: Paths.fixture("seed004-haproxy-lb1.conf")).configuration)
        #expect(config.vrrpScript(named: "chk_haproxy")?.command == "kill -0 haproxy")
        #expect(config.vrrpScript(named: "chk_haproxy")?.weight == 2)
        #expect(config.vrrpInstance(named: "VI_1")?.initialState == .master)
        #expect(config.vrrpInstance(named: "VI_1")?.authentication == nil)
    }
}

enum FileList {
    static func names(in directory: String) throws -> [String] {
        try FileManagerNames.list(directory)
    }
}
