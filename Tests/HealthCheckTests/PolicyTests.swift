// The check policy and the virtual-server policy on a manual clock: no sockets, no sleeping.
import NIOCore
import Timeline
import Testing
@testable import HealthCheck

let t0 = Moment.zero
let refused = CheckResult.down(.connectionRefused)

@Suite("Check timing policy")
struct CheckHealthTests {
    let timing = CheckTiming(delayLoop: .seconds(6), retry: 3, delayBeforeRetry: .seconds(3), warmup: nil, alpha: false)

    @Test func warmupSpreadsTheFirstCheckWithinDelayLoop() {
        let health = CheckHealth(timing: timing)
        #expect(health.firstCheck(at: t0, randomFraction: 0) == t0)
        #expect(health.firstCheck(at: t0, randomFraction: 0.5) == t0 + .seconds(3))
        var noWarmup = timing
        noWarmup.warmup = .zero
        #expect(CheckHealth(timing: noWarmup).firstCheck(at: t0, randomFraction: 0.9) == t0)
        var shortWarmup = timing
        shortWarmup.warmup = .seconds(2)
        #expect(CheckHealth(timing: shortWarmup).firstCheck(at: t0, randomFraction: 0.5) == t0 + .seconds(1))
    }

    @Test func upServerGoesDownOnTheRetryPlusOnethFailure() {
        var health = CheckHealth(timing: timing)
        #expect(health.isUp)
        var now = t0
        for attempt in 1...3 {
            let step = health.record(refused, at: now)
            #expect(step.transition == nil, "attempt \(attempt) is a retry")
            #expect(step.nextCheck == now + .seconds(3), "retries wait delay_before_retry")
            now = step.nextCheck
        }
        let down = health.record(refused, at: now)
        #expect(down.transition == CheckTransition(isUp: false, result: refused))
        #expect(down.nextCheck == now + .seconds(6))
        #expect(!health.isUp)
        // Already down: no further transitions and back to delay_loop.
        let again = health.record(.down(.timeout(.connect)), at: down.nextCheck)
        #expect(again.transition == nil)
        #expect(again.nextCheck == down.nextCheck + .seconds(6))
    }

    @Test func aSuccessResetsTheRetryCount() {
        var health = CheckHealth(timing: timing)
        _ = health.record(refused, at: t0)
        _ = health.record(refused, at: t0 + .seconds(3))
        let ok = health.record(.up, at: t0 + .seconds(6))
        #expect(ok.transition == nil)
        #expect(ok.nextCheck == t0 + .seconds(12))
        #expect(health.failuresInARow == 0)
        for i in 0..<3 { #expect(health.record(refused, at: t0 + .seconds(12 + 3 * Int64(i))).transition == nil) }
        #expect(health.record(refused, at: t0 + .seconds(21)).transition?.isUp == false)
    }

    @Test func retryZeroFailsAtOnce() {
        var health = CheckHealth(timing: CheckTiming(delayLoop: .seconds(1), retry: 0, delayBeforeRetry: .seconds(1)))
        #expect(health.record(refused, at: t0).transition?.isUp == false)
    }

    @Test func alphaStartsDownUntilTheFirstSuccess() {
        var alpha = timing
        alpha.alpha = true
        var health = CheckHealth(timing: alpha)
        #expect(!health.isUp)
        #expect(health.record(refused, at: t0).transition == nil)
        let up = health.record(.up, at: t0 + .seconds(6))
        #expect(up.transition == CheckTransition(isUp: true, result: .up))
        #expect(health.isUp)
    }
}

@Suite("Virtual server policy: quorum, inhibit, sorry server")
struct VirtualServerHealthTests {
    typealias VS = VirtualServerHealth<String, String>
    static let down = CheckTransition(isUp: false, result: refused)
    static let up = CheckTransition(isUp: true, result: .up)

