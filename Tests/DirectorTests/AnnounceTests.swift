import ControlProtocol
import DirectorConfig
import Foundation
import HealthCheck
import IPVS
import Logging
import NIOCore
import NIOPosix
import Platform
import Testing
import VRRPHost
import Reactor

@testable import Director

private let vip = IPAddress.v4(IPv4Address(198, 51, 100, 10))
private let vip2 = IPAddress.v4(IPv4Address(198, 51, 100, 20))
private let t0 = Date(timeIntervalSince1970: 2_000_000)

@Suite struct AnnouncePolicyTests {
    let settings = AnnounceSettings(rise: .seconds(3), fall: .zero, minimumUptime: .seconds(5))

    @Test func nothingIsAnnouncedBeforeTheMinimumUptimeThenAtOnce() {
        var policy = AnnouncePolicy(settings: settings, startedAt: t0)
        #expect(policy.update([vip: .healthy], now: t0).isEmpty)
        #expect(policy.vips[vip]?.reason?.hasPrefix("starting") == true)
        #expect(policy.tick(now: t0.addingTimeInterval(4.9)).isEmpty)
        #expect(policy.tick(now: t0.addingTimeInterval(5)) == [.announce(vip)])
        #expect(policy.vips[vip]?.announced == true && policy.vips[vip]?.reason == nil)
    }

    @Test func quorumLossWithdrawsAtOnceAndAFlappingVIPWaitsForRise() {
        var policy = AnnouncePolicy(settings: settings, startedAt: t0)
        _ = policy.update([vip: .healthy], now: t0)
        _ = policy.tick(now: t0.addingTimeInterval(5))
        let lost = AnnouncePolicy.Health(problem: "quorum lost on virtual_server 198.51.100.10 80 TCP")
        #expect(policy.update([vip: lost], now: t0.addingTimeInterval(10)) == [.withdraw(vip)])
        #expect(policy.vips[vip]?.reason == lost.problem)
        // It flaps: back for 2 s, down again, back: announced only 3 s after the last recovery.
        #expect(policy.update([vip: .healthy], now: t0.addingTimeInterval(11)).isEmpty)
        #expect(policy.update([vip: lost], now: t0.addingTimeInterval(13)).isEmpty)
        #expect(policy.update([vip: .healthy], now: t0.addingTimeInterval(14)).isEmpty)
        #expect(policy.tick(now: t0.addingTimeInterval(16.9)).isEmpty)
        #expect(policy.vips[vip]?.reason?.contains("announce_rise") == true)
        #expect(policy.tick(now: t0.addingTimeInterval(17)) == [.announce(vip)])
    }

    @Test func fallKeepsTheRouteThroughAShortFailure() {
        var policy = AnnouncePolicy(settings: AnnounceSettings(rise: .zero, fall: .seconds(2), minimumUptime: .zero), startedAt: t0)
        #expect(policy.update([vip: .healthy], now: t0) == [.announce(vip)])
        let lost = AnnouncePolicy.Health(problem: "quorum lost")
        #expect(policy.update([vip: lost], now: t0.addingTimeInterval(1)).isEmpty)
        #expect(policy.vips[vip]?.reason?.contains("announce_fall") == true)
        #expect(policy.update([vip: .healthy], now: t0.addingTimeInterval(2)).isEmpty, "recovered within fall: never withdrawn")
        #expect(policy.update([vip: lost], now: t0.addingTimeInterval(3)).isEmpty)
        #expect(policy.tick(now: t0.addingTimeInterval(5)) == [.withdraw(vip)])
    }

