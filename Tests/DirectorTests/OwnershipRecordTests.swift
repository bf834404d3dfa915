import DirectorConfig
import Foundation
import IPVS
import Logging
import Platform
import Testing

@testable import Director

/// The fake kernel behind a wrapper that tests subclass to change one call (every other one goes to `inner`).
class ForwardingTable: IPVSTable {
    let inner: RecordingIPVSTable

    init(_ inner: RecordingIPVSTable) { self.inner = inner }

    func apply(_ operations: [IPVSOperation]) throws -> [IPVSOperationFailure] { try inner.apply(operations) }
    func info() throws -> IPVSInfo { try inner.info() }
    func services() throws -> [IPVSServiceEntry] { try inner.services() }
    func service(_ key: IPVSServiceKey) throws -> IPVSServiceEntry { try inner.service(key) }
    func syncDaemons() throws -> [IPVSSyncDaemon] { try inner.syncDaemons() }
    func startSyncDaemon(_ daemon: IPVSSyncDaemon) throws { try inner.startSyncDaemon(daemon) }
    func stopSyncDaemon(_ state: IPVSSyncState) throws { try inner.stopSyncDaemon(state) }
    func timeouts() throws -> IPVSTimeouts { try inner.timeouts() }
    func setTimeouts(_ timeouts: IPVSTimeouts) throws { try inner.setTimeouts(timeouts) }
    func zero(_ key: IPVSServiceKey?) throws { try inner.zero(key) }
    func flush() throws { try inner.flush() }
}

/// The fake kernel, with a process that dies after `survive` more operations: the first ones reach the table and
/// the call then fails, as a `kill -9` between two datagrams leaves the kernel.
final class DyingTable: ForwardingTable {
    var survive: Int?

    override func apply(_ operations: [IPVSOperation]) throws -> [IPVSOperationFailure] {
        guard let survive else { return try inner.apply(operations) }
        _ = try inner.apply(Array(operations.prefix(survive)))
        self.survive = max(0, survive - operations.count)
        throw IPVSError.unavailable
    }
}

@Suite struct OwnershipRecordTests {
    static let https = IPVSServiceKey.address(.tcp, .ipv4(10, 2, 0, 3), port: 443)
    static let untouched = Endpoint(address: .ipv4(10, 2, 1, 31), port: 0)

    static func service(_ address: String, _ port: Int, reals: [String]) -> String {
        "virtual_server \(address) \(port) {\n lb_algo rr\n lb_kind DR\n protocol TCP\n"
            + reals.map { " real_server \($0) \(port) {\n  weight 1\n }\n" }.joined() + "}\n"
    }

    /// Before: web, fwmark 7 and 10.2.0.3:443. After: a weight changed and a real added in web, 443 gone,
    /// 10.2.0.4:8443 new; fwmark 7 untouched.
    static let before = webConfig() + service("10.2.0.3", 443, reals: ["10.2.2.1", "10.2.2.2"])
    static let after = webConfig(weight: 4, extraReal: "real_server 10.2.1.13 8080 {\n weight 1\n}")
        + service("10.2.0.4", 8443, reals: ["10.2.3.1", "10.2.3.2", "10.2.3.3"])

