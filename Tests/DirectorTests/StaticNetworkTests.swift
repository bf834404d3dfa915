import DirectorConfig
import Foundation
import Glibc
import Logging
import Platform
import Testing
import VRRPHost

@testable import Director

/// Addresses, routes and rules in memory with the kernel's EEXIST answer; records every call; can refuse one object.
final class StaticFakeNetwork: HostNetworking, @unchecked Sendable {
    private let lock = NSLock()
    private var objects: Set<String> = []
    private var refused: Set<String> = []
    private(set) var calls: [String] = []

    var current: Set<String> { lock.withLock { objects } }
    func preload(_ text: String) { lock.withLock { _ = objects.insert(text) } }
    func refuse(_ text: String) { lock.withLock { _ = refused.insert(text) } }
    func clearCalls() { lock.withLock { calls = [] } }

    private func add(_ text: String) throws(SystemError) -> AddOutcome {
        let outcome: AddOutcome? = lock.withLock {
            calls.append("add \(text)")
            if refused.contains(text) { return nil }
            return objects.insert(text).inserted ? .added : .alreadyPresent
        }
        guard let outcome else { throw SystemError(call: "add", errno: ENODEV, detail: text) }
        return outcome
    }

    private func remove(_ text: String) {
        lock.withLock {
            calls.append("remove \(text)")
            objects.remove(text)
        }
    }

    func add(_ address: InterfaceAddress) throws(SystemError) -> AddOutcome { try add("addr \(address)") }
    func remove(_ address: InterfaceAddress) throws(SystemError) { remove("addr \(address)") }
    func add(_ route: HostRoute) throws(SystemError) -> AddOutcome { try add("route \(route)") }
    func remove(_ route: HostRoute) throws(SystemError) { remove("route \(route)") }
    func add(_ rule: HostRule) throws(SystemError) -> AddOutcome { try add("rule \(rule)") }
    func remove(_ rule: HostRule) throws(SystemError) { remove("rule \(rule)") }
    func link(_ name: String) throws(SystemError) -> LinkState { throw SystemError(call: "link", errno: ENODEV) }
}

@Suite struct StaticNetworkLedgerTests {
    static func objects(_ text: String) throws -> [StaticObject] {
        let config = try #require(ConfigurationLoader.parse(text).configuration)
        return StaticObject.objects(config.staticNetwork)
    }

    static let first = """
        static_ipaddress {
            192.0.2.10/24 dev eth0
            192.0.2.11/24 dev eth0
        }
        static_routes {
            198.51.100.0/24 via 192.0.2.1 dev eth0 table 100
        }
        static_rules {
            from 192.0.2.0/24 table 100 preference 1000
        }
        """