    @Test func operatorWithdrawalStopAndVIPsThatLeaveTheConfiguration() {
        var policy = AnnouncePolicy(settings: AnnounceSettings(rise: .zero, minimumUptime: .zero), startedAt: t0)
        #expect(Set(policy.update([vip: .healthy, vip2: .healthy], now: t0)) == [.announce(vip), .announce(vip2)])
        #expect(policy.setWithdrawn([vip], true, now: t0) == [.withdraw(vip)])
        #expect(policy.tick(now: t0.addingTimeInterval(60)).isEmpty, "stays withdrawn")
        #expect(policy.setWithdrawn([vip], false, now: t0.addingTimeInterval(61)) == [.announce(vip)])
        #expect(policy.update([vip: .healthy], now: t0.addingTimeInterval(62)) == [.withdraw(vip2)])
        #expect(policy.vips[vip2] == nil)
        #expect(policy.stop(now: t0.addingTimeInterval(63)) == [.withdraw(vip)])
        #expect(policy.update([vip: .healthy], now: t0.addingTimeInterval(64)).isEmpty, "nothing is announced while stopping")
    }
}

/// Records the routes added and removed, and holds the current set as the kernel would.
final class RecordingNetwork: HostNetworking, @unchecked Sendable {
    private let lock = NSLock()
    private var routes: Set<HostRoute> = []
    private(set) var log: [String] = []

    var current: Set<HostRoute> { lock.withLock { routes } }

    func add(_ address: InterfaceAddress) throws(SystemError) -> AddOutcome { .added }
    func remove(_ address: InterfaceAddress) throws(SystemError) {}
    func add(_ rule: HostRule) throws(SystemError) -> AddOutcome { .added }
    func remove(_ rule: HostRule) throws(SystemError) {}
    func add(_ route: HostRoute) throws(SystemError) -> AddOutcome {
        lock.withLock {
            log.append("add \(route)")
            return routes.insert(route).inserted ? .added : .alreadyPresent
        }
    }
    func remove(_ route: HostRoute) throws(SystemError) {
        let removed = lock.withLock { routes.remove(route) != nil }
        guard removed else { throw SystemError(call: "delete route", errno: ESRCH) }
        lock.withLock { log.append("remove \(route)") }
    }
    func link(_ name: String) throws(SystemError) -> LinkState { throw SystemError(call: "link", errno: ENODEV) }
}

final class ManualDate: @unchecked Sendable {
    private let lock = NSLock()
    private var value = t0
    var now: Date { lock.withLock { value } }
    func advance(_ seconds: Double) { lock.withLock { value = value.addingTimeInterval(seconds) } }
}

@Suite struct AnnounceSupervisorTests {
    let config = """
        global_defs {
            announce_table 100
            announce_device dummy0
            announce_min_uptime 2
            announce_rise 1
        }
        virtual_server 198.51.100.10 80 {
            protocol TCP
            lb_algo mh
            mh-port
            lb_kind DR
            announce
            real_server 10.2.1.11 80 {
                TCP_CHECK {
                    connect_timeout 1
                    retry 0
                    delay_loop 1
                    warmup 0
                }
            }
        }
        """