    /// A table as a set of services with their destination sets (the kernel's order is hash order).
    static func contents(_ table: RecordingIPVSTable) -> [IPVSServiceKey: Set<IPVSDestination>] {
        Dictionary(table.rules.map { ($0.key, Set($0.destinations)) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func aKillAtAnyPointOfAReloadConvergesAtTheNextStart() async throws {
        let files = FakeFiles()
        files[path] = Self.after
        let reference = SharedTable()
        try await makeEngineOver(files, reference.table, ownership: MemoryOwnershipStore()).start()
        let wanted = Self.contents(reference.table)

        // How many operations the reload makes, so that every cut point is tried.
        files[path] = Self.before
        let probe = SharedTable()
        let counting = try makeEngineOver(files, probe.table, ownership: MemoryOwnershipStore())
        try await counting.start()
        probe.table.clearCalls()
        _ = await counting.adopt(try #require(FakeFiles.parsed(Self.after)))
        let total = applied(probe.table.calls).count
        #expect(total >= 7, "the reload should update, add, delete and create (\(total) operations)")

        for survive in 0...total {
            files[path] = Self.before
            let shared = SharedTable()
            let dying = DyingTable(shared.table)
            let store = MemoryOwnershipStore()
            let first = try makeEngineOver(files, dying, ownership: store)
            try await first.start()
            shared.table.setConnections(.firewallMark(7, family: .ipv4), Self.untouched, active: 9, inactive: 4)
            dying.survive = survive
            _ = await first.adopt(try #require(FakeFiles.parsed(Self.after)))

            // The process is gone; a new one starts with the new configuration over what the kernel was left with.
            files[path] = Self.after
            shared.table.clearCalls()
            try await makeEngineOver(files, shared.table, ownership: store).start()
            #expect(Self.contents(shared.table) == wanted, "killed after \(survive) of \(total) operations")
            let kept = shared.table.entries.first { $0.service.key == .firewallMark(7, family: .ipv4) }?
                .destinations.first { $0.destination.endpoint == Self.untouched }
            #expect(kept?.activeConnections == 9 && kept?.inactiveConnections == 4,
                    "the untouched real keeps its counters (killed after \(survive))")
            #expect(!applied(shared.table.calls).contains { $0.serviceKey == .firewallMark(7, family: .ipv4) })
            #expect(store.recorded == Set(wanted.keys))
        }
    }

    @Test func withoutARecordTheDroppedServiceWouldStay() async throws {
        // Why the record exists: the same kill with no record leaves 10.2.0.3:443 behind as someone else's.
        let files = FakeFiles()
        files[path] = Self.before
        let shared = SharedTable()
        let dying = DyingTable(shared.table)
        let first = try makeEngineOver(files, dying)
        try await first.start()
        dying.survive = 0
        _ = await first.adopt(try #require(FakeFiles.parsed(Self.after)))
        files[path] = Self.after
        try await makeEngineOver(files, shared.table).start()
        #expect(Self.contents(shared.table)[Self.https] != nil)
    }

    @Test func theRecordIsWrittenOnlyWhenTheOwnedServicesChange() async throws {
        let files = FakeFiles()
        files[path] = webConfig()
        let shared = SharedTable()
        let store = MemoryOwnershipStore()
        let engine = try makeEngineOver(files, shared.table, ownership: store)
        try await engine.start()
        #expect(store.recorded == [web, .firewallMark(7, family: .ipv4)])
        let saves = store.saves
        _ = await engine.adopt(try #require(FakeFiles.parsed(webConfig(weight: 9))))
        #expect(store.saves == saves, "a weight change creates no service: no write")
        _ = await engine.adopt(try #require(FakeFiles.parsed(webConfig() + Self.service("10.2.0.3", 443, reals: ["10.2.2.1"]))))
        #expect(store.recorded == [web, .firewallMark(7, family: .ipv4), Self.https])
        await engine.stop(mode: .removeOwned)
        #expect(store.recorded.isEmpty)
    }

    @Test func theFileIsTrustedOnlyInItsBootAndNamespace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("owned-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ipvs-owned.json"
        let keys: Set<IPVSServiceKey> = [
            Self.https, .address(.udp, try #require(IPAddress("2001:db8::10")), port: 53),
            .address(.sctp, .ipv4(10, 0, 0, 1), port: 9), .firewallMark(7, family: .ipv4), .firewallMark(8, family: .ipv6),
        ]
        let file = OwnershipFile(path: path, bootID: "boot-a", namespace: 4026531840)
        #expect((try? file.save(keys).get()) != nil)
        #expect((try? file.load().get()) == keys)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect((try? OwnershipFile(path: path, bootID: "boot-b", namespace: 4026531840).load().get()) == [],
                "a record of another boot describes a table that is gone")
        #expect((try? OwnershipFile(path: path, bootID: "boot-a", namespace: 4026532000).load().get()) == [],
                "a record of another namespace describes another table")
        #expect((try? OwnershipFile(path: directory + "/none.json", bootID: "boot-a", namespace: 1).load().get()) == [])
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        guard case .failure(let failure) = file.load() else { Issue.record("a corrupt record must be reported"); return }
        #expect(failure.description.contains(path))
    }

    @Test func theDaemonsRecordSitsBesideItsStateFileNamedForItsNamespace() {
        let file = OwnershipFile(besideStateFile: "/var/lib/directord/overrides.json")
        #expect(file.path.hasPrefix("/var/lib/directord/ipvs-owned-"))
        #expect(file.path.hasSuffix(".json"))
    }
}

extension FakeFiles {
    static func parsed(_ text: String) -> Configuration? { ConfigurationLoader.parse(text, name: path).configuration }
}

/// A table handed to the engine's `openIPVS` (tests touch it only between awaits).
final class TableBox: @unchecked Sendable {
    let table: any IPVSTable
    init(_ table: any IPVSTable) { self.table = table }
}

func makeEngineOver(_ files: FakeFiles, _ table: any IPVSTable, ownership: MemoryOwnershipStore? = nil) throws -> Engine {
    let box = TableBox(table)
    let dependencies = EngineDependencies(
        loadConfiguration: { files.load($0) }, openIPVS: { box.table }, sysctl: FakeSysctl(),
        notifier: SystemdNotifier(environment: [:]), ownership: ownership)
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return Engine(configFile: path, configuration: try Engine.load(path, dependencies: dependencies, logger: logger),
                  logger: logger, dependencies: dependencies)
}
