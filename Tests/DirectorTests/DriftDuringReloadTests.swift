import DirectorConfig
import Foundation
import IPVS
import Logging
import Platform
import Testing

@testable import Director

/// The fake kernel with a dump that can be held: it takes its snapshot when it starts and answers only when the
/// test lets it, as a dump of a large table on a slow machine answers seconds later.
final class HeldDumpTable: ForwardingTable, @unchecked Sendable {
    var holdNextDump = false
    let release = DispatchSemaphore(value: 0)
    let (started, startedContinuation) = AsyncStream<Void>.makeStream()

    override func services() throws -> [IPVSServiceEntry] {
        let snapshot = try inner.services()
        guard holdNextDump else { return snapshot }
        holdNextDump = false
        startedContinuation.yield()
        release.wait()
        return snapshot
    }
}

@Suite struct DriftDuringReloadTests {
    @Test func aReloadDuringADriftChecksDumpIsAppliedAtOnceAndNotUndone() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let held = HeldDumpTable(RecordingIPVSTable())
        let engine = try makeEngineOver(files, held)
        try await engine.start()
        held.holdNextDump = true
        let drift = Task { await engine.repairDrift() }
        for await _ in held.started { break }

        // The dump is in flight with the old weight in its snapshot; the reload does not wait for it.
        let (plan, error) = await engine.adopt(try #require(FakeFiles.parsed(webConfig(weight: 7))))
        #expect(error == nil && plan.ipvsOperations.count == 1)
        let real = Endpoint(address: .ipv4(10, 2, 1, 12), port: 8080)
        #expect(held.inner.rules.first { $0.key == web }?.destinations.first { $0.endpoint == real }?.weight == 7)

        held.release.signal()
        let found = await drift.value
        #expect(found.isEmpty, "the stale snapshot of a service the reload changed is not drift: \(found)")
        #expect(held.inner.rules.first { $0.key == web }?.destinations.first { $0.endpoint == real }?.weight == 7)
        #expect(await engine.repairDrift().isEmpty, "the next check sees the table right")
    }

    @Test func driftOutsideTheChangedServicesIsStillRepaired() async throws {
        let files = FakeFiles()
        files[path] = webConfig(weight: 3)
        let held = HeldDumpTable(RecordingIPVSTable())
        let engine = try makeEngineOver(files, held)
        try await engine.start()
        // Someone deletes the fwmark service's real; then a reload changes only the web service during the dump.
        _ = try held.inner.apply([.deleteDestination(.firewallMark(7, family: .ipv4), Endpoint(address: .ipv4(10, 2, 1, 31), port: 0))])
        held.holdNextDump = true
        let drift = Task { await engine.repairDrift() }
        for await _ in held.started { break }
        _ = await engine.adopt(try #require(FakeFiles.parsed(webConfig(weight: 7))))
        held.release.signal()
        #expect(await drift.value.count == 1, "the fwmark real is put back")
        #expect(held.inner.rules.first { $0.key == .firewallMark(7, family: .ipv4) }?.destinations.count == 1)
    }
}