    func make(weights: [String: Int] = ["web1": 1, "web2": 1], inhibit: Set<String> = [], quorum: QuorumPolicy = QuorumPolicy(),
              sorry: SorryServerPolicy? = nil, alpha: Bool = false) -> VS {
        VS(reals: weights.keys.sorted().map { ($0, RealServerPolicy(weight: weights[$0] ?? 1, inhibitOnFailure: inhibit.contains($0), checks: ["check-\($0)"])) },
           quorum: quorum, sorryServer: sorry, initiallyUp: { _ in !alpha })
    }

    @Test func deadRealLeavesAndReturns() {
        var vs = make()
        #expect(vs.start().desired == [.real("web1", weight: 1), .real("web2", weight: 1)])
        let step = vs.apply(check: "check-web1", transition: Self.down)
        #expect(step.events == [.realDown("web1", cause: .check(refused))])
        #expect(step.desired == [.real("web2", weight: 1)])
        #expect(step.desiredChanged)
        let back = vs.apply(check: "check-web1", transition: Self.up)
        #expect(back.events == [.realUp("web1", cause: .check(.up))])
        #expect(back.desired == [.real("web1", weight: 1), .real("web2", weight: 1)])
    }

    @Test func inhibitOnFailureKeepsTheRealAtWeightZero() {
        var vs = make(weights: ["web1": 3, "web2": 1], inhibit: ["web1"])
        _ = vs.start()
        #expect(vs.apply(check: "check-web1", transition: Self.down).desired == [.real("web1", weight: 0), .real("web2", weight: 1)])
    }

    @Test func sorryServerReplacesTheLastRealInOneStep() {
        var vs = make(sorry: SorryServerPolicy())
        #expect(vs.start().desired == [.real("web1", weight: 1), .real("web2", weight: 1)])
        _ = vs.apply(check: "check-web1", transition: Self.down)
        let empty = vs.apply(check: "check-web2", transition: Self.down)
        #expect(empty.events == [.realDown("web2", cause: .check(refused)), .quorumDown(liveWeight: 0, threshold: 1), .sorryServerActive])
        #expect(empty.desired == [.sorryServer(weight: 1)], "never an empty service")
        let restored = vs.apply(check: "check-web2", transition: Self.up)
        #expect(restored.events == [.realUp("web2", cause: .check(.up)), .quorumUp(liveWeight: 1, threshold: 1), .sorryServerInactive])
        #expect(restored.desired == [.real("web2", weight: 1)], "the real returns and the sorry server leaves in the same step")
    }

    @Test func sorryServerInhibitKeepsItAtWeightZeroWhileQuorumHolds() {
        var vs = make(sorry: SorryServerPolicy(inhibit: true))
        #expect(vs.start().desired == [.real("web1", weight: 1), .real("web2", weight: 1), .sorryServer(weight: 0)])
        _ = vs.apply(check: "check-web1", transition: Self.down)
        #expect(vs.apply(check: "check-web2", transition: Self.down).desired == [.sorryServer(weight: 1)])
    }

    @Test func quorumWithHysteresisAndSorryServerTakingOverEarly() {
        // Four reals of weight 1, quorum 3 ± 1: lose below 2, gain at 4.
        var vs = make(weights: ["a": 1, "b": 1, "c": 1, "d": 1], quorum: QuorumPolicy(quorum: 3, hysteresis: 1), sorry: SorryServerPolicy())
        _ = vs.start()
        #expect(vs.apply(check: "check-a", transition: Self.down).events == [.realDown("a", cause: .check(refused))])
        #expect(vs.apply(check: "check-b", transition: Self.down).events == [.realDown("b", cause: .check(refused))], "2 live is not below 3 - 1")
        let lost = vs.apply(check: "check-c", transition: Self.down)
        #expect(lost.events.contains(.quorumDown(liveWeight: 1, threshold: 2)))
        #expect(lost.desired == [.sorryServer(weight: 1)], "with a sorry server the remaining live real is taken out too")
        #expect(!vs.apply(check: "check-a", transition: Self.up).events.contains { if case .quorumUp = $0 { true } else { false } })
        #expect(!vs.apply(check: "check-b", transition: Self.up).events.contains { if case .quorumUp = $0 { true } else { false } }, "3 live is below 3 + 1")
        let gained = vs.apply(check: "check-c", transition: Self.up)
        #expect(gained.events.contains(.quorumUp(liveWeight: 4, threshold: 4)))
        #expect(gained.desired == [.real("a", weight: 1), .real("b", weight: 1), .real("c", weight: 1), .real("d", weight: 1)])
    }

