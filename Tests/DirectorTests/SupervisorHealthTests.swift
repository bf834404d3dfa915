import DirectorConfig
import HealthCheck
import IPVS
import Logging
import Platform
import Synchronization
import Testing
import VRRPHost
import Reactor

@testable import Director

/// Answers every probe with a fixed verdict per connect address.
struct FakeProber: CheckProber {
    let down: Set<String>
    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        let address: String = switch probe {
        case .http(let c): "\(c.connect)"
        case .tcp(let c): "\(c.connect)"
        case .misc(let c): c.command
        case .file(let c): c.path
        case .smtp(let c): "\(c.connect)"
        case .dns(let c): "\(c.connect)"
        case .udp(let c): "\(c.connect)"
        case .ping(let c): "\(c.connect)"
        }
        done(down.contains(where: { address.contains($0) }) ? .down(.ioError("fake"), path: nil) : .up)
    }
}

func checkedConfig(weight: Int) -> String {
    """
    virtual_server 10.2.0.1 80 {
        lb_algo rr
        lb_kind NAT
        protocol TCP
        sorry_server 10.2.9.9 80
        real_server 10.2.1.11 80 {
            weight \(weight)
            TCP_CHECK {
                connect_timeout 1
            }
        }
    }
    """
}

@Suite struct SupervisorHealthTests {
    @Test func aDiffUnderHealthChecksShowsTheNewWeightAndKeepsVerdicts() async throws {
        let files = FakeFiles()
        files[path] = checkedConfig(weight: 3)
        files["/tmp/next.conf"] = checkedConfig(weight: 7)
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        let supervisor = makeSupervisor(engine, files)
        let configuration = try Engine.load(path, dependencies: EngineDependencies(loadConfiguration: { files.load($0) }), logger: Logger(label: "t"))
        try await supervisor.start(configuration, healthChecks: true, prober: FakeProber(down: []))
        #expect(shared.table.rules.first?.destinations.map(\.weight) == [3])
        let response = await supervisor.diff(file: "/tmp/next.conf")
        #expect(response.plan?.ipvsOperations == ["update real server 10.2.1.11:80 in TCP 10.2.0.1:80"])
        await supervisor.stop(mode: .keep)
    }

