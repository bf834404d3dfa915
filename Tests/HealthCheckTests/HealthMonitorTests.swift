// The scheduler on a reactor the tests drive on a manual clock: dedup across virtual servers, ha_suspend, reloads
// that keep verdicts, the cap on checks in flight and the window a late reactor shrinks, omega at stop, the warmup;
// and the whole chain against a loopback server on the monitor's own reactor thread.
import Glibc
import NIOCore
import NIOPosix
import Reactor
import Synchronization
import Testing
@testable import HealthCheck

/// Answers from a table at once and records every probe with the reactor's time.
final class FakeProber: CheckProber {
    let answers = Mutex<[CheckProbe: CheckResult]>([:])
    let log = Mutex<[(CheckProbe, ContinuousClock.Instant)]>([])

    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        log.withLock { $0.append((probe, reactor.clock.now)) }
        done(answers.withLock { $0[probe] } ?? .up)
    }

    func probes(of probe: CheckProbe) -> [ContinuousClock.Instant] { log.withLock { $0.filter { $0.0 == probe }.map(\.1) } }
}

/// Holds every probe open until the test answers it (on the thread that drives the reactor).
final class HeldProber: CheckProber, @unchecked Sendable {
    private var held: [(CheckResult) -> Void] = []
    private(set) var started = 0

    func probe(_ probe: CheckProbe, on reactor: Reactor, done: @escaping (CheckResult) -> Void) {
        held.append(done)
        started += 1
    }

    var pending: Int { held.count }

    func answerOldest() {
        guard !held.isEmpty else { return }
        held.removeFirst()(.up)
    }
}

/// Collects updates and lets a test wait for one that matches.
final class UpdateSink: Sendable {
    let updates = Mutex<[HealthUpdate<String, String>]>([])

    func record(_ update: HealthUpdate<String, String>) { updates.withLock { $0.append(update) } }

    func first(_ match: (HealthUpdate<String, String>) -> Bool) -> HealthUpdate<String, String>? {
        updates.withLock { $0.first(where: match) }
    }

    /// For the monitor on its own thread (real time).
    func waitFor(_ timeout: Duration = .seconds(3), _ match: (HealthUpdate<String, String>) -> Bool) async throws -> HealthUpdate<String, String>? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = first(match) { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

func tcpProbe(_ port: Int) throws -> CheckProbe {
    .tcp(try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: port), connectTimeout: .milliseconds(200)))
}

/// A monitor on a reactor this test drives, on a manual clock.
final class DrivenMonitor {
    let clock = ManualClock()
    let reactor: Reactor
    let monitor: HealthMonitor<String, String>
    let sink = UpdateSink()
    let start: ContinuousClock.Instant

    init(prober: any CheckProber, random: @escaping @Sendable () -> Double = { 0 }, maximumInFlight: Int = 768,
         minimumInFlight: Int = 16, startBatch: Duration = .zero) throws {
        reactor = try Reactor(clock: clock)
        start = clock.now
        let sink = self.sink
        monitor = HealthMonitor(driving: reactor, prober: prober, random: random, maximumInFlight: maximumInFlight,
                                minimumInFlight: minimumInFlight, startBatch: startBatch, onUpdate: sink.record)
    }

    /// Moves the clock by `total` in steps of `step`, running the reactor's due work at each.
    func advance(_ total: Duration, step: Duration = .milliseconds(5)) {
        reactor.turn(maxWait: .zero)
        var moved = Duration.zero
        while moved < total {
            clock.advance(by: step)
            moved += step
            reactor.turn(maxWait: .zero)
        }
    }
}

@Suite("Health monitor (scheduler)", .serialized)
struct HealthMonitorTests {
    let fast = CheckTiming(delayLoop: .milliseconds(50), retry: 0, delayBeforeRetry: .milliseconds(20), warmup: .zero)

