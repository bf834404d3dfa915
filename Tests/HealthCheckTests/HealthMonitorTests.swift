// The scheduler on real NIO timers with short delays: dedup across virtual servers, the whole chain against a
// loopback server, reloads that keep verdicts, and omega at stop.
import Glibc
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import HealthCheck

/// Answers from a table and records every probe with its time.
final class FakeProber: CheckProber {
    let answers = Mutex<[CheckProbe: CheckResult]>([:])
    let log = Mutex<[(CheckProbe, ContinuousClock.Instant)]>([])

    func probe(_ probe: CheckProbe, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        log.withLock { $0.append((probe, .now)) }
        return eventLoop.makeSucceededFuture(answers.withLock { $0[probe] } ?? .up)
    }

    func probes(of probe: CheckProbe) -> [ContinuousClock.Instant] { log.withLock { $0.filter { $0.0 == probe }.map(\.1) } }
}

/// Holds every probe open until the test answers it, counting how many started.
final class HeldProber: CheckProber {
    private let promises = Mutex<[EventLoopPromise<CheckResult>]>([])
    private let count = Mutex(0)

    func probe(_ probe: CheckProbe, on eventLoop: any EventLoop) -> EventLoopFuture<CheckResult> {
        let promise = eventLoop.makePromise(of: CheckResult.self)
        promises.withLock { $0.append(promise) }
        count.withLock { $0 += 1 }
        return promise.futureResult
    }

    var started: Int { count.withLock { $0 } }
    var pending: Int { promises.withLock { $0.count } }

    func answerOldest(on eventLoop: any EventLoop) {
        let promise = promises.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        promise?.succeed(.up)
    }

    func waitForStarted(_ n: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(3)
        while started < n && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(started >= n)
    }
}

/// Collects updates and lets a test wait for one that matches.
final class UpdateSink: Sendable {
    let updates = Mutex<[HealthUpdate<String, String>]>([])

    func record(_ update: HealthUpdate<String, String>) { updates.withLock { $0.append(update) } }

    func waitFor(_ timeout: Duration = .seconds(3), _ match: (HealthUpdate<String, String>) -> Bool) async throws -> HealthUpdate<String, String>? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = updates.withLock({ $0.first(where: match) }) { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

func tcpProbe(_ port: Int) throws -> CheckProbe {
    .tcp(try TCPCheck(connect: Endpoint(host: "127.0.0.1", port: port), connectTimeout: .milliseconds(200)))
}

@Suite("Health monitor (scheduler)", .serialized)
struct HealthMonitorTests {
    let fast = CheckTiming(delayLoop: .milliseconds(50), retry: 0, delayBeforeRetry: .milliseconds(20), warmup: .zero)

    @Test func oneCheckServesEveryVirtualServerThatSharesIt() async throws {
        let prober = FakeProber()
        let sink = UpdateSink()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), prober: prober,
                                                    random: { 0 }, onUpdate: sink.record)
        let shared = CheckSpec(probe: try tcpProbe(8001), timing: fast)
        var slower = fast
        slower.delayLoop = .milliseconds(80)
        let other = CheckSpec(probe: try tcpProbe(8001), timing: slower)
        let plans: [String: VirtualServerPlan<String>] = [
            "vs-http": VirtualServerPlan(reals: [("rs1", RealServerPolicy(checks: [shared]))]),
            "vs-alt": VirtualServerPlan(reals: [("rs1", RealServerPolicy(checks: [shared])), ("rs1-slow", RealServerPolicy(checks: [other]))]),
        ]
        let start = try await monitor.apply(plans).get()
        #expect(start["vs-http"]?.desired == [.real("rs1", weight: 1)])
        #expect(try await monitor.checks().get().count == 2, "the shared definition runs once, the different timing separately")
        try await Task.sleep(for: .milliseconds(300))
        let times = prober.probes(of: shared.probe)
        #expect(times.count >= 3)
        // One stream per distinct check: an equal definition under a different timing is a separate check.
        let sharedRuns = try await monitor.checks().get().keys.filter { $0.probe == shared.probe }
        #expect(sharedRuns.count == 2)

        prober.answers.withLock { $0[shared.probe] = .down(.connectionRefused) }
        // Both probes share the probe value, so both checks fail; each virtual server hears each of its checks once.
        let http = try await sink.waitFor { $0.virtualServer == "vs-http" && $0.check == shared }
        let alt = try await sink.waitFor { $0.virtualServer == "vs-alt" && $0.check == shared }
        #expect(http?.transition.isUp == false)
        #expect(http?.step.desired == [])
        #expect(alt?.transition.isUp == false)
        try await Task.sleep(for: .milliseconds(150))
        let sharedUpdates = sink.updates.withLock { $0.filter { $0.check == shared } }
        #expect(sharedUpdates.count == 2, "one transition, fanned out to two virtual servers")
        _ = try await monitor.stop().get()
    }