    @Test func convertsToKernelTerms() throws {
        let objects = try Self.objects(Self.first)
        #expect(objects.map(\.description) == [
            "static address 192.0.2.10/24 dev eth0", "static address 192.0.2.11/24 dev eth0",
            "static route 198.51.100.0/24 via 192.0.2.1 dev eth0 table 100",
            "static rule pref 1000 from 192.0.2.0/24 lookup 100",
        ])
        let rule = try Self.objects("static_rules {\n inet6 not to 2001:db8::/32 fwmark 7/0xf oif eth1 preference 5 goto 9\n}")
        #expect(rule == [.rule(HostRule(family: AF_INET6, destination: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 12),
                                        destinationLength: 32, invert: true, priority: 5, mark: 7, mask: 15,
                                        outputInterface: "eth1", action: .goto(9)))])
    }

    @Test func addsInOrderKeepsWhatWasThereAndRemovesOnlyItsOwnInReverse() throws {
        let network = StaticFakeNetwork()
        network.preload("addr 192.0.2.11/24 dev eth0")
        var ledger = StaticNetworkLedger()
        let logger = Logger(label: "test")
        let next = try Self.objects(Self.first)
        let plan = ledger.plan(to: next)
        #expect(plan.remove.isEmpty && plan.add == next)
        #expect(ledger.perform(plan, on: network, logger: logger).isEmpty)
        #expect(network.current.count == 4)
        // Nothing to do a second time.
        #expect(ledger.plan(to: next).isEmpty)
        network.clearCalls()
        _ = ledger.perform(ledger.plan(to: []), on: network, logger: logger)
        #expect(network.calls == [
            "remove rule pref 1000 from 192.0.2.0/24 lookup 100",
            "remove route 198.51.100.0/24 via 192.0.2.1 dev eth0 table 100",
            "remove addr 192.0.2.10/24 dev eth0",
        ], "the address that was there before stays")
        #expect(network.current == ["addr 192.0.2.11/24 dev eth0"])
    }

    @Test func reloadAppliesTheDifferenceAndRetriesWhatFailed() throws {
        let network = StaticFakeNetwork()
        network.refuse("rule pref 1000 from 192.0.2.0/24 lookup 100")
        var ledger = StaticNetworkLedger()
        let logger = Logger(label: "test")
        let problems = ledger.perform(ledger.plan(to: try Self.objects(Self.first)), on: network, logger: logger)
        #expect(problems.count == 1 && problems[0].hasPrefix("cannot add static rule pref 1000"))
        // The reload changes the route's table and drops one address; the failed rule is tried again.
        let second = Self.first.replacingOccurrences(of: "table 100\n", with: "table 200\n")
            .replacingOccurrences(of: "    192.0.2.11/24 dev eth0\n", with: "")
        let next = try Self.objects(second)
        let plan = ledger.plan(to: next)
        #expect(StaticNetworkLedger.describe(plan) == [
            "remove static route 198.51.100.0/24 via 192.0.2.1 dev eth0 table 100",
            "remove static address 192.0.2.11/24 dev eth0",
            "add static route 198.51.100.0/24 via 192.0.2.1 dev eth0 table 200",
            "add static rule pref 1000 from 192.0.2.0/24 lookup 100",
        ])
        #expect(ledger.perform(plan, on: network, logger: logger).count == 1, "still refused")
        #expect(network.current == ["addr 192.0.2.10/24 dev eth0", "route 198.51.100.0/24 via 192.0.2.1 dev eth0 table 200"])
    }

    @Test func aStaticObjectThatWasAlreadyThereAndIsDroppedIsForgottenNotRemoved() throws {
        let network = StaticFakeNetwork()
        network.preload("addr 192.0.2.11/24 dev eth0")
        var ledger = StaticNetworkLedger()
        let logger = Logger(label: "test")
        let next = try Self.objects(Self.first)
        _ = ledger.perform(ledger.plan(to: next), on: network, logger: logger)
        ledger.keep(only: next)
        let fewer = Array(next.filter { $0.description != "static address 192.0.2.11/24 dev eth0" })
        #expect(ledger.plan(to: fewer).isEmpty)
        ledger.keep(only: fewer)
        // Configured again later: found there again, still not ours.
        _ = ledger.perform(ledger.plan(to: next), on: network, logger: logger)
        #expect(!ledger.owned.contains(.address(InterfaceAddress(family: AF_INET, address: [192, 0, 2, 11], prefixLength: 24, interface: "eth0"))))
    }
}

@Suite struct StaticNetworkSupervisorTests {
    @Test func startReloadStop() async throws {
        let files = FakeFiles()
        files[path] = StaticNetworkLedgerTests.first
        let network = StaticFakeNetwork()
        network.preload("addr 192.0.2.11/24 dev eth0")
        let shared = SharedTable()
        let dependencies = EngineDependencies(loadConfiguration: { files.load($0) }, openIPVS: { shared.table }, sysctl: FakeSysctl(),
                                              notifier: SystemdNotifier(environment: [:]), network: network)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let quiet = logger
        let configuration = try Engine.load(path, dependencies: dependencies, logger: quiet)
        let engine = Engine(configFile: path, configuration: configuration, logger: quiet, dependencies: dependencies)
        let supervisor = Supervisor(engine: engine, logger: quiet, dependencies: dependencies) { VRRPHost(configuration: $0, logger: quiet) }
        try await supervisor.start(configuration)
        #expect(network.current.count == 4)
        files[path] = StaticNetworkLedgerTests.first.replacingOccurrences(of: "preference 1000", with: "preference 1001")
        let diff = await supervisor.diff(file: path)
        #expect(diff.plan?.vrrpChanges == [
            "remove static rule pref 1000 from 192.0.2.0/24 lookup 100", "add static rule pref 1001 from 192.0.2.0/24 lookup 100",
        ])
        let reply = await supervisor.reload(file: path)
        #expect(reply.ok, "\(reply.message)")
        #expect(network.current.contains("rule pref 1001 from 192.0.2.0/24 lookup 100"))
        #expect(!network.current.contains("rule pref 1000 from 192.0.2.0/24 lookup 100"))
        await supervisor.stop(mode: .keep)
        #expect(network.current == ["addr 192.0.2.11/24 dev eth0"])
    }
}