    @Test func withoutSorryServerLiveRealsStayWhenQuorumIsLost() {
        var vs = make(weights: ["a": 1, "b": 1], quorum: QuorumPolicy(quorum: 2))
        _ = vs.start()
        let step = vs.apply(check: "check-a", transition: Self.down)
        #expect(step.events == [.realDown("a", cause: .check(refused)), .quorumDown(liveWeight: 1, threshold: 2)])
        #expect(step.desired == [.real("b", weight: 1)])
    }

    @Test func alphaStartsWithTheSorryServerAndReportsQuorumDown() {
        var vs = make(sorry: SorryServerPolicy(), alpha: true)
        let start = vs.start()
        #expect(start.desired == [.sorryServer(weight: 1)])
        #expect(start.events == [.quorumDown(liveWeight: 0, threshold: 1), .sorryServerActive])
        let first = vs.apply(check: "check-web2", transition: Self.up)
        #expect(first.desired == [.real("web2", weight: 1)])
    }

    @Test func realWithSeveralChecksIsLiveOnlyWhenAllAre() {
        var vs = VS(reals: [("web1", RealServerPolicy(checks: ["http", "tcp"]))], initiallyUp: { _ in true })
        _ = vs.start()
        #expect(vs.apply(check: "tcp", transition: Self.down).events.first == .realDown("web1", cause: .check(refused)))
        #expect(vs.apply(check: "http", transition: Self.down).events.isEmpty, "already down")
        #expect(vs.apply(check: "tcp", transition: Self.up).events.isEmpty, "http still down")
        #expect(vs.apply(check: "http", transition: Self.up).events.first == .realUp("web1", cause: .check(.up)))
    }

    @Test func weightZeroRealsDoNotMakeQuorum() {
        var vs = make(weights: ["a": 0, "b": 1], sorry: SorryServerPolicy())
        _ = vs.start()
        #expect(vs.apply(check: "check-b", transition: Self.down).desired == [.sorryServer(weight: 1)])
    }

    @Test func omegaReportsEverythingDownAtShutdown() {
        var vs = make(quorum: QuorumPolicy(omega: true))
        _ = vs.start()
        _ = vs.apply(check: "check-web1", transition: Self.down)
        #expect(vs.shutdownEvents() == [.realDown("web2", cause: .shutdown), .quorumDown(liveWeight: 0, threshold: 1)])
        var quiet = make()
        _ = quiet.start()
        #expect(quiet.shutdownEvents().isEmpty)
    }

    @Test func reloadReportsOnlyAChangedQuorum() {
        var before = make(sorry: SorryServerPolicy(), alpha: true)
        _ = before.start()
        var same = make(sorry: SorryServerPolicy(), alpha: true)
        let again = same.start(replacing: before)
        #expect(again.events.isEmpty, "quorum_down already ran for this state")
        #expect(again.desired == [.sorryServer(weight: 1)] && !again.desiredChanged)
        var lowered = make(quorum: QuorumPolicy(quorum: 0), sorry: SorryServerPolicy(), alpha: true)
        let gained = lowered.start(replacing: before)
        #expect(gained.events == [.quorumUp(liveWeight: 0, threshold: 0), .sorryServerInactive])
        #expect(gained.desired == [] && gained.desiredChanged)
    }

    @Test func unknownCheckChangesNothing() {
        var vs = make()
        _ = vs.start()
        let step = vs.apply(check: "nope", transition: Self.down)
        #expect(step.events.isEmpty && !step.desiredChanged)
    }
}