    @Test func aRealThatFailsIsReplacedByTheSorryServerInOneStep() async throws {
        let files = FakeFiles()
        files[path] = checkedConfig(weight: 3).replacingOccurrences(of: "connect_timeout 1", with: "connect_timeout 1\n retry 0\n delay_loop 1\n warmup 0")
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        let supervisor = makeSupervisor(engine, files)
        let configuration = try Engine.load(path, dependencies: EngineDependencies(loadConfiguration: { files.load($0) }), logger: Logger(label: "t"))
        try await supervisor.start(configuration, healthChecks: true, prober: FakeProber(down: ["10.2.1.11"]))
        // The first check fails at once (warmup 0, retry 0): the sorry server replaces the real.
        var destinations: [IPAddress] = []
        for _ in 0..<100 {
            destinations = await engine.desiredRules().first?.destinations.map(\.address) ?? []
            if destinations == [.ipv4(10, 2, 9, 9)] { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(destinations == [.ipv4(10, 2, 9, 9)])
        let status = await supervisor.status()
        #expect(status.virtualServers.first?.sorryServerActive == true)
        #expect(status.virtualServers.first?.reals.first?.up == false)
        await supervisor.stop(mode: .keep)
    }
}

/// ha_suspend: a virtual server's checks wait while its address is not on the host, and run once it is.
@Suite struct HASuspendTests {
    static let config = """
        virtual_server 10.2.0.1 80 {
            lb_algo rr
            lb_kind DR
            protocol TCP
            ha_suspend
            real_server 10.2.1.11 80 {
                TCP_CHECK {
                    connect_timeout 1
                    retry 0
                    delay_loop 1
                    warmup 0
                }
            }
        }
        virtual_server_group WEB {
            10.3.0.1-10 80
        }
        virtual_server group WEB {
            protocol TCP
            ha_suspend
            real_server 10.3.1.11 80 { }
        }
        virtual_server fwmark 9 {
            real_server 10.4.1.11 80 { }
        }
        """

    /// A supervisor over `engine` that sees `addresses` on the host, started with the file at `path`; the real
    /// 10.2.1.11 fails every check.
    static func start(_ engine: Engine, _ files: FakeFiles, addresses: @escaping @Sendable () -> Set<IPAddress>?) async throws -> Supervisor {
        let dependencies = EngineDependencies(
            loadConfiguration: { files.load($0) }, openIPVS: { throw IPVSError.unavailable }, sysctl: FakeSysctl(),
            notifier: SystemdNotifier(environment: [:]), localAddresses: addresses)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let logger = quiet
        let supervisor = Supervisor(engine: engine, logger: logger, dependencies: dependencies) { configuration in
            VRRPHost(configuration: configuration, logger: logger)
        }
        let configuration = try Engine.load(path, dependencies: dependencies, logger: logger)
        try await supervisor.start(configuration, healthChecks: true, prober: FakeProber(down: ["10.2.1.11"]))
        return supervisor
    }

    @Test func theSuspendedSetFollowsTheAddressesAndGroupRanges() throws {
        let result = ConfigurationLoader.parse(Self.config)
        let configuration = try #require(result.configuration)
        #expect(HASuspend.suspended(configuration, present: []) == ["10.2.0.1 80 TCP", "group WEB TCP"])
        #expect(HASuspend.suspended(configuration, present: [.ipv4(10, 2, 0, 1)]) == ["group WEB TCP"])
        #expect(HASuspend.suspended(configuration, present: [.ipv4(10, 3, 0, 7)]) == ["10.2.0.1 80 TCP"])
        #expect(HASuspend.suspended(configuration, present: [.ipv4(10, 3, 0, 11), .ipv4(10, 2, 0, 2)]) == ["10.2.0.1 80 TCP", "group WEB TCP"])
        #expect(HASuspend.isUsed(by: configuration))
    }

    @Test func aFailingRealStaysUntilTheAddressArrivesThenItsCheckTakesItOut() async throws {
        let files = FakeFiles()
        files[path] = Self.config
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        let present = Mutex<Set<IPAddress>>([])
        let supervisor = try await Self.start(engine, files) { present.withLock { $0 } }
        #expect(await supervisor.suspendedServers == ["10.2.0.1 80 TCP", "group WEB TCP"])
        #expect(await supervisor.status().virtualServers.map(\.checksSuspended) == [true, true, nil])
        // Two turns of delay_loop 1 pass: the check does not run, the real keeps its starting verdict (up).
        try await Task.sleep(for: .milliseconds(1300))
        #expect(await engine.desiredRules().first?.destinations.map(\.address) == [.ipv4(10, 2, 1, 11)])

        present.withLock { $0 = [.ipv4(10, 2, 0, 1)] }
        await supervisor.updateSuspension()
        #expect(await supervisor.suspendedServers == ["group WEB TCP"])
        #expect(await supervisor.status().virtualServers.map(\.checksSuspended) == [nil, true, nil])
        var destinations: [IPAddress]? = nil
        for _ in 0..<150 {
            destinations = await engine.desiredRules().first?.destinations.map(\.address)
            if destinations == [] { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(destinations == [], "its check ran at its next turn and took the failing real out")
        await supervisor.stop(mode: .keep)
    }

    @Test func aReloadThatAddsAnHASuspendServiceAwayFromHereRunsNoneOfItsChecks() async throws {
        let files = FakeFiles()
        files[path] = "virtual_server fwmark 9 {\n    real_server 10.4.1.11 80 { }\n}\n"
        let shared = SharedTable()
        let engine = try makeEngine(files, shared)
        let supervisor = try await Self.start(engine, files) { [] }
        #expect(await supervisor.suspendedServers.isEmpty)
        files[path] = Self.config
        #expect(await supervisor.reload(file: path).ok)
        #expect(await supervisor.suspendedServers == ["10.2.0.1 80 TCP", "group WEB TCP"])
        // warmup 0: without the suspension in place before the checks start, the first would run at once.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await engine.desiredRules().first { $0.key.description.contains("10.2.0.1") }?.destinations.map(\.address) == [.ipv4(10, 2, 1, 11)])
        await supervisor.stop(mode: .keep)
    }
}

/// The reactor thread the tests' checks run on.
let testCheckerThread: ReactorThread = {
    do {
        return try ReactorThread(name: "test-checker")
    } catch {
        fatalError("no reactor for the tests: \(error)")
    }
}()