    @Test func oneCheckServesEveryVirtualServerThatSharesIt() throws {
        let prober = FakeProber()
        let driven = try DrivenMonitor(prober: prober)
        let monitor = driven.monitor
        let shared = CheckSpec(probe: try tcpProbe(8001), timing: fast)
        var slower = fast
        slower.delayLoop = .milliseconds(80)
        let other = CheckSpec(probe: try tcpProbe(8001), timing: slower)
        let plans: [String: VirtualServerPlan<String>] = [
            "vs-http": VirtualServerPlan(reals: [("rs1", RealServerPolicy(checks: [shared]))]),
            "vs-alt": VirtualServerPlan(reals: [("rs1", RealServerPolicy(checks: [shared])), ("rs1-slow", RealServerPolicy(checks: [other]))]),
        ]
        let start = monitor.applyNow(plans)
        #expect(start["vs-http"]?.desired == [.real("rs1", weight: 1)])
        #expect(monitor.checksNow().count == 2, "the shared definition runs once, the different timing separately")
        driven.advance(.milliseconds(300))
        // At 0, 50, ... 300 ms on the clock: exactly every delay_loop, for each of the two checks of that probe.
        let times = prober.probes(of: shared.probe)
        #expect(times.count == 7 + 4, "the 50 ms check 7 times and the 80 ms one 4 times in 300 ms: \(times.count)")
        // One stream per distinct check: an equal definition under a different timing is a separate check.
        #expect(monitor.checksNow().keys.filter { $0.probe == shared.probe }.count == 2)

        prober.answers.withLock { $0[shared.probe] = .down(.connectionRefused) }
        driven.advance(.milliseconds(100))
        // Both checks share the probe value, so both fail; each virtual server hears each of its checks once.
        let http = driven.sink.first { $0.virtualServer == "vs-http" && $0.check == shared }
        let alt = driven.sink.first { $0.virtualServer == "vs-alt" && $0.check == shared }
        #expect(http?.transition.isUp == false)
        #expect(http?.step.desired == [])
        #expect(alt?.transition.isUp == false)
        driven.advance(.milliseconds(150))
        let sharedUpdates = driven.sink.updates.withLock { $0.filter { $0.check == shared } }
        #expect(sharedUpdates.count == 2, "one transition, fanned out to two virtual servers")
    }

    /// ha_suspend: the checks of a virtual server whose address is not here wait, keeping their verdicts; one
    /// that an unsuspended virtual server shares keeps running; the suspension's end lets them run again.
    @Test func checksOfASuspendedVirtualServerWaitAndKeepTheirVerdicts() throws {
        let prober = FakeProber()
        let driven = try DrivenMonitor(prober: prober)
        let monitor = driven.monitor
        let shared = CheckSpec(probe: try tcpProbe(8101), timing: fast)
        let own = CheckSpec(probe: try tcpProbe(8102), timing: fast)
        prober.answers.withLock { $0[own.probe] = .down(.connectionRefused) }
        monitor.suspend(["a"])
        driven.advance(.zero)
        let steps = monitor.applyNow([
            "a": VirtualServerPlan(reals: [("r1", RealServerPolicy(checks: [shared])), ("r2", RealServerPolicy(checks: [own]))]),
            "b": VirtualServerPlan(reals: [("r1", RealServerPolicy(checks: [shared]))]),
        ])
        #expect(steps["a"]?.live == ["r1", "r2"], "checks start up, as without ha_suspend")
        driven.advance(.milliseconds(300))
        #expect(prober.probes(of: own.probe).isEmpty, "suspended: six turns passed without a probe")
        #expect(prober.probes(of: shared.probe).count == 7, "b is not suspended")
        #expect(driven.sink.updates.withLock { $0.allSatisfy { $0.check != own } }, "r2 keeps its verdict: up")

        monitor.suspend([])
        driven.advance(.milliseconds(60))
        let down = driven.sink.first { $0.check == own && !$0.transition.isUp }
        #expect(down?.virtualServer == "a")
    }

