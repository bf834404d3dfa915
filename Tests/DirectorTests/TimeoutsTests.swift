import DirectorConfig
import IPVS
import Testing

@testable import Director

/// lvs_timeouts: set at start, changed on reload, the kernel's own values back at stop (keepalived 2.2.7's meaning).
@Suite struct TimeoutsTests {
    func sets(_ calls: [RecordingIPVSTable.Call]) -> [IPVSTimeouts] {
        calls.compactMap { if case .setTimeouts(let t) = $0 { t } else { nil } }
    }

    @Test func unsetFieldsKeepTheKernelsOriginalValues() throws {
        var keeper = TimeoutKeeper()
        let kernel = IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)
        #expect(keeper.target(for: LVSTimeouts(), read: { kernel }) == nil, "nothing configured, nothing changed: no set")
        #expect(keeper.target(for: LVSTimeouts(tcp: 7200), read: { kernel }) == IPVSTimeouts(tcp: 7200, tcpFin: 120, udp: 300))
        // The originals are read once: what the kernel says later is directord's own setting.
        #expect(keeper.target(for: LVSTimeouts(udp: 30), read: { IPVSTimeouts(tcp: 7200, tcpFin: 120, udp: 300) })
            == IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 30))
        #expect(keeper.target(for: LVSTimeouts(), read: { kernel }) == kernel, "once changed, empty means restore")
    }

    @Test func startReloadAndStop() async throws {
        let files = FakeFiles()
        files[path] = "global_defs {\n lvs_timeouts tcp 7200 udp 60\n}\n" + webConfig()
        let shared = SharedTable()
        shared.table.currentTimeouts = IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)
        let engine = try makeEngine(files, shared)
        try await engine.start()
        #expect(sets(shared.table.calls) == [IPVSTimeouts(tcp: 7200, tcpFin: 120, udp: 60)])
        #expect(shared.table.currentTimeouts == IPVSTimeouts(tcp: 7200, tcpFin: 120, udp: 60))

        let supervisor = makeSupervisor(engine, files)
        shared.table.clearCalls()
        files[path] = "global_defs {\n lvs_timeouts tcp 7200 udp 60\n}\n" + webConfig(weight: 4)
        #expect(await supervisor.reload(file: path).ok)
        #expect(sets(shared.table.calls).isEmpty, "unchanged timeouts are not set again")

        files[path] = "global_defs {\n lvs_timeouts tcpfin 10\n}\n" + webConfig(weight: 4)
        let diff = await supervisor.diff(file: path)
        #expect(diff.plan?.ipvsOperations == ["set IPVS timeouts tcpfin 10"])
        #expect(await supervisor.reload(file: path).ok)
        #expect(shared.table.currentTimeouts == IPVSTimeouts(tcp: 900, tcpFin: 10, udp: 300), "fields no longer set get the kernel's own back")

        files[path] = webConfig(weight: 4)
        #expect(await supervisor.reload(file: path).ok)
        #expect(shared.table.currentTimeouts == IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300))

        files[path] = "global_defs {\n lvs_timeouts tcp 5\n}\n" + webConfig(weight: 4)
        #expect(await supervisor.reload(file: path).ok)
        shared.table.clearCalls()
        await engine.stop(mode: .keep)
        #expect(sets(shared.table.calls) == [IPVSTimeouts(tcp: 900, tcpFin: 120, udp: 300)], "stop restores, whatever the mode")
    }

    @Test func withoutLvsTimeoutsTheKernelsAreNeverTouched() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        try await engine.start()
        await engine.stop(mode: .removeOwned)
        #expect(!shared.table.calls.contains { if case .setTimeouts = $0 { true } else if case .timeouts = $0 { true } else { false } })
    }

    @Test func parsing() throws {
        let ok = ConfigurationLoader.parse("global_defs {\n lvs_timeouts udp 30 tcp 3600\n lvs_timeouts tcpfin 20\n}\n", name: "t.conf")
        #expect(ok.errors.isEmpty, "\(ok.errors)")
        #expect(ok.configuration?.globals.lvsTimeouts == LVSTimeouts(tcp: 3600, tcpFin: 20, udp: 30))
        let written = try #require(ok.configuration.map(ConfigurationWriter.render))
        #expect(ConfigurationLoader.parse(written, name: "w.conf").configuration == ok.configuration)
        for bad in ["lvs_timeouts tcp", "lvs_timeouts tcp 2678401", "lvs_timeouts syn 10", "lvs_timeouts tcp 10 udp"] {
            let result = ConfigurationLoader.parse("global_defs {\n \(bad)\n}\n", name: "t.conf")
            #expect(!result.errors.isEmpty, "\(bad) is refused")
        }
    }
}
