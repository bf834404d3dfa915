// The shipped examples (conf.d/ and dist/directord.conf) are valid, warning-free, and mean what their comments say.
import DirectorConfig
import Foundation
import Testing

struct ExampleConfigTests {
    private func loadExamples() -> LoadResult {
        ConfigurationLoader().load(path: Paths.sourceFixtures + "/confd-main.conf")
    }

    @Test func examplesAreValidWithoutWarnings() throws {
        let result = loadExamples()
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let config = try #require(result.configuration)
        #expect(config.globals.routerID == "LB1")
        #expect(config.syncGroups.map(\.name) == ["VG_DIRECTOR"])
        #expect(config.vrrpInstances.map(\.name) == ["VI_OUTSIDE", "VI_INSIDE"])
        #expect(config.effectiveSyncDaemon == LVSSyncDaemon(interface: "eth1", instance: "VI_INSIDE", syncID: 51))
        #expect(config.virtualServers.map(\.key.description) == ["203.0.113.10 80", "203.0.113.20 443", "198.51.100.10 80", "203.0.113.53 53", "203.0.113.25 25", "203.0.113.30 8080"])
        let nat = config.virtualServers[0]
        #expect(nat.forwarding == .nat)
        #expect(nat.sorryServer?.endpoint.description == "10.0.0.20:8080")
        #expect(nat.realServers.allSatisfy { $0.checks.first?.urls.first?.digest?.count == 32 })
        let dr = config.virtualServers[1]
        #expect(dr.forwarding == .dr)
        #expect(dr.persistenceTimeout == 300)
        #expect(dr.realServers.allSatisfy { $0.checks.first?.kind == .tcp })
        // ha_suspend: its checks follow the VIP that VI_OUTSIDE holds on the MASTER.
        #expect(dr.haSuspend)
        if case .endpoint(let endpoint) = dr.key {
            #expect(config.vrrpInstances[0].virtualAddresses.contains { $0.prefix.address == endpoint.address })
        }
        let active = config.virtualServers[2]
        #expect(active.announce && active.scheduler == .mh && active.schedulerFlags.mhPort && active.forwarding == .dr)
        #expect(config.virtualServers[3].realServers.first?.checks.first?.kind == .dns)
        #expect(config.virtualServers[4].realServers.first?.checks.first?.network.heloName == "lb1.example.test")
        #expect(config.globals.announce.rise == .seconds(3) && config.globals.announce.minimumUptime == .seconds(5))
        let programs = config.virtualServers[5]
        #expect(programs.realServers.map { $0.checks.map(\.kind) } == [[.misc, .file], [.misc]])
        #expect(programs.realServers[0].checks[1].file == FileCheckConfig(trackFile: "app_maintenance", path: "/run/directord-app-maintenance", weight: 0))
        #expect(programs.realServers[1].checks[0].misc?.dynamic == true)
        #expect(config.trackFiles.map(\.name) == ["app_maintenance"])
    }

    @Test func examplesRoundTripThroughTheDump() throws {
        let config = try #require(loadExamples().configuration)
        #expect(ConfigurationLoader.parse(ConfigurationWriter.render(config)).configuration == config)
    }

    @Test func distMainFileIncludesConfDNextToIt() throws {
        let root = NSTemporaryDirectory() + "directord-etc-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Paths.repositoryRoot + "/dist/directord.conf", toPath: root + "/directord.conf")
        try FileManager.default.copyItem(atPath: Paths.repositoryRoot + "/conf.d", toPath: root + "/conf.d")
        let installed = ConfigurationLoader().load(path: root + "/directord.conf")
        #expect(installed.diagnostics.isEmpty, "\(installed.diagnostics)")
        #expect(installed.configuration == loadExamples().configuration)
    }
}

struct CheckReportTests {
    @Test func validConfigurationReportsWarningsAndVerdict() {
        let fs = InMemoryFileSystem(["a.conf": "vrrp_script s {\n    script “true”\n}\n"])
        let report = ConfigurationCheck.report(path: "a.conf", dump: true, program: "directorctl", loader: ConfigurationLoader(fileSystem: fs))
        #expect(report.valid)
        #expect(report.messages == """
            a.conf:2:12: warning: typographic quotes (\u{201C} \u{201D}) read as plain quotes; write " instead
            directorctl: a.conf: configuration is valid (1 warning)

            """)
        #expect(report.output.contains("vrrp_script s {\n    script true\n"))
    }

    @Test func invalidConfigurationReportsEveryErrorAndNoDump() {
        let fs = InMemoryFileSystem(["a.conf": "global_defs {\n    router_idd x\n    vrrp_version 4\n}\n"])
        let report = ConfigurationCheck.report(path: "a.conf", dump: true, program: "directord", loader: ConfigurationLoader(fileSystem: fs))
        #expect(!report.valid)
        #expect(report.output.isEmpty)
        #expect(report.messages == """
            a.conf:2:5: error: unknown keyword 'router_idd' in global_defs; did you mean 'router_id'?
            a.conf:3:18: error: 'vrrp_version' must be one of 2|3, not '4'
            directord: a.conf: 2 errors; the configuration is not valid

            """)
    }
}