    @Test func dedupCountsProbesNotVirtualServers() throws {
        let prober = FakeProber()
        let driven = try DrivenMonitor(prober: prober)
        var slow = fast
        slow.delayLoop = .milliseconds(100)
        let spec = CheckSpec(probe: try tcpProbe(8002), timing: slow)
        var plans: [String: VirtualServerPlan<String>] = [:]
        for i in 0..<50 { plans["vs\(i)"] = VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))]) }
        _ = driven.monitor.applyNow(plans)
        driven.advance(.milliseconds(250))
        // Warmup 0 then every 100 ms: at 0, 100 and 200 ms; without sharing, the 50 services would make 150.
        #expect(prober.probes(of: spec.probe).count == 3)
    }

    @Test func realLeavesForTheSorryServerAndReturnsAgainstALoopbackServer() async throws {
        let server = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await server.stop() } }
        let sink = UpdateSink()
        let monitor = try HealthMonitor<String, String>(random: { 0 }, onUpdate: sink.record)
        let check = try makeCheck(port: server.port, digest: web1Digest, timeout: .seconds(1))
        let timing = CheckTiming(delayLoop: .milliseconds(100), retry: 1, delayBeforeRetry: .milliseconds(50), warmup: .zero)
        let spec = CheckSpec(probe: .http(check), timing: timing)
        let plan = VirtualServerPlan(reals: [("web1", RealServerPolicy(checks: [spec]))], sorryServer: SorryServerPolicy())
        let start = await monitor.apply(["vs": plan])
        #expect(start["vs"]?.desired == [.real("web1", weight: 1)])

        server.setScript([.send("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"), .close])
        let clock = ContinuousClock()
        let changed = clock.now
        let down = try #require(try await sink.waitFor { $0.step.desired == [.sorryServer(weight: 1)] })
        // Detection takes a delay_loop, then retry × delay_before_retry, plus the checks (about 0.2 s here); the
        // bound only catches a check that never fires — figures belong to the benchmarks, not to a unit test.
        #expect(clock.now - changed < .seconds(10))
        #expect(down.step.events.contains(.realDown("web1", cause: .check(.down(.statusCode(got: 404, expected: .success), path: "/test.html")))))
        #expect(down.step.events.contains(.sorryServerActive))

        server.setScript(ok(web1Page))
        let up = try #require(try await sink.waitFor { $0.step.desired == [.real("web1", weight: 1)] })
        #expect(up.step.events.contains(.sorryServerInactive))
        _ = await monitor.stop()
    }

    @Test func reloadKeepsVerdictsOfChecksThatStay() throws {
        let prober = FakeProber()
        let driven = try DrivenMonitor(prober: prober)
        let monitor = driven.monitor
        let spec = CheckSpec(probe: try tcpProbe(8003), timing: fast)
        prober.answers.withLock { $0[spec.probe] = .down(.connectionRefused) }
        let plan = VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))], sorryServer: SorryServerPolicy())
        _ = monitor.applyNow(["vs": plan])
        driven.advance(.milliseconds(10))
        #expect(driven.sink.first { $0.step.desired == [.sorryServer(weight: 1)] } != nil)
        let reloaded = monitor.applyNow(["vs": plan, "vs2": plan])
        #expect(reloaded["vs"]?.desired == [.sorryServer(weight: 1)], "a reload does not resurrect a dead real")
        #expect(reloaded["vs"]?.events == [], "nothing new to announce for vs")
        #expect(reloaded["vs2"]?.events == [.quorumDown(liveWeight: 0, threshold: 1), .sorryServerActive])
        #expect(reloaded["vs2"]?.desired == [.sorryServer(weight: 1)], "a new service sharing the check starts with its verdict")
        // A changed plan is rebuilt (an unchanged one is kept as it is): a real without checks joins, live.
        var grown = plan
        grown.reals.append(("rs-new", RealServerPolicy(weight: 3, checks: [])))
        let regrown = monitor.applyNow(["vs": grown, "vs2": plan])
        #expect(regrown["vs"]?.desired == [.real("rs-new", weight: 3)])
        #expect(regrown["vs"]?.events == [.quorumUp(liveWeight: 3, threshold: 1), .sorryServerInactive])
        #expect(regrown["vs2"]?.desired == [.sorryServer(weight: 1)] && regrown["vs2"]?.events == [])
        let dropped = monitor.applyNow([:])
        #expect(dropped.isEmpty)
        #expect(monitor.checksNow().isEmpty)
        let count = prober.probes(of: spec.probe).count
        driven.advance(.milliseconds(200))
        #expect(prober.probes(of: spec.probe).count == count, "a dropped check's queued turn does not run")
    }

    @Test func checksInFlightAreCappedAndTheRestWaitTheirTurn() throws {
        let prober = HeldProber()
        let driven = try DrivenMonitor(prober: prober, maximumInFlight: 2)
        let slow = CheckTiming(delayLoop: .seconds(60), retry: 0, delayBeforeRetry: .seconds(1), warmup: .zero)
        var reals: [(String, RealServerPolicy<CheckSpec>)] = []
        for port in 8101...8105 { reals.append(("rs\(port)", RealServerPolicy(checks: [CheckSpec(probe: try tcpProbe(port), timing: slow)]))) }
        _ = driven.monitor.applyNow(["vs": VirtualServerPlan(reals: reals)])
        driven.advance(.milliseconds(200))
        #expect(prober.started == 2, "five checks due at once, two slots")
        prober.answerOldest()
        #expect(prober.started == 3, "a slot freed starts the oldest waiting check at once")
        while prober.pending > 0 { prober.answerOldest() }
        driven.advance(.milliseconds(100))
        #expect(prober.started == 5, "each check ran once: none lost in the queue, none run twice")
    }

    /// The reactor runs late (its clock jumps past the lag probe): fewer checks run at once, the rest wait their
    /// turn; once it is punctual again the window grows back and every waiting check runs.
    @Test func aLateReactorRunsFewerChecksAtOnce() throws {
        let prober = HeldProber()
        let driven = try DrivenMonitor(prober: prober, maximumInFlight: 8, minimumInFlight: 2)
        let monitor = driven.monitor
        let slow = CheckTiming(delayLoop: .seconds(60), retry: 0, delayBeforeRetry: .seconds(1), warmup: .zero)
        var reals: [(String, RealServerPolicy<CheckSpec>)] = []
        for port in 8201...8220 { reals.append(("rs\(port)", RealServerPolicy(checks: [CheckSpec(probe: try tcpProbe(port), timing: slow)]))) }
        _ = monitor.applyNow(["vs": VirtualServerPlan(reals: reals)])
        driven.advance(.zero)
        #expect(prober.started == 8)
        // 300 ms in one step: the lag probe due at 100 ms runs 200 ms late.
        driven.advance(.milliseconds(300), step: .milliseconds(300))
        let limit = monitor.concurrencyNow().limit
        #expect(limit == 4, "halved from the 8 in flight")
        // Answering the eight held probes frees their slots, but only `limit` may run now.
        for _ in 0..<8 { prober.answerOldest() }
        #expect(prober.started == 8 + limit, "\(prober.started) started")
        // Punctual again: the window grows and every waiting check gets its turn.
        for _ in 0..<100 where prober.started < 20 || prober.pending > 0 {
            while prober.pending > 0 { prober.answerOldest() }
            driven.advance(.milliseconds(100))
        }
        #expect(prober.started == 20, "each check ran once")
    }

    @Test func stopAnswersOmegaEventsAndEndsProbing() throws {
        let prober = FakeProber()
        let driven = try DrivenMonitor(prober: prober)
        let spec = CheckSpec(probe: try tcpProbe(8004), timing: fast)
        _ = driven.monitor.applyNow([
            "omega": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))], quorum: QuorumPolicy(omega: true)),
            "plain": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))]),
        ])
        driven.advance(.milliseconds(60))
        let events = driven.monitor.stopNow()
        #expect(events == ["omega": [.realDown("rs", cause: .shutdown), .quorumDown(liveWeight: 0, threshold: 1)]])
        let count = prober.probes(of: spec.probe).count
        driven.advance(.milliseconds(150))
        #expect(prober.probes(of: spec.probe).count == count, "no probe after stop")
    }

    @Test func warmupUsesTheInjectedRandomness() throws {
        let prober = FakeProber()
        let driven = try DrivenMonitor(prober: prober, random: { 0.99 })
        let spec = CheckSpec(probe: try tcpProbe(8005), timing: CheckTiming(delayLoop: .milliseconds(400), warmup: nil))
        _ = driven.monitor.applyNow(["vs": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))])])
        driven.advance(.milliseconds(500), step: .milliseconds(1))
        let first = try #require(prober.probes(of: spec.probe).first)
        #expect(driven.start.duration(to: first) == .milliseconds(396), "first probe at 0.99 × delay_loop")
    }

    @Test func checksDueCloseTogetherStartTogetherOnTheGrid() throws {
        let prober = FakeProber()
        // A warmup of 1% of delay_loop: due at 1, 4 and 12 ms.
        let driven = try DrivenMonitor(prober: prober, random: { 0.01 }, startBatch: .milliseconds(10))
        #expect(driven.reactor.now.nanoseconds % 10_000_000 == 0, "the manual clock starts on the grid")
        let loops: [Duration] = [.milliseconds(100), .milliseconds(400), .milliseconds(1200)]
        let specs = try loops.enumerated().map { index, loop in
            CheckSpec(probe: try tcpProbe(8101 + index), timing: CheckTiming(delayLoop: loop, warmup: nil))
        }
        _ = driven.monitor.applyNow(["vs": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: specs))])])
        driven.advance(.milliseconds(1300), step: .milliseconds(1))
        let starts = try specs.map { spec in driven.start.duration(to: try #require(prober.probes(of: spec.probe).first)) }
        // Due at 1 and 4 ms: both start at the 10 ms grid point; due at 12 ms: at 20 ms. None before it is due.
        #expect(starts == [.milliseconds(10), .milliseconds(10), .milliseconds(20)])
        // Each next round is due delay_loop after the last start, already on the grid.
        let seconds = specs.map { prober.probes(of: $0.probe).dropFirst().first.map { driven.start.duration(to: $0) } }
        #expect(seconds == [.milliseconds(110), .milliseconds(410), .milliseconds(1220)])
    }

    /// The async API, as the supervisor uses it, on the monitor's own reactor thread.
    @Test func theAsyncAPIRunsOnTheMonitorsThread() async throws {
        let prober = FakeProber()
        let monitor = try HealthMonitor<String, String>(prober: prober, random: { 0 }, onUpdate: { _ in })
        let spec = CheckSpec(probe: try tcpProbe(8006), timing: fast)
        let steps = await monitor.apply(["vs": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))])])
        #expect(steps["vs"]?.desired == [.real("rs", weight: 1)])
        #expect(await monitor.checks().count == 1)
        #expect(await monitor.concurrency()?.ceiling == 768)
        _ = await monitor.stop()
        #expect(await monitor.checks().isEmpty, "stopped: the fallback answer")
    }
}

