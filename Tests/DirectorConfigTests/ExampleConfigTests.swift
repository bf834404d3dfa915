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
        #expect(config.virtualServers.map(\.key.description) == ["203.0.113.10 80", "203.0.113.20 443"])
        let nat = config.virtualServers[0]
        #expect(nat.forwarding == .nat)
        #expect(nat.sorryServer?.endpoint.description == "10.0.0.20:8080")
        #expect(nat.realServers.allSatisfy { $0.checks.first?.urls.first?.digest?.count == 32 })
        let dr = config.virtualServers[1]
        #expect(dr.forwarding == .dr)
        #expect(dr.persistenceTimeout == 300)
        #expect(dr.realServers.allSatisfy { $0.checks.first?.kind == .tcp })
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