    @Test func aHealthyVIPIsAnnouncedAfterItsUptimeAndWithdrawnWhenQuorumGoesOrOnStop() async throws {
        let files = FakeFiles()
        files[path] = config
        let shared = SharedTable()
        let network = RecordingNetwork()
        let clock = ManualDate()
        let dependencies = EngineDependencies(loadConfiguration: { files.load($0) }, openIPVS: { shared.table }, sysctl: FakeSysctl(),
                                              notifier: SystemdNotifier(environment: [:]), now: { clock.now }, network: network)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let quiet = logger
        let configuration = try Engine.load(path, dependencies: dependencies, logger: quiet)
        let engine = Engine(configFile: path, configuration: configuration, logger: quiet, dependencies: dependencies)
        let metrics = Metrics()
        let supervisor = Supervisor(engine: engine, logger: quiet, dependencies: dependencies, metrics: metrics) {
            VRRPHost(configuration: $0, logger: quiet)
        }
        let prober = SwitchableProber()
        try await supervisor.start(configuration, healthChecks: true, prober: prober)
        #expect(network.current.isEmpty, "not before announce_min_uptime")
        var status = await supervisor.status()
        #expect(status.virtualServers.first?.announced == false)
        #expect(status.virtualServers.first?.announceReason?.hasPrefix("starting") == true)
        clock.advance(2)
        await supervisor.tickAnnouncements()
        let route = HostRoute(family: AF_INET, destination: [198, 51, 100, 10], prefixLength: 32, interface: "dummy0", table: 100,
                              scope: 253, routeProtocol: AnnounceSettings.defaultProtocol)
        #expect(network.current == [route])
        status = await supervisor.status()
        #expect(status.virtualServers.first?.announced == true && status.virtualServers.first?.announceReason == nil)
        #expect(String(decoding: metrics.render(), as: UTF8.self)
            .contains("directord_virtual_server_announced{virtual_server=\"198.51.100.10 80 TCP\"} 1.0"))
        // The only real fails its check: quorum is lost and the route goes at once.
        prober.down = true
        var gone = false
        for _ in 0..<200 where !gone {
            gone = network.current.isEmpty
            if !gone { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(gone, "quorum loss withdraws the route")
        status = await supervisor.status()
        #expect(status.virtualServers.first?.announceReason == "quorum lost on virtual_server 198.51.100.10 80 TCP")
        // Back: announced again after announce_rise.
        prober.down = false
        var back = false
        for _ in 0..<300 where !back {
            clock.advance(0.1)
            await supervisor.tickAnnouncements()
            back = network.current == [route]
            if !back { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(back, "announced again once healthy for announce_rise")
        // The operator withdraws, then lets it back.
        #expect(await supervisor.setWithdrawn(virtualServer: "198.51.100.10:80", withdrawn: true, peer: nil).ok)
        #expect(network.current.isEmpty)
        let unknown = await supervisor.setWithdrawn(virtualServer: "198.51.100.99:80", withdrawn: true, peer: nil)
        #expect(!unknown.ok && unknown.message.contains("the announced ones are: 198.51.100.10:80"))
        #expect(await supervisor.setWithdrawn(virtualServer: nil, withdrawn: false, peer: nil).ok)
        #expect(network.current == [route])
        // Stop: withdrawn first, with the delay to keep serving.
        #expect(await supervisor.withdrawAnnouncements() == .seconds(2))
        #expect(network.current.isEmpty)
        await supervisor.stop(mode: .keep)
    }

    @Test func announceNeedsAnAddressAndItsSettingsAreChecked() {
        let fwmark = ConfigurationLoader.parse("virtual_server fwmark 7 {\n protocol TCP\n announce\n real_server 10.0.0.1 80 { }\n}")
        #expect(fwmark.errors.map(\.description).first?.contains("directord.conf:3:2: error: 'announce' needs a virtual_server ADDRESS PORT") == true)
        let bad = ConfigurationLoader.parse("global_defs {\n announce_protocol 2\n announce_device a/b\n}")
        #expect(bad.errors.count == 2)
        let good = ConfigurationLoader.parse("global_defs {\n announce_protocol 60\n announce_fall 1.5\n}\nvirtual_server 10.0.0.9 80 {\n protocol TCP\n announce\n real_server 10.0.0.1 80 { }\n}")
        #expect(good.errors.isEmpty)
        #expect(good.configuration?.globals.announce.routeProtocol == 60)
        #expect(good.configuration?.globals.announce.fall == .milliseconds(1500))
        #expect(good.configuration?.virtualServers.first?.announce == true)
    }
}

/// Every check up, or every check down, as the test says.
final class SwitchableProber: CheckProber, @unchecked Sendable {
    private let lock = NSLock()
    private var isDown = false
    var down: Bool {
        get { lock.withLock { isDown } }
        set { lock.withLock { isDown = newValue } }
    }
    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        done(down ? .down(.connectionRefused) : .up)
    }
}