@Suite("Concurrency window")
struct ConcurrencyWindowTests {
    @Test func halvesWhenLateGrowsWhenPunctualWithChecksWaiting() {
        var window = ConcurrencyWindow(ceiling: 1024, floor: 16, initial: 1024)
        #expect(window.limit == 1024)
        window.observe(lateness: .milliseconds(250), inFlight: 1024, waiting: 500)
        #expect(window.limit == 512)
        // Halved from what actually ran, when fewer ran than allowed.
        window.observe(lateness: .milliseconds(100), inFlight: 100, waiting: 0)
        #expect(window.limit == 50)
        for _ in 0..<10 { window.observe(lateness: .seconds(2), inFlight: window.limit, waiting: 10) }
        #expect(window.limit == 16, "never below the floor")
        // Between punctual and late: left as it is.
        window.observe(lateness: .milliseconds(50), inFlight: 16, waiting: 10)
        #expect(window.limit == 16)
        // Punctual but nothing waiting: no reason to grow.
        window.observe(lateness: .zero, inFlight: 3, waiting: 0)
        #expect(window.limit == 16)
        let grew = window.observe(lateness: .milliseconds(5), inFlight: 16, waiting: 10)
        #expect(grew)
        #expect(window.limit == 18)
        for _ in 0..<100 { window.observe(lateness: .zero, inFlight: window.limit, waiting: 1) }
        #expect(window.limit == 1024, "never above the ceiling")
        let grewPastCeiling = window.observe(lateness: .zero, inFlight: 1024, waiting: 1)
        #expect(!grewPastCeiling)
    }

    @Test func startsSmallAndGrowsWhileTheLoopKeepsUp() {
        var window = ConcurrencyWindow(ceiling: 1024)
        #expect(window.limit == 64)
        var probes = 0
        while window.limit < 1024 {
            window.observe(lateness: .milliseconds(1), inFlight: window.limit, waiting: 100)
            probes += 1
        }
        #expect(probes <= 25, "at 100 ms a probe, the ceiling within about 2.5 s")
        #expect(ConcurrencyWindow(ceiling: 8).limit == 8)
        #expect(ConcurrencyWindow(ceiling: 1024, floor: 16, initial: 2).limit == 16)
    }

    @Test func boundsAreSane() {
        let tiny = ConcurrencyWindow(ceiling: 0, floor: 16)
        #expect(tiny.ceiling == 1 && tiny.floor == 1 && tiny.limit == 1)
    }
}