    /// ha_suspend: the checks of a virtual server whose address is not here wait, keeping their verdicts; one
    /// that an unsuspended virtual server shares keeps running; the suspension's end lets them run again.
    @Test func checksOfASuspendedVirtualServerWaitAndKeepTheirVerdicts() async throws {
        let prober = FakeProber()
        let sink = UpdateSink()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), prober: prober,
                                                    random: { 0 }, onUpdate: sink.record)
        let shared = CheckSpec(probe: try tcpProbe(8101), timing: fast)
        let own = CheckSpec(probe: try tcpProbe(8102), timing: fast)
        prober.answers.withLock { $0[own.probe] = .down(.connectionRefused) }
        monitor.suspend(["a"])
        let steps = try await monitor.apply([
            "a": VirtualServerPlan(reals: [("r1", RealServerPolicy(checks: [shared])), ("r2", RealServerPolicy(checks: [own]))]),
            "b": VirtualServerPlan(reals: [("r1", RealServerPolicy(checks: [shared]))]),
        ]).get()
        #expect(steps["a"]?.live == ["r1", "r2"], "checks start up, as without ha_suspend")
        try await Task.sleep(for: .milliseconds(300))
        #expect(prober.probes(of: own.probe).isEmpty, "suspended: six turns passed without a probe")
        #expect(prober.probes(of: shared.probe).count >= 2, "b is not suspended")
        #expect(try await monitor.suspendedChecks().get() == [own])
        #expect(sink.updates.withLock { $0.allSatisfy { $0.check != own } }, "r2 keeps its verdict: up")

        monitor.suspend([])
        let down = try await sink.waitFor { $0.check == own && !$0.transition.isUp }
        #expect(down?.virtualServer == "a")
        #expect(try await monitor.suspendedChecks().get().isEmpty)
        _ = try await monitor.stop().get()
    }

    @Test func dedupCountsProbesNotVirtualServers() async throws {
        let prober = FakeProber()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), prober: prober,
                                                    random: { 0 }, onUpdate: { _ in })
        var slow = fast
        slow.delayLoop = .milliseconds(100)
        let spec = CheckSpec(probe: try tcpProbe(8002), timing: slow)
        var plans: [String: VirtualServerPlan<String>] = [:]
        for i in 0..<50 { plans["vs\(i)"] = VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))]) }
        _ = try await monitor.apply(plans).get()
        try await Task.sleep(for: .milliseconds(250))
        _ = try await monitor.stop().get()
        let count = prober.probes(of: spec.probe).count
        // Warmup 0 then every 100 ms: about 3 probes in 250 ms, fewer on a loaded machine; without sharing, the 50
        // services would make at least 50.
        #expect((1...10).contains(count), "probes: \(count)")
    }

    @Test func realLeavesForTheSorryServerAndReturnsAgainstALoopbackServer() async throws {
        let server = try await LoopbackServer.start(ok(web1Page))
        defer { Task { await server.stop() } }
        let sink = UpdateSink()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                                                    random: { 0 }, onUpdate: sink.record)
        let check = try makeCheck(port: server.port, digest: web1Digest, timeout: .seconds(1))
        let timing = CheckTiming(delayLoop: .milliseconds(100), retry: 1, delayBeforeRetry: .milliseconds(50), warmup: .zero)
        let spec = CheckSpec(probe: .http(check), timing: timing)
        let plan = VirtualServerPlan(reals: [("web1", RealServerPolicy(checks: [spec]))], sorryServer: SorryServerPolicy())
        let start = try await monitor.apply(["vs": plan]).get()
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
        _ = try await monitor.stop().get()
    }

    @Test func reloadKeepsVerdictsOfChecksThatStay() async throws {
        let prober = FakeProber()
        let sink = UpdateSink()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), prober: prober,
                                                    random: { 0 }, onUpdate: sink.record)
        let spec = CheckSpec(probe: try tcpProbe(8003), timing: fast)
        prober.answers.withLock { $0[spec.probe] = .down(.connectionRefused) }
        let plan = VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))], sorryServer: SorryServerPolicy())
        _ = try await monitor.apply(["vs": plan]).get()
        #expect(try await sink.waitFor { $0.step.desired == [.sorryServer(weight: 1)] } != nil)
        let reloaded = try await monitor.apply(["vs": plan, "vs2": plan]).get()
        #expect(reloaded["vs"]?.desired == [.sorryServer(weight: 1)], "a reload does not resurrect a dead real")
        #expect(reloaded["vs"]?.events == [], "nothing new to announce for vs")
        #expect(reloaded["vs2"]?.events == [.quorumDown(liveWeight: 0, threshold: 1), .sorryServerActive])
        #expect(reloaded["vs2"]?.desired == [.sorryServer(weight: 1)], "a new service sharing the check starts with its verdict")
        // A changed plan is rebuilt (an unchanged one is kept as it is): a real without checks joins, live.
        var grown = plan
        grown.reals.append(("rs-new", RealServerPolicy(weight: 3, checks: [])))
        let regrown = try await monitor.apply(["vs": grown, "vs2": plan]).get()
        #expect(regrown["vs"]?.desired == [.real("rs-new", weight: 3)])
        #expect(regrown["vs"]?.events == [.quorumUp(liveWeight: 3, threshold: 1), .sorryServerInactive])
        #expect(regrown["vs2"]?.desired == [.sorryServer(weight: 1)] && regrown["vs2"]?.events == [])
        let dropped = try await monitor.apply([:]).get()
        #expect(dropped.isEmpty)
        #expect(try await monitor.checks().get().isEmpty)
        _ = try await monitor.stop().get()
    }

    @Test func checksInFlightAreCappedAndTheRestWaitTheirTurn() async throws {
        let prober = HeldProber()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let monitor = HealthMonitor<String, String>(eventLoop: loop, prober: prober, random: { 0 }, maximumInFlight: 2,
                                                    onUpdate: { _ in })
        let slow = CheckTiming(delayLoop: .seconds(60), retry: 0, delayBeforeRetry: .seconds(1), warmup: .zero)
        var reals: [(String, RealServerPolicy<CheckSpec>)] = []
        for port in 8101...8105 { reals.append(("rs\(port)", RealServerPolicy(checks: [CheckSpec(probe: try tcpProbe(port), timing: slow)]))) }
        _ = try await monitor.apply(["vs": VirtualServerPlan(reals: reals)]).get()
        try await prober.waitForStarted(2)
        try await Task.sleep(for: .milliseconds(200))
        #expect(prober.started == 2, "five checks due at once, two slots")
        prober.answerOldest(on: loop)
        try await prober.waitForStarted(3)
        while prober.pending > 0 { prober.answerOldest(on: loop); try await Task.sleep(for: .milliseconds(20)) }
        try await prober.waitForStarted(5)
        try await Task.sleep(for: .milliseconds(100))
        #expect(prober.started == 5, "each check ran once: none lost in the queue, none run twice")
        _ = try await monitor.stop().get()
    }

    /// The loop runs late (a task blocks it): fewer checks run at once, the rest wait their turn; once it is
    /// punctual again the window grows back and every waiting check runs.
    @Test func aLateLoopRunsFewerChecksAtOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { Task { try? await group.shutdownGracefully() } }
        let loop = group.next()
        let prober = HeldProber()
        let monitor = HealthMonitor<String, String>(eventLoop: loop, prober: prober, random: { 0 }, maximumInFlight: 8,
                                                    minimumInFlight: 2, onUpdate: { _ in })
        let slow = CheckTiming(delayLoop: .seconds(60), retry: 0, delayBeforeRetry: .seconds(1), warmup: .zero)
        var reals: [(String, RealServerPolicy<CheckSpec>)] = []
        for port in 8201...8220 { reals.append(("rs\(port)", RealServerPolicy(checks: [CheckSpec(probe: try tcpProbe(port), timing: slow)]))) }
        _ = try await monitor.apply(["vs": VirtualServerPlan(reals: reals)]).get()
        try await prober.waitForStarted(8)
        #expect(try await monitor.concurrency().get().limit == 8)
        // Blocked for 300 ms: the next lag probe runs at least 200 ms late.
        loop.execute { _ = usleep(300_000) }
        try await Task.sleep(for: .milliseconds(350))
        // Halved from the 8 in flight (and perhaps grown by one since, the loop being punctual again).
        let limit = try await monitor.concurrency().get().limit
        #expect((4...5).contains(limit))
        // Answering the eight held probes frees their slots, but only about `limit` may run now.
        try await loop.submit { for _ in 0..<8 { prober.answerOldest(on: loop) } }.get()
        #expect((8 + limit...9 + limit).contains(prober.started), "\(prober.started) started")
        // Every waiting check still gets its turn (the deadline only keeps a failure from hanging the suite).
        let deadline = ContinuousClock.now + .seconds(5)
        while (prober.pending > 0 || prober.started < 20) && ContinuousClock.now < deadline {
            try await loop.submit { while prober.pending > 0 { prober.answerOldest(on: loop) } }.get()
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(prober.started == 20, "each check ran once")
        _ = try await monitor.stop().get()
    }

    @Test func stopAnswersOmegaEventsAndEndsProbing() async throws {
        let prober = FakeProber()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), prober: prober,
                                                    random: { 0 }, onUpdate: { _ in })
        let spec = CheckSpec(probe: try tcpProbe(8004), timing: fast)
        _ = try await monitor.apply([
            "omega": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))], quorum: QuorumPolicy(omega: true)),
            "plain": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))]),
        ]).get()
        try await Task.sleep(for: .milliseconds(60))
        let events = try await monitor.stop().get()
        #expect(events == ["omega": [.realDown("rs", cause: .shutdown), .quorumDown(liveWeight: 0, threshold: 1)]])
        let count = prober.probes(of: spec.probe).count
        try await Task.sleep(for: .milliseconds(150))
        #expect(prober.probes(of: spec.probe).count == count, "no probe after stop")
    }

    @Test func warmupUsesTheInjectedRandomness() async throws {
        let prober = FakeProber()
        let monitor = HealthMonitor<String, String>(eventLoop: MultiThreadedEventLoopGroup.singleton.next(), prober: prober,
                                                    random: { 0.99 }, onUpdate: { _ in })
        let spec = CheckSpec(probe: try tcpProbe(8005), timing: CheckTiming(delayLoop: .milliseconds(400), warmup: nil))
        let started = ContinuousClock.now
        _ = try await monitor.apply(["vs": VirtualServerPlan(reals: [("rs", RealServerPolicy(checks: [spec]))])]).get()
        try await Task.sleep(for: .milliseconds(500))
        _ = try await monitor.stop().get()
        let first = try #require(prober.probes(of: spec.probe).first)
        #expect(first - started >= .milliseconds(390), "first probe at 0.99 × delay_loop")
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

@Suite("Due queue")
struct DueQueueTests {
    @Test func popsWhatIsDueEarliestFirstAndNothingElse() {
        var queue = DueQueue<Int>()
        let start = NIODeadline.now()
        let offsets = [70, 10, 50, 30, 90, 20, 80, 40, 60, 0, 30]
        for (value, offset) in offsets.enumerated() {
            queue.insert(value, at: start + .milliseconds(Int64(offset)), generation: UInt64(value))
        }
        #expect(queue.count == offsets.count)
        #expect(queue.earliest == start)
        var popped: [Int64] = []
        while let entry = queue.popDue(by: start + .milliseconds(50)) {
            popped.append((entry.deadline - start).nanoseconds / 1_000_000)
            #expect(entry.generation == UInt64(entry.value))
        }
        #expect(popped == [0, 10, 20, 30, 30, 40, 50])
        #expect(queue.earliest == start + .milliseconds(60))
        #expect(queue.popDue(by: start + .milliseconds(59)) == nil)
        queue.removeAll()
        #expect(queue.isEmpty && queue.earliest == nil)
    }
}
