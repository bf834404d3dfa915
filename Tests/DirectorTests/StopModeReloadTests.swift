import DirectorConfig
import Logging
import Testing

@testable import Director

@Suite struct StopModeReloadTests {
    @Test func theStopModeIsTheRunningConfigurationsNotTheStartOnes() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        let supervisor = makeSupervisor(engine, files)
        let start = try #require(files.load(path).configuration)
        try await supervisor.start(start)
        #expect(DirectorDaemon.stopMode(try #require(await supervisor.runningConfiguration), keepTable: false) == .removeOwned)
        files[path] = "global_defs {\n lvs_keep_on_stop\n}\n" + webConfig()
        #expect(await supervisor.reload(file: path).ok)
        let running = try #require(await supervisor.runningConfiguration)
        #expect(DirectorDaemon.stopMode(running, keepTable: false) == .keep, "a reload that sets lvs_keep_on_stop is honoured at stop")
        files[path] = "global_defs {\n lvs_flush_on_stop\n}\n" + webConfig()
        #expect(await supervisor.reload(file: path).ok)
        #expect(DirectorDaemon.stopMode(try #require(await supervisor.runningConfiguration), keepTable: false) == .flushAll)
        #expect(DirectorDaemon.stopMode(try #require(await supervisor.runningConfiguration), keepTable: true) == .keep)
    }
}
